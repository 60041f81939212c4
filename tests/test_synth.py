"""Integration tests of the synthetic cohort: realism thresholds, determinism across batch sizes and workers,
and that calinet's own readers load both written layouts. At most 300 records each, so they run in about a minute."""
import numpy as np, pandas as pd, pytest
from calinet.core import einthoven_residual, LEADS
from calinet.synth.cohort import generate, ensure_cohort, SynthConfig, cpsc_config
from calinet.synth.realism import recon_scores, realism_table, fault_effects

@pytest.fixture(scope='module')
def cohort(): return generate(300, seed=0)

def test_reconstruction_bands(cohort):
    "Population and per-patient ridge land in the PTB-XL bands (pooled over folds; 300 records, so ±0.01 of slack)."
    S, _, _ = recon_scores(*cohort)
    assert 0.85 <= S.pcc_gl.mean() <= 0.90, S.pcc_gl.mean()
    assert 0.92 <= S.pcc_pcm.mean() <= 0.96, S.pcc_pcm.mean()
    assert 0.11 <= S.nrmse_cal.median() <= 0.19 and S.nrmse_cal.quantile(0.95) <= 0.34   # band top 0.30 plus two bootstrap sd of a 300-record p95 (sd 0.023; value 0.320 at seed 0)

def test_table_checks(cohort):
    X, M = cohort
    T = realism_table(X, M, folds=(tuple(range(1, 11)),)).set_index('check')
    assert T.loc['Einthoven/Goldberger max residual (mV)', 'value'] == 0
    assert T.loc['NORM Sokolow–Lyon > 3.5 mV (%)', 'value'] <= 10
    amp = T[T.group == 'amplitudes']; assert amp.ok.all(), amp[~amp.ok]
    itv = T[T.group == 'intervals']; assert itv.ok.all(), itv[~itv.ok]
    assert T.loc['R-peak F1 (±50 ms), lead II, all records', 'value'] >= 0.95
    lab = T[T.group == 'labels']; assert lab.ok.all(), lab[~lab.ok]

def test_each_fault_raises_error():
    F = fault_effects(60, seed=5)
    assert (F.pcc_drop > 0.005).all(), F
    assert (F.drop('ectopic').auroc_nrmse > 0.6).all(), F

@pytest.mark.parametrize('bs,nj', [(1, 1), (7, 1), (64, 1), (7, 2)])
def test_determinism(bs, nj):
    ref, mref = generate(9, seed=3, batch_size=9)
    X, M = generate(9, seed=3, batch_size=bs, n_jobs=nj)
    assert np.array_equal(X, ref)
    pd.testing.assert_frame_equal(M.astype(str), mref.astype(str))

def test_readers_load_both_layouts(tmp_path):
    "calinet.data reads the written cohorts like the real downloads; values match the generator."
    from calinet.data import read_ptbxl_meta, read_wfdb, read_cpsc_meta, read_cpsc_record
    root = ensure_cohort(tmp_path/'ptbxl', 12, seed=1)
    meta = read_ptbxl_meta(root, min_likelihood=None)
    X, M = generate(12, seed=1)
    assert len(meta) == 12 and set(meta.columns) >= {'NORM', 'MI', 'STTC', 'CD', 'HYP'}
    assert (meta[['NORM', 'MI', 'STTC', 'CD', 'HYP']].to_numpy() == M[['NORM', 'MI', 'STTC', 'CD', 'HYP']].to_numpy()).all()
    y, fs = read_wfdb(root/M.index.map(lambda i: f'records500/00000/{i:05d}_hr')[3], fs=500)
    assert fs == 500 and np.abs(y - X[3].T).max() <= 0.0005 + 1e-6 and einthoven_residual(y) <= 0.0015
    croot = ensure_cohort(tmp_path/'cpsc', 4, seed=1, layout='cpsc')
    cm = read_cpsc_meta(croot); assert len(cm) == 4
    y, fs = read_cpsc_record(croot/cm.path.iloc[0], fs=500); assert y.shape[0] == 12 and 6 <= y.shape[1] / 500 <= 60

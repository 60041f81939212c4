"""End-to-end check of the L3 diagnostic level on the smoke cohort: label set, a tiny classifier, thresholds, the fair splice and F1 retention."""
import numpy as np, pytest, torch
from calinet.core import IN_IDX, DERIVED_IDX, RECON_IDX
from calinet.data import open_dataset
from calinet.signal import Normaliser
from calinet.calib import fit_population
from calinet.diag import (DiagConfig, l3_select, clf_inputs, to_rate, fit_classifier, save_classifier, load_classifier, predict_proba,
                          binarize, reconstruct_span, splice, f1_table, macro_f1, internal_split, THRESHOLD_GRID)
from calinet.apply import Context, GL, PCM, TemplateReplay, predict_episodes

@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
    torch.set_num_threads(1)
    cache = open_dataset('', tmp_path_factory.mktemp('cache'), smoke_records=60, seed=0)
    norm = Normaliser.fit(cache, split='train')
    rows, Y, cnt = l3_select(cache, 'train', 5000)
    X = clf_inputs(cache, rows, norm, 5000, 100.)
    cfg = DiagConfig(chs=(8, 8, 16), ks=9, epochs=2, bs=8, seed=0)
    res = fit_classifier(X, Y, cache.meta.patient_id.values[rows], cfg, log=lambda *a: None)
    return cache, norm, rows, Y, cnt, X, res

def test_labels_and_split(smoke):
    cache, norm, rows, Y, cnt, X, res = smoke
    assert cnt['kept'] == len(rows) == len(Y) and (Y.sum(1) >= 1).all()
    assert cnt['records'] == sum(cnt[k] for k in ('unreadable', 'screened', 'short', 'no_label_at_100', 'no_diagnostic_code', 'kept'))
    assert X.shape == (len(rows), 12, 1000) and X.dtype == np.float32
    tr, va = internal_split(cache.meta.patient_id.values[rows], 0.1, 42)
    assert not set(cache.meta.patient_id.values[rows][tr]) & set(cache.meta.patient_id.values[rows][va])
    assert res['n_train'] == len(tr) and res['n_internal'] == len(va)

def test_thresholds_and_checkpoint(smoke, tmp_path):
    cache, norm, rows, Y, cnt, X, res = smoke
    assert all(t in THRESHOLD_GRID for t in res['thresholds']) and len(res['thresholds']) == 5
    save_classifier(tmp_path/'c.pt', res['model'], res['thresholds'], norm, cache.fs, 100., 5000)
    m, ck = load_classifier(tmp_path/'c.pt', norm, cache.fs)
    np.testing.assert_array_equal(predict_proba(m, X), predict_proba(res['model'], X))
    assert ck['n_samples'] == 5000 and ck['fs_clf'] == 100.

def test_fair_evaluation_end_to_end(smoke):
    cache, norm, rows, Y, cnt, X, res = smoke
    clf, thr = res['model'], res['thresholds']
    vr, vY, _ = l3_select(cache, 'valid', 5000)
    orig = clf_inputs(cache, vr, norm, 5000)
    cls = lambda Z: binarize(predict_proba(clf, to_rate(Z, cache.fs, 100.)), thr)
    pop = fit_population(cache, norm=norm)
    preds = {'Original': cls(orig), 'Perfect': cls(splice(orig, orig[:, :, 1000:], 1000))}
    ctx = Context(norm, pop, cache.fs)
    for m in (GL(ctx), PCM(ctx), PCM(ctx, 'rho'), TemplateReplay(ctx)):
        name = m.name
        f = lambda xc, yc, xt, m=m: predict_episodes(m, dict(x_calib=xc, y_calib=yc, x_test=xt), norm, assemble=False)
        R = reconstruct_span(cache, vr, norm, f, 5000)
        fair, all12 = splice(orig, R, 1000, 'fair'), splice(orig, R, 1000, 'all')
        np.testing.assert_array_equal(fair[:, IN_IDX + DERIVED_IDX], orig[:, IN_IDX + DERIVED_IDX])   # measured + derived untouched
        np.testing.assert_array_equal(fair[:, :, :1000], orig[:, :, :1000])                          # calibration window untouched
        np.testing.assert_array_equal(fair[:, RECON_IDX, 1000:], R[:, RECON_IDX])
        if name == 'TR': assert np.abs(all12[:, IN_IDX, 1000:] - orig[:, IN_IDX, 1000:]).max() > 0   # replace-all overwrites measured leads
        preds[name] = cls(fair)
    t = f1_table(vY, preds, n_boot=100, seed=0)
    assert t.loc['Perfect', 'retention_pct'] == 100. and t.loc['Perfect', 'delta'] == 0.
    assert t.loc['Original', 'macro_f1'] == pytest.approx(macro_f1(vY, preds['Original']))
    assert (t.macro_f1_lo <= t.macro_f1_hi).all() and (t.retention_pct_lo <= t.retention_pct_hi).all()

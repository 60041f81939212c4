"""The installed `calinet` command end to end, on WFDB, CSV and DICOM files written by independent writers (wfdb, pandas,
pydicom), with a broken file in the batch."""
import shutil, subprocess, sys
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import wfdb
from calinet.core import LEADS, IN_LEADS
from calinet.data import fixture_ecg

CLI = shutil.which('calinet', path=str(Path(sys.executable).parent)) or shutil.which('calinet')


def run(*args):
    assert CLI, "the `calinet` console script is not installed (pip install -e . installs it)"
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=300)


def write_dicom(path, x, fs, uv_per_count=2.5):
    "A 12-lead ECG Waveform Storage file holding `x` (12, T) mV as int16 counts, written with pydicom."
    from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = '1.2.840.10008.5.1.4.1.1.9.1.1', generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b'\0' * 128)
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID, 'ECG'
    g = Dataset()
    g.MultiplexGroupLabel, g.SamplingFrequency = 'RHYTHM', fs
    g.NumberOfWaveformChannels, g.NumberOfWaveformSamples = 12, x.shape[1]
    g.WaveformBitsAllocated, g.WaveformSampleInterpretation = 16, 'SS'
    chs = []
    for name in LEADS:
        src, unit, ch = Dataset(), Dataset(), Dataset()
        src.CodeValue, src.CodingSchemeDesignator, src.CodeMeaning = 'x', 'MDC', f'Lead {name}'
        unit.CodeValue, unit.CodingSchemeDesignator, unit.CodeMeaning = 'uV', 'UCUM', 'microvolt'
        ch.ChannelSourceSequence, ch.ChannelSensitivityUnitsSequence = [src], [unit]
        ch.ChannelSensitivity, ch.ChannelSensitivityCorrectionFactor, ch.ChannelBaseline, ch.WaveformBitsStored = uv_per_count, 1, 0, 16
        chs.append(ch)
    g.ChannelDefinitionSequence = chs
    g.WaveformData = np.round(x.T * 1000 / uv_per_count).astype('<i2').tobytes()
    ds.WaveformSequence = [g]
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    "The same 10-s record as WFDB (500 Hz), DICOM (500 Hz) and CSV (µV, 250 Hz), plus a broken CSV."
    d = tmp_path_factory.mktemp('in')
    x = fixture_ecg(1, 5000, 500, seed=11)[0][0].astype(np.float64)
    wfdb.wrsamp('p1', fs=500, units=['mV'] * 12, sig_name=list(LEADS), p_signal=x.T, fmt=['16'] * 12, adc_gain=[1000.] * 12,
                baseline=[0] * 12, write_dir=str(d))
    write_dicom(d/'p3.dcm', x, 500)
    x250 = x[:, ::2]
    pd.DataFrame(x250.T * 1000, columns=[f'{l} (uV)' for l in LEADS]).assign(time_ms=np.arange(x250.shape[1]) * 4.).to_csv(d/'p2.csv', index=False)
    (d/'broken.csv').write_text('I,II,V2\n0.1,0.2,oops\n')
    return d, x


def test_help():
    r = run('--help')
    assert r.returncode == 0 and 'evaluate' in r.stdout and 'reconstruct' in r.stdout and 'Exit status' in r.stdout
    assert run('evaluate').returncode == 2                                    # no input, no --out: a usage error


def test_evaluate_all_formats(inputs, tmp_path):
    d, x = inputs
    r = run('evaluate', d, '--out', tmp_path)
    assert r.returncode == 1, r.stderr                                        # one file failed
    assert 'broken.csv' in r.stderr and "'oops'" in r.stderr
    s = pd.read_csv(tmp_path/'summary.csv').set_index('name')
    assert dict(s.status) == dict(broken='error', p1='ok', p2='ok', p3='ok')
    # the same record read from WFDB and from DICOM scores the same (both hold 1-µV / 2.5-µV steps of the same signal)
    assert abs(s.pcc['p1'] - s.pcc['p3']) < 1e-3 and abs(s.rho['p1'] - s.rho['p3']) < 1e-2
    assert s.pcc['p2'] > .5 and np.isfinite(s.nrmse['p2'])                   # 250 Hz, µV: read, resampled and scored
    leads = pd.read_csv(tmp_path/'leads.csv')
    assert sorted(leads.name.unique()) == ['p1', 'p2', 'p3'] and set(leads.lead) >= {'V1', 'V6', 'V1,V3-V6'}
    for n in ('p1', 'p2', 'p3'): assert (tmp_path/f'{n}.png').read_bytes()[:4] == b'\x89PNG'
    # the written record, read back by wfdb itself: 12 leads, the measured ones unchanged, roles in the header
    rec = wfdb.rdrecord(str(tmp_path/'p1'))
    assert rec.sig_name == list(LEADS) and rec.fs == 500
    i = [LEADS.index(l) for l in IN_LEADS]
    np.testing.assert_allclose(rec.p_signal[:, i].T, x[i, 1000:], atol=1.5e-3)
    assert any('V1' in c and 'reconstructed' in c for c in rec.comments)


def test_reconstruct_with_separate_calibration(inputs, tmp_path):
    d, x = inputs
    meas = tmp_path/'measured.csv'
    pd.DataFrame({l.lower(): x[LEADS.index(l), 1000:] for l in ('V2', 'I', 'II')}).to_csv(meas, index=False)   # any order, any case
    r = run('reconstruct', meas, '--calib', d/'p1.hea', '--out', tmp_path/'out', '--fs', 500, '--format', 'csv', '--plot', 'none')
    assert r.returncode == 0, r.stderr
    out = pd.read_csv(tmp_path/'out'/'measured.csv', comment='#')
    np.testing.assert_allclose(out['II'], x[1, 1000:], atol=1e-6)            # measured leads passed through
    np.testing.assert_allclose(out['III'], x[1, 1000:] - x[0, 1000:], atol=2e-6)   # Einthoven
    assert np.isfinite(out[['V1', 'V3', 'V4', 'V5', 'V6']].to_numpy()).all()
    bad = run('reconstruct', meas, '--out', tmp_path/'out2', '--fs', 500, '--plot', 'none')   # no --calib and only 3 leads
    assert bad.returncode == 1 and 'measured.csv' in bad.stderr


def test_reconstruct_folder_with_workers(tmp_path):
    "A folder of 20 records, one of them broken, by two worker processes: every good record written, the broken one listed."
    d = tmp_path/'in'
    d.mkdir()
    x = fixture_ecg(20, 5000, 500, seed=12)[0].astype(np.float64)
    for i, xi in enumerate(x):
        wfdb.wrsamp(f'r{i:02d}', fs=500, units=['mV'] * 12, sig_name=list(LEADS), p_signal=xi.T, fmt=['16'] * 12, adc_gain=[1000.] * 12,
                    baseline=[0] * 12, write_dir=str(d))
    (d/'r07.hea').write_text('r07 12 500\n')                                  # a header without its signal lines
    r = run('reconstruct', d, '--out', tmp_path/'out', '--plot', 'none', '--workers', 2)
    assert r.returncode == 1 and 'r07.hea' in r.stderr
    s = pd.read_csv(tmp_path/'out'/'summary.csv')
    assert list(s.name) == [f'r{i:02d}' for i in range(20)] and list(s.status == 'ok') == [i != 7 for i in range(20)]
    i = [LEADS.index(l) for l in IN_LEADS]
    for k in (0, 19):
        rec = wfdb.rdrecord(str(tmp_path/'out'/f'r{k:02d}'))
        np.testing.assert_allclose(rec.p_signal[:, i].T, x[k][i, 1000:], atol=1.5e-3)   # measured leads passed through
    assert run('reconstruct', d, '--out', tmp_path/'o2', '--workers', 0).returncode == 2    # a usage error

"""Bad input the data layer must refuse, count or report instead of reading it wrong; a cache that follows edited record files;
cache builds that share a folder.

The files are written with libraries other than calinet's readers: PTB-XL tables with pandas, PTB-XL records with
`wfdb.wrsamp`, CPSC2018 records as plain-text headers plus `scipy.io.savemat` MATLAB v4 files, and the defects as plain
text or byte edits, the way a user's editor or a broken copy would leave them.
"""
import os, re, subprocess, sys, textwrap, time, warnings
from pathlib import Path
import numpy as np, pandas as pd, pytest
from scipy import io as sio
with warnings.catch_warnings():
    warnings.simplefilter('ignore', DeprecationWarning)
    import wfdb
import calinet.data as D
from calinet.core import LEADS, derive_limb
from calinet.data import (RecordError, fixture_ecg, read_header, read_ptbxl_meta, read_cpsc_record, prepare_cache, load_cache,
                          open_dataset, dataset_source, cache_key)

PTBXL_SIG = ['I', 'II', 'III', 'AVR', 'AVL', 'AVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6']
SCP = """,description,diagnostic,form,rhythm,diagnostic_class
NORM,normal ECG,1.0,,,NORM
IMI,inferior myocardial infarction,1.0,,,MI
SR,sinus rhythm,,,1.0,
"""

def write_ptbxl(root, x, db=None):
    "PTB-XL layout: ptbxl_database.csv and scp_statements.csv with pandas / text, 500 Hz records with wfdb.wrsamp."
    root = Path(root); root.mkdir(parents=True); n = len(x); ids = np.arange(1, n + 1)
    hr = [f'records500/00000/{i:05d}_hr' for i in ids]
    if db is None:
        db = pd.DataFrame(dict(ecg_id=ids, patient_id=[f'{float(100 + i):.1f}' for i in ids], report='sinusrhythmus',
                               scp_codes=["{'NORM': 100.0, 'SR': 0.0}"] * n, strat_fold=(ids - 1) % 10 + 1,
                               filename_lr=[h.replace('500', '100').replace('_hr', '_lr') for h in hr], filename_hr=hr))
    db.to_csv(root/'ptbxl_database.csv', index=False)
    (root/'scp_statements.csv').write_text(SCP)
    (root/'records500/00000').mkdir(parents=True)
    for k in range(n):
        d = np.round(np.asarray(x[k], np.float64).T * 1000).astype(np.int64)
        wfdb.wrsamp(f'{k + 1:05d}_hr', fs=500, units=['mV'] * 12, sig_name=PTBXL_SIG, d_signal=d, fmt=['16'] * 12,
                    adc_gain=[1000.] * 12, baseline=[0] * 12, write_dir=str(root/'records500/00000'))
    return root

def write_cpsc(root, recs, group='g1'):
    "Challenge-2020 CPSC2018 layout: per record a plain-text header and a MATLAB v4 'val' (scipy.io.savemat)."
    d = Path(root)/group; d.mkdir(parents=True, exist_ok=True)
    for k, r in enumerate(recs):
        name = f'A{k + 1:04d}'; v = np.round(np.asarray(r['x'], np.float64) * 1000).astype(np.int16)
        names, gains = r.get('names', list(LEADS)), r.get('gains', ['1000'] * len(v))
        sio.savemat(d/f'{name}.mat', {'val': v}, format='4')
        lines = [f"{name} {len(v)} {r.get('fs', 500)} {v.shape[1]} 05-Feb-2020 11:39:16"]
        lines += [f'{name}.mat 16+24 {g}/mV 16 0 {row[0]} 0 0 {l}' for l, g, row in zip(names, gains, v)]
        lines += ['#Age: 63', '#Sex: Male', '#Dx: 426783006', '#Rx: Unknown', '#Hx: Unknown', '#Sx: Unknown']
        (d/f'{name}.hea').write_text('\n'.join(lines) + '\n')
    return Path(root)

def later(p):
    "Make sure an edit lands on a later modification time than the build that read the file (coarse file-system clocks)."
    time.sleep(0.02)
    return Path(p)

# 1. A cache follows every file it was built from

def test_fixed_header_rebuilds_cache(tmp_path, capsys):
    x = fixture_ecg(4, 5000, seed=21)[0]
    root = write_ptbxl(tmp_path/'p', x)
    hea = root/'records500/00000/00003_hr.hea'; good = hea.read_text()
    swapped = re.sub(r' V1\n(.*) V2\n', r' V2\n\1 V1\n', good)                      # V1 and V2 labels swapped, same size
    assert swapped != good and len(swapped) == len(good)
    hea.write_text(swapped)
    c = open_dataset(root, tmp_path/'cache', n_workers=1, screen=False)
    v1_bad = np.array(c.record(2)[6]); v2_bad = np.array(c.record(2)[7])
    capsys.readouterr()
    later(hea).write_text(good)                                                       # the user fixes the header
    c2 = open_dataset(root, tmp_path/'cache', n_workers=1, screen=False)
    np.testing.assert_array_equal(c2.record(2)[6], v2_bad); np.testing.assert_array_equal(c2.record(2)[7], v1_bad)
    out = capsys.readouterr().out
    assert 'rebuilding' in out and '00003_hr.hea' in out and '1 source file' in out, out
    assert c2.fingerprint() == c.fingerprint()     # the data fingerprint covers tables, shapes and settings, not samples (README, limitations)

def test_restored_dat_rebuilds_cache(tmp_path):
    x = fixture_ecg(3, 5000, seed=22)[0]
    root = write_ptbxl(tmp_path/'p', x)
    dat = root/'records500/00000/00002_hr.dat'; full = dat.read_bytes()
    dat.write_bytes(full[:-2400])                                                     # an interrupted copy
    c = open_dataset(root, tmp_path/'cache', n_workers=1, screen=False)
    assert c.meta.skip.tolist() == ['', 'header_mismatch', '']
    later(dat).write_bytes(full)                                                      # the download is repeated
    c2 = open_dataset(root, tmp_path/'cache', n_workers=1, screen=False)
    assert c2.meta.skip.tolist() == ['', '', ''] and c2.lengths.tolist() == [5000] * 3

def test_same_size_mat_rebuilds_cache(tmp_path):
    x = fixture_ecg(2, 5000, seed=23)[0]
    root = write_cpsc(tmp_path/'c', [dict(x=x[0]), dict(x=x[1])])
    c = open_dataset(root, tmp_path/'cache', 'cpsc', n_workers=1, screen=False)
    before = np.array(c.record(1)); mat = root/'g1/A0002.mat'; size = mat.stat().st_size
    sio.savemat(later(mat), {'val': np.round(x[0] * 1000).astype(np.int16)}, format='4')   # another record's samples, same size
    assert mat.stat().st_size == size
    c2 = open_dataset(root, tmp_path/'cache', 'cpsc', n_workers=1, screen=False)
    np.testing.assert_array_equal(c2.record(1), c2.record(0)); assert not np.array_equal(c2.record(1), before)

def test_unchanged_files_reuse_cache(tmp_path, capsys):
    root = write_ptbxl(tmp_path/'p', fixture_ecg(3, 5000, seed=24)[0])
    p = prepare_cache(root, tmp_path/'cache', n_workers=1); mt = (p/'info.json').stat().st_mtime_ns
    capsys.readouterr()
    assert prepare_cache(root, tmp_path/'cache', n_workers=1) == p and (p/'info.json').stat().st_mtime_ns == mt
    assert 'rebuilding' not in capsys.readouterr().out

# 2. CPSC reader: uncalibrated leads, a sampling rate other than the protocol's, 8-lead records

def test_cpsc_gain_zero_is_skipped(tmp_path):
    x = fixture_ecg(2, 5000, seed=25)[0]
    gains = ['1000'] * 12; gains[8] = '0'                                             # V3 written with ADC gain 0
    root = write_cpsc(tmp_path/'c', [dict(x=x[0]), dict(x=x[1], gains=gains)])
    with pytest.raises(RecordError, match=r'A0002.hea: .*V3.*ADC gain 0.*uncalibrated') as e: read_header(root/'g1/A0002.hea')
    assert e.value.reason == 'uncalibrated'
    c = load_cache(prepare_cache(root, tmp_path/'cache', 'cpsc', n_workers=1))
    assert c.meta.skip.tolist() == ['', 'uncalibrated'] and 'V3' in c.meta.detail[1] and c.info['skipped'] == dict(uncalibrated=1)

def test_cpsc_other_sampling_rate_is_refused(tmp_path):
    x = fixture_ecg(2, 5000, seed=26)[0]
    root = write_cpsc(tmp_path/'c', [dict(x=x[0]), dict(x=x[1], fs=250)])
    c = load_cache(prepare_cache(root, tmp_path/'cache', 'cpsc', n_workers=1))
    assert c.meta.skip.tolist() == ['', 'wrong_fs'] and 'sampling rate 250 Hz, expected 500 Hz' in c.meta.detail[1]

def test_cpsc_eight_leads_derive_limb_leads(tmp_path):
    x = fixture_ecg(2, 5000, seed=27)[0]
    keep = [0, 1, 6, 7, 8, 9, 10, 11]                                                  # I, II, V1-V6
    root = write_cpsc(tmp_path/'c', [dict(x=x[0]), dict(x=x[1][keep], names=[LEADS[i] for i in keep])])
    with pytest.warns(UserWarning, match='III, aVR, aVL, aVF derived from I and II'): y, fs = read_cpsc_record(root/'g1/A0002', fs=500)
    np.testing.assert_allclose(y[2:6], derive_limb(y[0], y[1]), atol=1e-12); np.testing.assert_allclose(y, x[1], atol=1.1e-3)   # III = II - I: two roundings
    c = load_cache(prepare_cache(root, tmp_path/'cache', 'cpsc', n_workers=1))
    assert c.meta.skip.tolist() == ['', ''] and c.usable.all()
    assert 'III, aVR, aVL, aVF derived from I and II' in c.meta.detail[1] and c.meta.detail[0] == ''
    assert c.info['derived'] == {'III, aVR, aVL, aVF derived from I and II': 1}

# 3. The same ECG twice in ptbxl_database.csv

def _db(n=3, **cols):
    ids = np.arange(1, n + 1)
    db = pd.DataFrame(dict(ecg_id=ids, patient_id=[f'{float(100 + i):.1f}' for i in ids], report='sinusrhythmus',
                           scp_codes=["{'NORM': 100.0, 'SR': 0.0}"] * n, strat_fold=(ids - 1) % 10 + 1,
                           filename_lr=[f'records100/00000/{i:05d}_lr' for i in ids], filename_hr=[f'records500/00000/{i:05d}_hr' for i in ids]))
    for k, v in cols.items(): db[k] = v
    return db

def test_duplicated_ecg_id_is_refused(tmp_path):
    db = _db(4); db.loc[3, 'ecg_id'] = 2; db.loc[3, 'strat_fold'] = 10                 # ecg_id 2 again, in the test fold
    root = write_ptbxl(tmp_path/'p', fixture_ecg(4, 5000, seed=28)[0], db)
    with pytest.raises(ValueError, match=r'ptbxl_database.csv: duplicated ecg_id \[2\]'): read_ptbxl_meta(root)

# 4. Malformed rows name the file, the row and the problem

@pytest.mark.parametrize('codes,problem', [("['NORM']", 'a list'), ("{'NORM', 'SR'}", 'a set'),
                                           ("{'NORM': 'high'}", "likelihood 'high' of 'NORM' is not a number")])
def test_malformed_scp_codes(tmp_path, codes, problem):
    root = write_ptbxl(tmp_path/'p', fixture_ecg(3, 5000, seed=29)[0], _db(3, scp_codes=["{'NORM': 100.0}", codes, "{'IMI': 100.0}"]))
    with pytest.raises(ValueError, match=re.escape(f"ptbxl_database.csv: ecg_id 2: scp_codes {codes!r} ") + '.*' + re.escape(problem)):
        read_ptbxl_meta(root)

def test_non_utf8_byte(tmp_path):
    root = write_ptbxl(tmp_path/'p', fixture_ecg(3, 5000, seed=30)[0])
    csv = root/'ptbxl_database.csv'
    csv.write_bytes(csv.read_bytes().replace(b'2,102.0,sinusrhythmus', '2,102.0,sinusrhythmus Übergang'.encode('latin-1')))
    with pytest.raises(ValueError, match=r'ptbxl_database.csv: line 3 \(ecg_id 2\): byte 0xdc .*not UTF-8'): read_ptbxl_meta(root)

def test_empty_patient_id(tmp_path):
    root = write_ptbxl(tmp_path/'p', fixture_ecg(3, 5000, seed=31)[0], _db(3, patient_id=['101.0', '', '103.0']))
    with pytest.raises(ValueError, match=r'ptbxl_database.csv: patient_id empty or not an integer for ecg_id \[2\]'): read_ptbxl_meta(root)

def test_every_record_skipped(tmp_path):
    root = write_ptbxl(tmp_path/'p', fixture_ecg(3, 5000, seed=32)[0])
    for p in (root/'records500/00000').glob('*.dat'): p.unlink()
    with pytest.raises(ValueError, match=r"all 3 records were skipped \(missing_file: 3\)"): open_dataset(root, tmp_path/'cache', n_workers=1)

# 5. data_dir='' is the smoke cohort, and says so

def test_empty_data_dir_says_smoke(tmp_path, capsys):
    p = dataset_source('', tmp_path, 'ptbxl', smoke_records=20)
    out = capsys.readouterr().out
    assert p == tmp_path/'smoke_src'/'ptbxl_n20_s0' and 'data_dir is empty' in out and 'synthetic smoke cohort' in out, out
    dataset_source(tmp_path/'smoke_src'/'ptbxl_n20_s0', tmp_path)
    assert 'smoke' not in capsys.readouterr().out

# 6. Cache builds sharing a folder

def _cpsc_root(tmp_path):
    xs = fixture_ecg(3, 5000, seed=33)[0]
    return write_cpsc(tmp_path/'c', [dict(x=x) for x in xs])

def test_orphaned_old_copy_of_pid_1_is_removed(tmp_path):
    root = _cpsc_root(tmp_path); cache = tmp_path/'cache'
    key = cache_key(root, 'cpsc'); cache.mkdir()
    orphan = cache/f'.{key}.old-1'; orphan.mkdir(); (orphan/'signals.f32').write_bytes(b'\0' * 4096)   # PID 1 is always running
    with pytest.warns(UserWarning, match='removed 1 partial build'): prepare_cache(root, cache, 'cpsc', n_workers=1)
    assert not orphan.exists()

def test_other_namespace_build_is_left_alone(tmp_path):
    root = _cpsc_root(tmp_path); cache = tmp_path/'cache'
    key = cache_key(root, 'cpsc'); cache.mkdir()
    mine = cache/f'.{key}.tmp-{os.getpid()}'; mine.mkdir(); (mine/'signals.f32').write_bytes(b'x')   # same PID, other container
    gone = subprocess.Popen(['true']); gone.wait()
    other = cache/f'.{key}.tmp-otherhost.00000000-{gone.pid}-abcd1234'; other.mkdir()            # dead PID here, alive there
    p = prepare_cache(root, cache, 'cpsc', n_workers=1)
    assert (mine/'signals.f32').read_bytes() == b'x' and other.exists() and load_cache(p).lengths.tolist() == [5000] * 3
    old = time.time() - 2 * D._STALE_S
    for d in (mine, other): os.utime(d/'signals.f32' if (d/'signals.f32').exists() else d, (old, old)); os.utime(d, (old, old))
    with pytest.warns(UserWarning, match='removed 2 partial build'): prepare_cache(root, cache, 'cpsc', n_workers=1, force=True)
    assert not mine.exists() and not other.exists()

def test_build_names_are_unique():
    p = Path('cache/ptbxl_fs500_hp0.5_abc')
    a, b = D._build_dir(p), D._build_dir(p)
    assert a != b and a.parent == p.parent and a.name.startswith(f'.{p.name}.tmp-') and f'-{os.getpid()}-' in a.name

def test_loser_uses_winners_cache(tmp_path, monkeypatch):
    root = _cpsc_root(tmp_path); cache = tmp_path/'cache'
    real = os.rename; path = cache/cache_key(root, 'cpsc')
    def rename(src, dst):                                     # another process installs the same cache just before ours lands
        if Path(dst) == path and Path(src).name.startswith(f'.{path.name}.tmp-') and not path.exists():
            import shutil; shutil.copytree(src, path)
        return real(src, dst)
    monkeypatch.setattr(os, 'rename', rename)
    p = prepare_cache(root, cache, 'cpsc', n_workers=1)
    assert p == path and load_cache(p).lengths.tolist() == [5000] * 3
    assert [q.name for q in cache.iterdir() if q.name.startswith('.')] == []

def test_cache_moved_away_during_install(tmp_path, monkeypatch):
    root = _cpsc_root(tmp_path); cache = tmp_path/'cache'
    p = prepare_cache(root, cache, 'cpsc', n_workers=1)
    real = os.rename
    def rename(src, dst):                                     # another process moves the stale cache aside first
        if Path(src) == p and p.exists(): real(p, cache/'elsewhere')
        return real(src, dst)
    monkeypatch.setattr(os, 'rename', rename)
    assert prepare_cache(root, cache, 'cpsc', n_workers=1, force=True) == p and load_cache(p).lengths.tolist() == [5000] * 3

RACE = textwrap.dedent('''
    import os, sys, time
    from pathlib import Path
    import calinet.data as D
    orig = D._write_cache
    def slow(tmp, *a, **k):                                   # both processes finish their build before either installs it
        orig(tmp, *a, **k)
        bar = Path(sys.argv[3]); (bar/str(os.getpid())).touch(); t0 = time.time()
        while len(list(bar.iterdir())) < 2 and time.time() - t0 < 120: time.sleep(0.005)
    D._write_cache = slow
    print(D.prepare_cache(sys.argv[1], sys.argv[2], 'cpsc', n_workers=1))
''')

def test_two_processes_build_one_cache(tmp_path):
    root = _cpsc_root(tmp_path); cache = tmp_path/'cache'; bar = tmp_path/'barrier'; bar.mkdir()
    ps = [subprocess.Popen([sys.executable, '-c', RACE, str(root), str(cache), str(bar)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
          for _ in range(2)]
    res = [p.communicate(timeout=300) for p in ps]
    assert all(p.returncode == 0 for p in ps), [r[1][-2000:] for r in res]
    assert res[0][0].strip() == res[1][0].strip() == str(cache/cache_key(root, 'cpsc'))
    assert load_cache(res[0][0].strip()).lengths.tolist() == [5000] * 3
    assert [q.name for q in cache.iterdir() if q.name.startswith('.')] == []

"""How often the calibration-window ectopic-beat warning of `calinet.apply` fires, measured against the beat types that the
embedded synthetic cohort records for every beat. Training folds (1-8) only; fold 10 is never read. Run from the repository
root after `make data`:  python tests/bench/ectopic_check.py [--data data/synth/ptbxl] [--max-records 2000]
"""
import argparse, json
from pathlib import Path
import numpy as np
import pandas as pd
from calinet.apply import beat_shapes
from calinet.core import LEADS
from calinet.records import read_record
from calinet.signal import highpass

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--data', default='data/synth/ptbxl')
ap.add_argument('--max-records', type=int, default=2000, help='records of folds 1-8 to read (in ecg_id order)')
ap.add_argument('--calib-s', type=float, default=2.)
ap.add_argument('--min-corr', type=float, default=.8)
a = ap.parse_args()

root = Path(a.data)
db = pd.read_csv(root/'ptbxl_database.csv', index_col='ecg_id')
meta = {d['ecg_id']: d for d in map(json.loads, (root/'synth_meta.jsonl').read_text().splitlines())}
rows = []
for i in db.index[db.strat_fold <= 8][:a.max_records]:
    # the calibration window exactly as `reconstruct` prepares it: the whole record high-passed at 0.5 Hz, then its first seconds
    rec = read_record(root/f"{db.filename_hr[i]}.hea")
    n = int(round(a.calib_s * rec.fs))
    yc = highpass(rec.select(LEADS), rec.fs, .5)[:, :n]
    # truth: atrial fibrillation, or any beat that is not a normal sinus beat with its R-peak inside the window
    d = meta[i]
    r, bt = np.asarray(d['r_peaks']), np.asarray(list(d['beat_types']))
    truth = bool(d['afib']) or bool((bt[r < n] != 'N').any())
    rows.append(dict(ecg_id=i, truth=truth, **beat_shapes(yc, rec.fs)))
df = pd.DataFrame(rows)
df['flag'] = df.min_corr < a.min_corr
t = pd.crosstab(df.truth.map({True: 'ectopic beat or AF in window', False: 'sinus beats only'}), df.flag.map({True: 'flagged', False: 'not flagged'}))
print(f"{len(df)} calibration windows ({a.calib_s:g} s) of folds 1-8, threshold min_corr < {a.min_corr}")
print(t.to_string())
print(f"flagged: {df.flag[df.truth].mean():.1%} of windows with an ectopic beat or AF, {df.flag[~df.truth].mean():.1%} of sinus-only windows;"
      f" windows with < 2 judged beats: {(df.n_beats < 2).mean():.1%}")

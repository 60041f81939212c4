"""Where the limits of `calinet.apply.untrusted` come from: the in-window fit nRMSE and lead II's R-peak count of every usable
2-s calibration window (0–2 s, the training preprocessing) of the synthetic cohort's training folds 1–8 only.

Run: `.venv/bin/python tests/bench/untrusted_limits.py [data/synth/ptbxl] [data/cache]`; output kept in untrusted_limits.log."""
import sys, numpy as np, torch
from calinet.core import IN_IDX, split_folds
from calinet.data import open_dataset
from calinet.signal import rpeaks
from calinet.apply import load_context, calibration_scores, MAX_FIT_NRMSE

data, cache_dir = (sys.argv[1:3] + ['data/synth/ptbxl', 'data/cache'][len(sys.argv[1:3]):])[:2]
cache = open_dataset(data, cache_dir)
ctx = load_context(None)
rows = np.flatnonzero(cache.usable & np.isin(cache.meta.fold.values, split_folds('train')))
L = int(round(2 * cache.fs))
yc = np.stack([np.asarray(cache.signals[cache.offsets[i]:cache.offsets[i] + L]).T for i in rows]).astype(np.float64)   # (N, 12, L), mV, filtered
with torch.inference_mode(): cal = calibration_scores(ctx, yc[:, IN_IDX], yc)
nr = cal['nrmse'].numpy()
n_pk = np.array([len(p) for p in rpeaks(yc[:, 1], cache.fs)])
print(f"{len(rows)} usable 2-s windows (the cohort's calibration faults included) of training folds 1-8 ({data}); context: {ctx.source}")
print(f"in-window nRMSE: median {np.median(nr):.3f}, 99th percentile {np.percentile(nr, 99):.3f}, max {nr.max():.3f}; above {MAX_FIT_NRMSE}: {(nr > MAX_FIT_NRMSE).sum()}")
print(f"fewer than 2 R-peaks in lead II: {(n_pk < 2).sum()} ({100 * (n_pk < 2).mean():.2f} %)")

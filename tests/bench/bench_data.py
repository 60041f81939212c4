"""Data-layer benchmark: cache preparation time per 1,000 records and episode-batch throughput.

Prints each figure next to its baseline measured in the same run:
- cache preparation with 2 worker processes vs 1 (seconds per 1,000 10-s 500 Hz records);
- episode batches by the vectorised gather (`train_episodes`, `EpisodeDataset` + DataLoader) vs a per-record
  Python loop doing the same slicing and normalisation. Target: >= 20,000 episodes/s on 2 CPU cores.
Run: `python tests/bench/bench_data.py [n_records]` (default 400), or `make bench`.
"""
import sys, tempfile, time, warnings
from pathlib import Path
import numpy as np
warnings.filterwarnings('ignore', category=DeprecationWarning)
import torch
from calinet.core import IN_IDX
from calinet.data import prepare_cache, load_cache, fixture_ecg, write_ptbxl_fixture
from calinet.signal import Normaliser
from calinet.episodes import train_episodes, eval_episodes, EpisodeDataset

def source(root, n):
    "A PTB-XL-layout folder of n records (the synthetic cohort if available, else test fixtures)."
    try:
        from calinet.synth.cohort import ensure_cohort
        return ensure_cohort(Path(root) / 'ptbxl', n, seed=0, layout='ptbxl')
    except ImportError:
        return write_ptbxl_fixture(Path(root) / 'ptbxl', fixture_ecg(n, 5000)[0], write_100=False)

def rate(f, n_per_call, min_s=2.):
    "Calls per second of f (after one warm-up) times n_per_call."
    f(); k, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_s: f(); k += 1
    return k * n_per_call / (time.perf_counter() - t0)

def naive(cache, rows, n, rng, nz, Lc=1000, Lt=1000, gaps=(0, 500, 1000, 2500)):
    "Baseline: one Python iteration per episode (slice the record, normalise, stack)."
    out = {k: [] for k in ('x_calib', 'y_calib', 'x_test', 'y_test')}
    for r in rng.choice(rows, n):
        rec = cache.record(r); g = gaps[rng.integers(len(gaps))]; c0 = rng.integers(0, rec.shape[1] - Lc - g - Lt + 1)
        yc = nz.transform(rec[:, c0:c0 + Lc]); yt = nz.transform(rec[:, c0 + Lc + g:c0 + Lc + g + Lt])
        out['y_calib'].append(yc); out['x_calib'].append(yc[IN_IDX]); out['y_test'].append(yt); out['x_test'].append(yt[IN_IDX])
    return {k: np.stack(v) for k, v in out.items()}

def main(n=400):
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.time(); src = source(d, n); print(f'source: {n} records written in {time.time() - t0:.1f} s (not timed below)')
        secs = {}
        for w in (1, 2):
            t0 = time.perf_counter(); p = prepare_cache(src, Path(d) / 'cache', n_workers=w, force=True); secs[w] = time.perf_counter() - t0
        print(f'cache preparation: {1000 * secs[2] / n:.1f} s per 1,000 records with 2 workers; '
              f'baseline 1 worker {1000 * secs[1] / n:.1f} s; speed-up x{secs[1] / secs[2]:.2f}')
        c = load_cache(p); rows = c.rows('all'); nz = Normaliser.fit(c, rows)
        B, rng = 256, np.random.default_rng(0)
        base = rate(lambda: naive(c, rows, B, rng, nz), B)
        vec = rate(lambda: train_episodes(c, rows, B, rng, nz), B)
        vec_c = rate(lambda: train_episodes(c, rows, B, rng, nz, contiguous=True), B)
        ev = rate(lambda: eval_episodes(c, rows[:B], nz), min(B, len(rows)))
        print(f'train episodes, batch {B}, normalised: {vec:,.0f} episodes/s (C-contiguous output: {vec_c:,.0f}); '
              f'baseline per-record loop {base:,.0f} episodes/s; speed-up x{vec / base:.1f}; target >= 20,000: {"met" if vec >= 20000 else "NOT met"}')
        print(f'eval episodes (calibration 0-2 s, target 2-4 s): {ev:,.0f} episodes/s')
        ds = EpisodeDataset(c, np.resize(rows, 20 * B), 'train', nz)
        for nw in (0, 2):
            dl = ds.loader(batch_size=B, shuffle=True, drop_last=True, num_workers=nw, persistent_workers=nw > 0)
            it = iter(dl); next(it); k, t0 = 0, time.perf_counter()
            for b in it: k += len(b['row'])
            r = k / (time.perf_counter() - t0)
            note = ' (workers ship each ~30 MB batch through shared memory; num_workers=0 is faster here)' if nw else ''
            print(f'EpisodeDataset + DataLoader(batch {B}, num_workers={nw}): {r:,.0f} episodes/s (x{r / base:.1f} vs per-record loop){note}')

if __name__ == '__main__': main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)

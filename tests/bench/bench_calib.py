"""Calibration benchmark: per-patient ridge + ρ (PCM + score + soft fallback) for 10,000 episodes on 2 CPU cores.

Prints the batched figure next to the baseline measured in the same run: a straightforward per-record
numpy loop (`ridge_fit` + `rho_ref` of one window at a time, what the reference's CaLiNet-E did inside every
training step). The baseline is timed on `n_base` records and scaled linearly to the batch (it is a per-record
loop); pass `--full` to time it on every episode. Target: >= 50x.

The batched path is `calinet.calib.calibrate_torch`, run (a) in one single-threaded process and (b) on 2 cores as
two single-threaded worker processes, each calibrating half of the batch (forked after the data are built, warmed
up, then timed together). Both use one torch thread per process: the batched code is a sequence of many small
tensor operations, and intra-op threading on a shared 2-core machine makes each of them wait for a second thread.
Also checks that batched and per-record give the same ρ (1e-5) and R-peak counts. On a loaded machine wall-clock figures are
noisy; the CPU-time ratio of the 1-core run is printed beside them.
Run: `python tests/bench/bench_calib.py [n_episodes] [n_base] [--full]` (defaults 10000, 500), or `make bench`.
"""
import os
for v in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'): os.environ.setdefault(v, '1')
import sys, time, warnings, multiprocessing as mp
import numpy as np
warnings.filterwarnings('ignore', category=DeprecationWarning)
import torch
from calinet.calib import _toy_windows, ridge_fit, ridge_gram, ridge_solve, rho_ref, calibrate_torch, rho_torch, PopulationMap

def episodes(n, seed=0):
    "n toy calibration windows (3 and 12 leads, 2 s at 500 Hz): 1,000 distinct ones, re-noised copies beyond that."
    x, y = _toy_windows(min(n, 1000), seed=seed, noise=.05)
    rng = np.random.default_rng(seed)
    reps = -(-n // len(y))
    y = np.concatenate([y + (k > 0) * .05 * rng.standard_normal(y.shape) for k in range(reps)])[:n].astype(np.float32)
    return np.ascontiguousarray(y[:, [0, 1, 7]]), y

_D = {}
def _init():
    torch.set_num_threads(1)
    calibrate_torch(torch.from_numpy(_D['x'][:64]), torch.from_numpy(_D['y'][:64]), _D['W'], _D['b'], 500.)   # warm-up
def _work(sl):
    c = calibrate_torch(torch.from_numpy(_D['x'][sl]), torch.from_numpy(_D['y'][sl]), _D['W'], _D['b'], 500.)
    return c['rho'].numpy()

def main(n=10000, n_base=500, full=False):
    torch.set_num_threads(1)
    xc, yc = episodes(n)
    pop = PopulationMap(ridge_solve(*[a.sum(0) for a in ridge_gram(xc[:1000], yc[:1000])])[0], np.zeros(12))
    n_base = n if full else min(n_base, n)
    print(f'per-patient ridge + rho + fallback, {n:,} episodes (2 s, 500 Hz); load average at start {os.getloadavg()[0]:.1f}')
    t0, c0 = time.perf_counter(), time.process_time(); ref = []
    for i in range(n_base):
        W, b = ridge_fit(xc[i], yc[i], 1., .1, pop.W, pop.b)
        ref.append(rho_ref(xc[i], yc[i], W, b, 500.))
    tb, cb = time.perf_counter() - t0, time.process_time() - c0; base, cbase = tb / n_base * n, cb / n_base * n
    print(f'  baseline per-record numpy loop (1 core): {1000 * tb / n_base:.2f} ms/record (timed on {n_base:,}) -> {base:.1f} s for {n:,} '
          f'({1000 * cb / n_base:.2f} CPU-ms/record)')
    tx, ty, Wg, bg = torch.from_numpy(xc), torch.from_numpy(yc), torch.tensor(pop.W), torch.tensor(pop.b)
    calibrate_torch(tx[:64], ty[:64], Wg, bg, 500.)
    t1 = c1 = np.inf
    for _ in range(2):
        t0, c0 = time.perf_counter(), time.process_time(); cal = calibrate_torch(tx, ty, Wg, bg, 500.)
        t1, c1 = min(t1, time.perf_counter() - t0), min(c1, time.process_time() - c0)
    print(f'  batched calibrate_torch, 1 core:          {t1:.2f} s ({n / t1:,.0f} episodes/s), x{base / t1:.1f}; '
          f'CPU time {c1:.2f} s vs the loop\'s {cbase:.1f} s: x{cbase / c1:.1f} per core (robust to other load)')
    _D.update(x=xc, y=yc, W=Wg, b=bg)
    half = [slice(0, n // 2), slice(n // 2, n)]
    with mp.get_context('fork').Pool(2, initializer=_init) as pool:
        pool.map(_work, [slice(0, 64), slice(64, 128)])
        t2 = np.inf
        for _ in range(2):
            t0 = time.perf_counter(); parts = pool.map(_work, half); t2 = min(t2, time.perf_counter() - t0)
    r2 = np.concatenate(parts)
    print(f'  batched calibrate_torch, 2 cores:         {t2:.2f} s ({n / t2:,.0f} episodes/s)')
    best = min(t1, t2)
    print(f'  speed-up (best of the two, i.e. on up to 2 cores) x{base / best:.1f}; target >= 50x: {"met" if base / best >= 50 else "NOT met"}')
    t0 = time.perf_counter(); calibrate_torch(tx, ty, Wg, bg, 500., score='rho_plus'); tp = time.perf_counter() - t0
    print(f'  the same with rho-plus instead of rho, 1 core: {tp:.2f} s')
    r = rho_torch(tx[:n_base], ty[:n_base], cal['W'][:n_base], cal['b'][:n_base], 500., parts=True)
    dr = np.abs(r['rho'].numpy() - np.array([q['rho'] for q in ref])).max()
    dn = int((r['n_peaks'].numpy() != np.array([q['n_peaks'] for q in ref])).sum())
    print(f'  agreement on the {n_base:,} baseline records: max |rho diff| {dr:.1e}; R-peak counts differing: {dn}; '
          f'2-process vs 1-process rho max diff {np.abs(r2 - cal["rho"].numpy()).max():.1e}')
    print(f'  load average at end {os.getloadavg()[0]:.1f} (a shared machine makes every figure noisy; the ratio is measured in one run)')

if __name__ == '__main__':
    a = [v for v in sys.argv[1:] if not v.startswith('--')]
    main(*(int(v) for v in a), full='--full' in sys.argv)

"""Benchmark: signal metrics + morphology for 10,000 episodes (target < 5 s on 2 cores), beside a per-record loop.

Run: `python tests/bench/bench_metrics.py [--n 10000] [--n-loop 1000]` (or `make bench`).
The vectorised path is `calinet.metrics.fiducials` (R peaks with the reference detector, batched) +
`calinet.metrics.evaluate` (PCC, nRMSE, RMSE by group in normalised units and mV, morphology).
The baseline is the straightforward per-record numpy loop a reader would write from `reference.md` §4.1–4.2
(np.corrcoef per lead, the detector per record, a Python loop over beats); it is timed on `--n-loop`
episodes and scaled linearly to `--n`, and its values are checked against the vectorised ones.
"""
import argparse, os, time
import numpy as np, torch
from calinet.core import RECON_IDX, ANTERIOR_IDX, LATERAL_IDX
from calinet.signal import rpeaks
from calinet.metrics import fiducials, evaluate

def make_batch(n, T=1000, fs=500, seed=0):
    "n synthetic lead-first episodes (12, T) in normalised units with varying heart rate, and a noisy prediction."
    rng = np.random.default_rng(seed); t = np.arange(T)
    y = np.zeros((n, 12, T), np.float32)
    rr = rng.uniform(0.6, 1.1, n) * fs; ph = rng.uniform(0, 1, n) * rr
    gains = rng.normal(1, 0.4, (n, 12, 4)).astype(np.float32)
    for k, (off, a, w) in enumerate(zip((-12, 0, 15, 150), (-0.3, 3., -0.9, 0.8), (3, 5, 3, 25))):
        for m in range(int(T / (0.6 * fs)) + 2):
            r = ph + m * rr
            y += gains[:, :, k:k + 1] * np.float32(a) * np.exp(-0.5 * ((t[None] - r[:, None] - off) / w) ** 2).astype(np.float32)[:, None]
    y += rng.normal(0, 0.05, y.shape).astype(np.float32)
    yhat = (y * rng.uniform(0.8, 1.2, (n, 12, 1)) + rng.normal(0, 0.2, y.shape)).astype(np.float32)
    return y, yhat

def loop_reference(y, yhat, sd, fs=500):
    "Per-record loop: headline PCC, nRMSE, RMSE (recon, mV) and R_amp / ST60_ant / ST60_lat / T_amp, as the reference did."
    out = []
    for yt, yp in zip(y.astype(np.float64), yhat.astype(np.float64)):
        p = [0. if yt[l].std() < 1e-8 or yp[l].std() < 1e-8 else float(np.clip(np.corrcoef(yt[l], yp[l])[0, 1], -1, 1)) for l in RECON_IDX]
        d = yt[RECON_IDX] - yp[RECON_IDX]
        nr = np.sqrt(np.mean(d ** 2)) / max(np.sqrt(np.mean(yt[RECON_IDX] ** 2)), 1e-8)
        rm = np.mean([np.sqrt(np.mean((yt[l] - yp[l]) ** 2)) * sd[l] for l in RECON_IDX])
        tm, pm = yt * sd[:, None], yp * sd[:, None]
        errs = dict(r_amp=[], t_amp=[], st60_ant=[], st60_lat=[])
        for r in rpeaks(tm[1], fs):
            if r - 30 < 0 or r + 370 >= tm.shape[1]: continue
            x = tm[1]; q = r - 30 + int(np.argmin(x[r - 30:r])); s = r + 1 + int(np.argmin(x[r + 1:r + 51]))
            w = x[r + 50:r + 200]; tp = r + 50 + int(np.argmax(np.abs(w - w.mean()))); j = s + 20
            for name, at, leads in (('r_amp', r, RECON_IDX), ('t_amp', tp, RECON_IDX), ('st60_ant', j + 30, ANTERIOR_IDX), ('st60_lat', j + 30, LATERAL_IDX)):
                e = [abs((tm[l, at] - tm[l, max(q - 20, 0):q].mean()) - (pm[l, at] - pm[l, max(q - 20, 0):q].mean())) for l in leads]
                errs[name].append(np.mean(e))
        out.append(dict(pcc_recon=np.mean(p), nrmse_recon=nr, rmse_recon_mv=rm, **{k: np.mean(v) if v else np.nan for k, v in errs.items()}))
    return {k: np.array([o[k] for o in out]) for k in out[0]}

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=10_000); ap.add_argument('--n-loop', type=int, default=1_000)
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args(); torch.set_num_threads(a.threads)
    sd = np.linspace(0.13, 0.32, 12)
    y, yhat = make_batch(a.n)
    evaluate(y[:64], yhat[:64], scale=sd, fid=fiducials(y[:64, 1], 500, scale=sd))   # warm-up (imports, allocator)
    t0 = time.perf_counter(); fid = fiducials(y[:, 1], 500, scale=sd); t1 = time.perf_counter()
    m = evaluate(y, yhat, scale=sd, fid=fid); t2 = time.perf_counter()
    vec = t2 - t0
    k = min(a.n_loop, a.n)
    t3 = time.perf_counter(); ref = loop_reference(y[:k], yhat[:k], sd); t4 = time.perf_counter()
    loop = (t4 - t3) * a.n / k
    for name in ref:
        got = m[name][:k]
        assert np.allclose(np.nan_to_num(got, nan=-9), np.nan_to_num(ref[name], nan=-9), atol=1e-6), f"vectorised and loop disagree on {name}"
    nb = int(fid.n_beats.sum())
    print(f"episodes: {a.n} x (12, 1000) float32, {nb} kept beats, torch threads {a.threads}, "
          f"CPUs {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} (other work on the machine slows both paths)")
    print(f"vectorised: fiducials (R peaks + rules) {t1 - t0:.2f} s + metrics & morphology {t2 - t1:.2f} s = {vec:.2f} s  (target < 5 s)")
    print(f"per-record loop: {t4 - t3:.2f} s for {k} episodes -> {loop:.1f} s for {a.n} (scaled linearly)")
    print(f"speed-up: {loop / vec:.1f}x; values agree with the loop on {k} episodes (atol 1e-6)")
    print(f"pcc_recon mean {np.nanmean(m['pcc_recon']):.4f}, r_amp mean {np.nanmean(m['r_amp']):.4f} mV")
    if vec >= 5: print("WARNING: above the 5 s target")

if __name__ == '__main__': main()

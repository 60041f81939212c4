"""Synthetic-cohort benchmark: generation speed (10-s 12-lead records at 500 Hz) and PTB-XL-layout writing speed.

Generation: `calinet.synth.generate_batches` on `n` records with 1 and 2 worker processes (wall clock), plus the
single-process CPU time per record (robust to other load on the machine). Targets: >= 330 records/s on 2 cores
(20,000 records in <= 60 s); the figure for 20,000 records is extrapolated linearly from `n` (generation is a
per-record loop with constant cost). Baseline measured side by side: the numpy floor of drawing as many float32
Gaussian numbers as the output has samples (n x 5000 x 12), i.e. what even a noise-only generator must pay.
Writing: the direct format-16 writer (`write_wfdb16`, 500 Hz + the decimated 100 Hz file, as `write_ptbxl` does)
against `wfdb.wrsamp` (500 Hz file only, the library baseline) on the same signals; target >= 1,000 records/s.
End to end: `write_ptbxl` with 2 workers (each generates and writes its own chunks), the cost of building a cohort.
Run: `python tests/bench/bench_synth.py [n] [n_write]` (defaults 256, 200), or `make bench`.
"""
import os, sys, time, tempfile, warnings
import numpy as np
warnings.filterwarnings('ignore', category=DeprecationWarning)
from pathlib import Path
from scipy.signal import resample_poly
import wfdb
from calinet.synth import SynthConfig, generate_batches, write_ptbxl, _finish
from calinet.synth_io import write_wfdb16, PTBXL_SIG_NAMES

def gen_rate(n, n_jobs):
    "(records/s wall, CPU s per record of this process) for generating n records."
    t0, c0 = time.perf_counter(), time.process_time(); k = 0
    for xs, _ in generate_batches(n, 0, SynthConfig(), 64, n_jobs): k += len(xs)
    return k / (time.perf_counter() - t0), (time.process_time() - c0) / k

def main(n=256, n_write=200):
    print(f'== synthetic cohort benchmark (cpus: {os.cpu_count()}, load avg: {os.getloadavg()[0]:.1f})')
    list(generate_batches(4, 0, SynthConfig(), 4, 1))                      # warm-up (imports, caches)
    r1, cpu1 = gen_rate(n, 1); r2, _ = gen_rate(n, 2)
    t0 = time.perf_counter(); rng = np.random.default_rng(0)
    for _ in range(n): rng.standard_normal((5000, 12), dtype=np.float32)
    rb = n / (time.perf_counter() - t0)
    print(f'generation, {n} records 10 s @ 500 Hz: 1 process {r1:.0f} rec/s ({1000 * cpu1:.1f} CPU-ms/record); '
          f'2 processes {r2:.0f} rec/s')
    print(f'  extrapolated 20,000 records on 2 processes: {20000 / r2:.0f} s (target <= 60 s, >= 330 rec/s); '
          f'CPU-bound estimate on 2 idle cores: {2 / cpu1:.0f} rec/s')
    print(f'  baseline (numpy floor, float32 normals of the output size): {rb:.0f} rec/s; generator / floor = {r2 / rb:.3f}')
    xs = []
    for b, _ in generate_batches(n_write, 1, SynthConfig(), 64, 2): xs += b
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        for k in range(0, len(xs), 64):                                   # as write_ptbxl: decimate a batch at once
            lr = resample_poly(np.stack(xs[k:k + 64])[:, :, [0, 1, 6, 7, 8, 9, 10, 11]].astype(np.float64), 1, 5, axis=1)
            for j, x in enumerate(xs[k:k + 64]):
                i = k + j + 1
                write_wfdb16(Path(d)/'records500'/f'{i:05d}_hr', x, 500)
                write_wfdb16(Path(d)/'records100'/f'{i:05d}_lr', _finish(lr[j], SynthConfig(), 500), 100)
        rw = n_write / (time.perf_counter() - t0)
        nb = min(50, n_write); t0 = time.perf_counter()
        for i, x in enumerate(xs[:nb], 1):
            wfdb.wrsamp(f'{i:05d}_hr', fs=500, units=['mV'] * 12, sig_name=list(PTBXL_SIG_NAMES), p_signal=x.astype(np.float64),
                        fmt=['16'] * 12, adc_gain=[1000.] * 12, baseline=[0] * 12, write_dir=d)
        rwb = nb / (time.perf_counter() - t0)
        same = all((Path(d)/'records500'/f'{i:05d}_hr.dat').read_bytes() == (Path(d)/f'{i:05d}_hr.dat').read_bytes() for i in range(1, nb + 1))
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter(); write_ptbxl(Path(d)/'p', n, seed=0, n_jobs=2); re2e = n / (time.perf_counter() - t0)
    print(f'PTB-XL writer, {n_write} records (500 + 100 Hz files): {rw:.0f} rec/s (target >= 1,000)')
    print(f'  end to end (generate + write both rates, 2 worker processes writing their own chunks), {n} records: {re2e:.0f} rec/s; '
          f'a 5,000-record default cohort: {5000 / re2e:.0f} s')
    print(f'  baseline wfdb.wrsamp ({nb} records, 500 Hz file only): {rwb:.0f} rec/s; direct / wfdb = {rw / rwb:.1f}x; .dat bytes identical: {same}')

if __name__ == '__main__':
    a = [int(v) for v in sys.argv[1:3]]
    main(*a)

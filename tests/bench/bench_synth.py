"""Synthetic-cohort benchmark: generation speed (10-s 12-lead records at 500 Hz) and PTB-XL-layout writing speed.

Issue 3's two targets, each printed with `target met: True/False`:
- Generation: `calinet.synth.generate_batches(n, seed, SynthConfig(), 64, n_jobs)` at >= 330 records/s with 2 worker
  processes (20,000 records in <= 60 s on 2 cores). Printed: wall-clock records/s with 1 process (n records) and 2
  processes (4n records, so that forking the pool, a one-off cost of a cohort build, weighs as little as it does at
  20,000), and the CPU time per record of all processes (`os.times`, workers included), which is what the machine's
  other load does not change much; `2 / CPU time per record` is the rate 2 idle cores would reach, printed as the CPU-bound estimate.
  Baseline measured side by side: the numpy floor of drawing as many float32 Gaussian numbers as the output has
  samples (n x 5000 x 12), i.e. what even a noise-only generator must pay.
- Writing: the records of an already generated batch written in the PTB-XL layout exactly as `write_ptbxl` does
  (`_write_ptbxl_records`: 500-Hz file, 100-Hz file decimated with `resample_poly(., 1, 5)`, both WFDB format 16)
  at >= 1,000 records/s with 2 processes (each writes its half; the two workers are forked and warmed up before the
  clock starts, as in a cohort build, which forks once for thousands of records). Printed for 1 and 2 processes with
  the CPU time per record. Baseline measured side by side: `wfdb.wrsamp` on the same signals (500-Hz file only), with a check that
  the .dat bytes are identical.
- End to end: `write_ptbxl` with 2 workers (each generates and writes its own chunks), the cost of building a cohort.
The machine is shared: every figure is printed with the 1-minute load average at the time it was measured; rates
measured under load > 0.5 understate what idle cores reach (compare the CPU-bound estimates instead). CPU times are
printed with their system (kernel) part: the writer's is mostly file creation (4 files per record), which depends on
the file system and on the other jobs' I/O more than on this code.
Run: `python tests/bench/bench_synth.py [n] [n_write]` (defaults 512, 2048), or `make bench`.
"""
import os, sys, time, tempfile, warnings
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
import numpy as np
warnings.filterwarnings('ignore', category=DeprecationWarning)
from pathlib import Path
import wfdb
from calinet.synth.cohort import SynthConfig, generate_batches, write_ptbxl, _write_ptbxl_records
from calinet.synth.io import PTBXL_SIG_NAMES

GEN_TARGET, WRITE_TARGET = 330, 1000      # records/s on 2 processes

def load(): return f'load {os.getloadavg()[0]:.1f}'

class Cpu(float):
    "CPU seconds (user + system) of this process and its finished children; `.sys` the system (kernel) part."

def timed(fn):
    "(result, wall s, Cpu s)."
    c0, t0 = os.times(), time.perf_counter(); r = fn(); t1, c1 = time.perf_counter(), os.times()
    c = Cpu(sum(b - a for a, b in zip(c0[:4], c1[:4]))); c.sys = (c1[1] - c0[1]) + (c1[3] - c0[3])
    return r, t1 - t0, c

def ms(c, k): return f'{1000 * c / k:5.2f} CPU-ms/record (system {1000 * c.sys / k:.2f})'

def gen(n, n_jobs): return sum(len(xs) for xs, _ in generate_batches(n, 0, SynthConfig(), 64, n_jobs))

_XS = []                                  # records to write; forked workers inherit them

def _write_part(args):
    root, a, b = args
    for k in range(a, b, 64): _write_ptbxl_records(Path(root), _XS[k:min(k + 64, b)], k, SynthConfig())
    return b - a

def write2(root, n):
    """(records, wall s, Cpu s) of writing n records with 2 worker processes, each its half. The workers are forked and warmed up
    before the clock starts (a cohort build forks once for thousands of records); their CPU time, start-up included, is counted."""
    c0 = os.times(); cut = np.linspace(0, n, 3).astype(int)
    with ProcessPoolExecutor(2, mp_context=mp.get_context('fork')) as ex:
        list(ex.map(_write_part, [(root, 0, 0)] * 2))
        t0 = time.perf_counter(); k = sum(ex.map(_write_part, [(root, int(a), int(b)) for a, b in zip(cut[:-1], cut[1:])])); w = time.perf_counter() - t0
    c1 = os.times(); c = Cpu(sum(b - a for a, b in zip(c0[:4], c1[:4]))); c.sys = (c1[1] - c0[1]) + (c1[3] - c0[3])
    return k, w, c

def main(n=512, n_write=2048):
    print(f'== synthetic cohort benchmark (cpus: {os.cpu_count()}, {load()})')
    gen(4, 1)                                                             # warm-up (imports, caches)
    k1, w1, c1 = timed(lambda: gen(n, 1)); l1 = load()
    k2, w2, c2 = timed(lambda: gen(4 * n, 2)); l2 = load()      # 4n records: the pool's start-up is a cohort build's one-off cost
    rng = np.random.default_rng(0)
    _, wb, cb = timed(lambda: [rng.standard_normal((5000, 12), dtype=np.float32) for _ in range(n)]); lb = load()
    r2 = k2 / w2
    print(f'generation, 10-s records @ 500 Hz, batches of 64 ({n} records on 1 process, {4 * n} on 2):')
    print(f'  1 process:   {k1 / w1:5.0f} rec/s, {ms(c1, k1)} ({l1})')
    print(f'  2 processes: {r2:5.0f} rec/s, {ms(c2, k2)}, all processes ({l2})')
    print(f'  20,000 records on 2 processes: {20000 / r2:.0f} s; target >= {GEN_TARGET} rec/s (<= 60 s) met: {r2 >= GEN_TARGET}')
    print(f'  CPU-bound estimate on 2 idle cores: {2 * k2 / c2:.0f} rec/s; target met on idle cores: {2 * k2 / c2 >= GEN_TARGET}')
    print(f'  baseline (numpy floor, float32 normals of the output size, 1 process): {n / wb:.0f} rec/s, '
          f'{1000 * cb / n:.2f} CPU-ms/record ({lb}); generator CPU / floor CPU = {(c1 / k1) / (cb / n):.1f}')
    _XS.clear()
    for b, _ in generate_batches(n_write, 1, SynthConfig(), 64, 2): _XS.extend(b)
    with tempfile.TemporaryDirectory() as d:
        kw1, ww1, cw1 = timed(lambda: _write_part((Path(d)/'w1', 0, n_write))); lw1 = load()
        kw2, ww2, cw2 = write2(Path(d)/'w2', n_write); lw2 = load()
        nb = min(50, n_write)
        def wr():
            for i, x in enumerate(_XS[:nb], 1):
                wfdb.wrsamp(f'{i:05d}_hr', fs=500, units=['mV'] * 12, sig_name=list(PTBXL_SIG_NAMES), p_signal=x.astype(np.float64),
                            fmt=['16'] * 12, adc_gain=[1000.] * 12, baseline=[0] * 12, write_dir=d)
        _, wwb, cwb = timed(wr); lwb = load()
        same = all((Path(d)/'w1'/'records500'/'00000'/f'{i:05d}_hr.dat').read_bytes() == (Path(d)/f'{i:05d}_hr.dat').read_bytes() for i in range(1, nb + 1))
    rw2 = kw2 / ww2
    print(f'PTB-XL writer, {n_write} generated records (500 Hz + decimated 100 Hz files, as write_ptbxl):')
    print(f'  1 process:   {kw1 / ww1:5.0f} rec/s, {ms(cw1, kw1)} ({lw1})')
    print(f'  2 processes: {rw2:5.0f} rec/s, {ms(cw2, kw2)}, all processes ({lw2})')
    print(f'  target >= {WRITE_TARGET} rec/s on 2 processes met: {rw2 >= WRITE_TARGET}; CPU-bound estimate on 2 idle cores: '
          f'{2 * kw1 / cw1:.0f} rec/s, met: {2 * kw1 / cw1 >= WRITE_TARGET}')
    print(f'  baseline wfdb.wrsamp ({nb} records, 500 Hz file only, 1 process): {nb / wwb:.0f} rec/s, {ms(cwb, nb)} '
          f'({lwb}); direct (both files) / wfdb = {(kw1 / ww1) / (nb / wwb):.1f}x; .dat bytes identical: {same}')
    with tempfile.TemporaryDirectory() as d:
        _, we, ce = timed(lambda: write_ptbxl(Path(d)/'p', n, seed=0, n_jobs=2)); le = load()
    print(f'end to end: write_ptbxl (generate + write both rates, 2 worker processes), {n} records: {n / we:.0f} rec/s, '
          f'{ms(ce, n)} ({le}); a 5,000-record default cohort: {5000 / (n / we):.0f} s')

if __name__ == '__main__':
    a = [int(v) for v in sys.argv[1:3]]
    main(*a)

"""Apply benchmark: `calinet reconstruct` on a folder of 10-s 500-Hz 12-lead WFDB records (PCM + ρ fallback, the default).

Measures, in one run, on the same records:
- the whole command, `calinet.cli.main(['reconstruct', folder, '--out', out, '--plot', 'none'])`: reading, calibrating on the
  first 2 s, reconstructing the other 8 s and writing each 12-lead record, in records/s, on all `--n` records: batched
  (`calinet.apply.reconstruct_many` on chunks of files) with the default worker processes (three runs: the target is judged
  on their median), and batched in one process (`--workers 1`);
- beside it, the per-record loop the command ran before batching: `read_record`, `calinet.apply.reconstruct` and the
  command's writer, one record after another in one process (torch's default threads), on the same `--n` records;
- compute only (no files): `reconstruct_many` on `--n-mem` in-memory recordings vs `reconstruct` one at a time;
- per-record `read_record` and `write_record` times, numpy vs the `wfdb` library (`wfdb.rdrecord` / `wfdb.wrsamp`, reached
  by monkeypatching `calinet.records`), on `--n-lib` records;
- CaLiNet-E on CPU if a trained run exists at `runs/default/calinet_e_seed0`: compute only, batched vs one at a time, and
  the whole command with it on `--n-lib` records.
Creating the records (`calinet.synth.io.write_wfdb16` of `calinet.data.fixture_ecg` signals) is not timed.
Target: >= 300 records/s for the whole reconstruct command on 2 CPU cores. Figures on a shared machine are noisy: the
load average (other processes' demand on the 2 cores) is printed at the start, after each command and at the end.
Run: `python tests/bench/bench_apply.py [--n 1000] [--n-lib 100]`, or `make bench`.
"""
import argparse, contextlib, io, os, resource, shutil, tempfile, time, warnings
from pathlib import Path
import numpy as np
warnings.filterwarnings('ignore', category=DeprecationWarning)
import pandas as pd
import torch
import calinet.records as records
from calinet.core import LEADS
from calinet.data import fixture_ecg
from calinet.synth.io import write_wfdb16
from calinet.records import read_record, write_record, CALINET_ROLES
from calinet.apply import reconstruct, reconstruct_many, method_from_spec
from calinet.cli import main as cli_main, _write

TARGET = 300.                                   # records/s, whole reconstruct command
RUN_E = Path('runs/default/calinet_e_seed0')

def make_records(folder:Path, n:int, chunk:int=100):
    "n ten-second 500-Hz 12-lead format-16 WFDB records in `folder` (00000.hea/.dat, ...)."
    for s in range(0, n, chunk):
        x = fixture_ecg(min(chunk, n - s), 5000, 500, seed=s)[0]
        for k, xi in enumerate(x): write_wfdb16(folder / f'{s + k:05d}', xi.T, 500, sig_names=LEADS)

def _write_wfdb_lib(rec, hea:Path, notes:list)->Path:
    "A `calinet.records._write_wfdb` through the `wfdb` library: the same checks and file, written by `wfdb.wrsamp`."
    import wfdb
    name = hea.name[:-4]
    d = np.round(rec.signal.T * 1000)
    d = np.where(np.isfinite(d), d, -32768).astype(np.int64)
    hea.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=hea.parent, prefix=f'.{name}.', suffix='.tmp'))
    try:
        L = len(rec.leads)
        wfdb.wrsamp(name, fs=rec.fs, units=['mV'] * L, sig_name=list(rec.leads), d_signal=d, fmt=['16'] * L,
                    adc_gain=[1000.] * L, baseline=[0] * L, comments=notes, write_dir=str(tmp))
        for f in (f'{name}.dat', f'{name}.hea'): os.replace(tmp / f, hea.parent / f)
    finally: shutil.rmtree(tmp, ignore_errors=True)
    return hea

@contextlib.contextmanager
def library_io():
    "`calinet.records` reading with `wfdb.rdrecord` and writing with `wfdb.wrsamp`."
    fast, write = records._read_fmt16, records._write_wfdb
    records._read_fmt16, records._write_wfdb = (lambda hea: None), _write_wfdb_lib
    try: yield
    finally: records._read_fmt16, records._write_wfdb = fast, write

def check_out(out:Path, n:int, what:str):
    "`RuntimeError` unless summary.csv lists n records, all ok."
    s = pd.read_csv(out / 'summary.csv')
    if len(s) != n or (s.status != 'ok').any(): raise RuntimeError(f"{what}: {len(s)} rows, {(s.status != 'ok').sum()} errors: {s.error.dropna().head(3).tolist()}")

def cpu_seconds()->float:
    "CPU time (user + system) of this process and its finished children so far."
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

CPU = {}                                         # output folder -> CPU seconds of the command that wrote it (all processes)

def run_cli(src:Path, out:Path, n:int, *extra)->float:
    "Seconds for the reconstruct command on `src` (its progress bar and summary line swallowed); checks every record was written."
    shutil.rmtree(out, ignore_errors=True)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        c0, t0 = cpu_seconds(), time.perf_counter()
        rc = cli_main(['reconstruct', str(src), '--out', str(out), '--plot', 'none', *extra])
        t, CPU[out] = time.perf_counter() - t0, cpu_seconds() - c0               # the workers are reaped before main returns
    if rc != 0: raise RuntimeError(f"reconstruct failed: exit status {rc}")
    check_out(out, n, 'reconstruct')
    return t

def run_loop(src:Path, out:Path, n:int, method)->float:
    "Seconds for the command's work done one record at a time (as before batching): read, `reconstruct`, write, in one process."
    shutil.rmtree(out, ignore_errors=True); rows = []
    t0 = time.perf_counter()
    for hea in sorted(src.glob('*.hea')):
        rec = read_record(hea)
        r = reconstruct(rec.window(0, 2.), rec.window(2., rec.duration), method=method)
        rows.append(dict(name=hea.stem, status='ok', error='', **_write(r, out, hea.stem, 'wfdb', 'none')))
    t = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True); pd.DataFrame(rows).to_csv(out / 'summary.csv', index=False)
    check_out(out, n, 'per-record loop')
    return t

def per_record(f, items)->float:
    "Mean seconds per call of f over items."
    t0 = time.perf_counter()
    for it in items: f(it)
    return (time.perf_counter() - t0) / len(items)

def same_outputs(a:Path, b:Path, names)->bool:
    "True if the records `names` written in folders a and b read back within one 1-µV step of each other, with equal notes."
    for n in names:
        x, y = read_record(a / f'{n}.hea'), read_record(b / f'{n}.hea')
        if np.abs(x.signal - y.signal).max() > 1e-3 + 1e-9 or x.meta['notes'] != y.meta['notes']: return False
    return True

load = lambda: f'{os.getloadavg()[0]:.1f}'
rate = lambda n, t: f'{n / t:6.1f} records/s ({t:.1f} s, {1e3 * t / n:.1f} ms/record)'

def main(n=1000, n_lib=100, n_mem=256, n_e=30):
    n_lib, n_mem, n_e = min(n_lib, n), min(n_mem, n), min(n_e, n)
    root = Path(tempfile.mkdtemp(prefix='bench_apply.'))
    try:
        src, sub, warm = root / 'in', root / 'sub', root / 'warm'; src.mkdir(); sub.mkdir(); warm.mkdir()
        t0 = time.perf_counter(); make_records(src, n)
        for f in sorted(src.iterdir())[:2 * n_lib]: shutil.copy(f, sub / f.name)
        for f in sorted(src.iterdir())[:20]: shutil.copy(f, warm / f.name)
        workers = min(os.cpu_count() or 1, 8)
        print(f'calinet reconstruct (PCM + rho fallback), {n:,} ten-second 500-Hz 12-lead WFDB records (created in {time.perf_counter() - t0:.0f} s, not timed); '
              f'{os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads (the default), load average at start {load()}')
        run_cli(warm, root / 'o_warm', 10)                                                   # imports, context, caches
        m = method_from_spec('pcm+rho')
        ts = []
        for k in range(3):
            ts.append(run_cli(src, root / f'o_batch{k}', n))
            print(f'  whole command on {n:,} records, batched, {workers} worker processes (the default), run {k + 1}: {rate(n, ts[-1])}, '
                  f'CPU {1e3 * CPU[root / f"o_batch{k}"] / n:.1f} ms/record over all processes; load average {load()}')
        t_one = run_cli(src, root / 'o_one', n, '--workers', '1')
        print(f'  whole command on {n:,} records, batched, in one process (--workers 1):             {rate(n, t_one)}, '
              f'CPU {1e3 * CPU[root / "o_one"] / n:.1f} ms/record; load average {load()}')
        t_loop = run_loop(src, root / 'o_loop', n, m)
        t_med = float(np.median(ts))
        names = [f'{i:05d}' for i in range(0, n, max(1, n // 50))]
        print(f'  per-record loop on {n:,} records (read_record, reconstruct, write, one record at a time in one process, as the command '
              f'ran before batching; {torch.get_num_threads()} torch threads): {rate(n, t_loop)}; load average {load()}')
        print(f'  batched command vs per-record loop: x{t_loop / t_med:.1f} (median of the three runs) with {workers} workers, x{t_loop / t_one:.1f} in one process; '
              f'outputs of {len(names)} records read back the same (within one 1-µV step, equal notes): '
              f'{same_outputs(root / "o_batch0", root / "o_loop", names) and same_outputs(root / "o_one", root / "o_loop", names)}')
        mem = [read_record(h) for h in sorted(src.glob('*.hea'))[:n_mem]]
        pairs = [(r.window(0, 2.), r.window(2., r.duration)) for r in mem]
        reconstruct_many(pairs[:8], method=m)
        t0 = time.perf_counter(); reconstruct_many(pairs, method=m); t_many = (time.perf_counter() - t0) / n_mem
        one = lambda p: reconstruct(*p, method=m)
        one(pairs[0]); t_c = per_record(one, pairs[:100])
        print(f'  compute only (no files), one process: reconstruct_many on {n_mem} in-memory recordings {1 / t_many:6.1f} records/s ({1e3 * t_many:.2f} ms/record); '
              f'reconstruct one at a time (100) {1 / t_c:6.1f} records/s ({1e3 * t_c:.1f} ms/record): x{t_c / t_many:.1f}')
        hs = sorted(sub.glob('*.hea'))[:n_lib]
        recs = [read_record(h) for h in hs]
        hdr = dict(method='pcm+rho', rho='0.930', rho_plus='0.910', weight='1.000', calib_s=2.0, context='bench')
        wdir = root / 'w'
        io_new = per_record(read_record, hs), per_record(lambda r: write_record(r, wdir / Path(r.source).stem, CALINET_ROLES, hdr), recs)
        with library_io():
            io_lib = per_record(read_record, hs), per_record(lambda r: write_record(r, wdir / Path(r.source).stem, CALINET_ROLES, hdr), recs)
        print(f'  per record, {n_lib} records: read_record {1e3 * io_new[0]:.1f} ms (numpy) vs {1e3 * io_lib[0]:.1f} ms (wfdb.rdrecord): x{io_lib[0] / io_new[0]:.1f}; '
              f'write_record {1e3 * io_new[1]:.1f} ms (numpy, temporary files moved into place) vs {1e3 * io_lib[1]:.1f} ms (wfdb.wrsamp): x{io_lib[1] / io_new[1]:.1f}')
        cpu = float(np.median([CPU[root / f'o_batch{k}'] for k in range(3)])) / n
        print(f'  target >= {TARGET:.0f} records/s for the whole command on 2 cores: {"met" if n / t_med >= TARGET else "NOT met"} '
              f'({n / t_med:.0f} records/s, the median of {", ".join(f"{n / t:.0f}" for t in ts)}; {workers} workers; one process {n / t_one:.0f}; '
              f'the per-record loop {n / t_loop:.0f}). The command used {1e3 * cpu:.1f} CPU-ms per record over all its processes (median run): '
              f'{workers} cores of its own would allow at most {workers / cpu:.0f} records/s; the measured rate means it got '
              f'{n / t_med * cpu:.2f} of the {os.cpu_count()} cores')
        if (RUN_E / 'best.pt').exists():
            e = method_from_spec(str(RUN_E), device='cpu')
            reconstruct_many(pairs[:8], method=e)
            t0 = time.perf_counter(); reconstruct_many(pairs[:n_mem], method=e); t_em = (time.perf_counter() - t0) / n_mem
            onee = lambda p: reconstruct(*p, method=e)
            onee(pairs[0]); t_e = per_record(onee, pairs[:n_e])
            t_ec = run_cli(sub, root / 'o_e', len(list(sub.glob('*.hea'))), '--method', str(RUN_E))
            print(f'  CaLiNet-E ({RUN_E}) on CPU, {torch.get_num_threads()} torch threads, compute only: reconstruct_many on {n_mem} recordings {1 / t_em:6.1f} records/s '
                  f'({1e3 * t_em:.1f} ms/record) vs reconstruct one at a time ({n_e}) {1 / t_e:6.1f} records/s ({1e3 * t_e:.1f} ms/record): x{t_e / t_em:.1f}; '
                  f'whole command with it on {2 * n_lib} records, {workers} workers: {2 * n_lib / t_ec:.1f} records/s')
        else: print(f'  CaLiNet-E: skipped, no trained run at {RUN_E} (make paper trains it)')
        print(f'  load average at end {load()}')
    finally: shutil.rmtree(root, ignore_errors=True)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=1000, help='records in the timed folder (default 1000)')
    ap.add_argument('--n-lib', type=int, default=100, help='records for the numpy vs wfdb-library read/write comparison (default 100)')
    a = ap.parse_args()
    main(a.n, a.n_lib)

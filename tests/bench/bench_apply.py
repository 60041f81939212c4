"""Apply benchmark: `calinet reconstruct` on a folder of 10-s 500-Hz 12-lead WFDB records (PCM + ρ fallback, the default).

Measures, in one run, on the same records:
- the whole command, `calinet.cli.main(['reconstruct', folder, '--out', out, '--plot', 'none'])`: reading, calibrating on the
  first 2 s, reconstructing the other 8 s and writing each 12-lead record, in records/s, on all `--n` records;
- the same command on the first `--n-lib` records twice: with `calinet.records`' numpy WFDB reader/writer (format 16) and with
  the `wfdb` library path it replaced (`wfdb.rdrecord` / `wfdb.wrsamp`, reached by monkeypatching `calinet.records`), so the
  speed-up is measured side by side;
- per-record `read_record` and `write_record` times, numpy vs `wfdb` library, on the same `--n-lib` records;
- compute only: `calinet.apply.reconstruct` on in-memory `Recording`s (no file I/O), records/s, with torch's default threads
  and with one thread (in-process `torch.set_num_threads(1)`; the command on `--n-lib` records too);
- CaLiNet-E on CPU (compute only) if a trained run exists at `runs/default/calinet_e_seed0`, else a note.
Creating the records (`calinet.synth_io.write_wfdb16` of `calinet.data.fixture_ecg` signals) is not timed.
Target: >= 300 records/s for the whole reconstruct command on 2 CPU cores. The command processes one record after
another in one process; figures on a shared machine are noisy (the load average is printed).
Run: `python tests/bench/bench_apply.py [--n 1000] [--n-lib 100]`, or `make bench`.
"""
import argparse, contextlib, io, os, shutil, tempfile, time, warnings
from pathlib import Path
import numpy as np
warnings.filterwarnings('ignore', category=DeprecationWarning)
import pandas as pd
import torch
import calinet.records as records
from calinet.core import LEADS
from calinet.data import fixture_ecg
from calinet.synth_io import write_wfdb16
from calinet.records import read_record, write_record, CALINET_ROLES
from calinet.apply import reconstruct, method_from_spec
from calinet.cli import main as cli_main

TARGET = 300.                                   # records/s, whole reconstruct command
RUN_E = Path('runs/default/calinet_e_seed0')

def make_records(folder:Path, n:int, chunk:int=100):
    "n ten-second 500-Hz 12-lead format-16 WFDB records in `folder` (00000.hea/.dat, ...)."
    for s in range(0, n, chunk):
        x = fixture_ecg(min(chunk, n - s), 5000, 500, seed=s)[0]
        for k, xi in enumerate(x): write_wfdb16(folder / f'{s + k:05d}', xi.T, 500, sig_names=LEADS)

def _write_wfdb_lib(rec, hea:Path, notes:list)->Path:
    "The previous `calinet.records._write_wfdb`: the same checks and file, written by `wfdb.wrsamp`."
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
    "`calinet.records` reading with `wfdb.rdrecord` and writing with `wfdb.wrsamp`, as before the numpy path."
    fast, write = records._read_fmt16, records._write_wfdb
    records._read_fmt16, records._write_wfdb = (lambda hea: None), _write_wfdb_lib
    try: yield
    finally: records._read_fmt16, records._write_wfdb = fast, write

def run_cli(src:Path, out:Path, n:int)->float:
    "Seconds for the reconstruct command on `src` (its progress bar and summary line swallowed); checks every record was written."
    shutil.rmtree(out, ignore_errors=True)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        t0 = time.perf_counter(); rc = cli_main(['reconstruct', str(src), '--out', str(out), '--plot', 'none']); t = time.perf_counter() - t0
    s = pd.read_csv(out / 'summary.csv')
    if rc != 0 or len(s) != n or (s.status != 'ok').any(): raise RuntimeError(f"reconstruct failed on {src}: rc {rc}, {(s.status != 'ok').sum()} errors: {s.error.dropna().head(3).tolist()}")
    return t

def per_record(f, items)->float:
    "Mean seconds per call of f over items."
    t0 = time.perf_counter()
    for it in items: f(it)
    return (time.perf_counter() - t0) / len(items)

def main(n=1000, n_lib=100, n_mem=100, n_e=30):
    n_lib, n_mem, n_e = min(n_lib, n), min(n_mem, n), min(n_e, n)
    root = Path(tempfile.mkdtemp(prefix='bench_apply.'))
    try:
        src, sub, warm = root / 'in', root / 'sub', root / 'warm'; src.mkdir(); sub.mkdir(); warm.mkdir()
        t0 = time.perf_counter(); make_records(src, n)
        for f in sorted(src.iterdir())[:2 * n_lib]: shutil.copy(f, sub / f.name)
        for f in sorted(src.iterdir())[:10]: shutil.copy(f, warm / f.name)
        print(f'calinet reconstruct (PCM + rho fallback), {n:,} ten-second 500-Hz 12-lead WFDB records (created in {time.perf_counter() - t0:.0f} s, not timed); '
              f'{os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads (the default), load average at start {os.getloadavg()[0]:.1f}')
        run_cli(warm, root / 'o_warm', 5)                                                    # imports, context, caches
        t_new = run_cli(sub, root / 'o_new', n_lib)
        with library_io(): t_lib = run_cli(sub, root / 'o_lib', n_lib)
        o_new, o_lib = read_record(root / 'o_new/00000.hea'), read_record(root / 'o_lib/00000.hea')
        same = np.array_equal(o_new.signal, o_lib.signal) and o_new.meta['notes'] == o_lib.meta['notes']
        print(f'  whole command on {n_lib} records: numpy WFDB I/O {n_lib / t_new:6.1f} records/s ({1e3 * t_new / n_lib:.1f} ms/record); '
              f'wfdb library I/O {n_lib / t_lib:6.1f} records/s ({1e3 * t_lib / n_lib:.1f} ms/record): x{t_lib / t_new:.1f}; outputs read back identical: {same}')
        hs = sorted(sub.glob('*.hea'))
        recs = [read_record(h) for h in hs]
        hdr = dict(method='pcm+rho', rho='0.930', rho_plus='0.910', weight='1.000', calib_s=2.0, context='bench')
        wdir = root / 'w'
        io_new = per_record(read_record, hs), per_record(lambda r: write_record(r, wdir / Path(r.source).stem, CALINET_ROLES, hdr), recs)
        with library_io():
            io_lib = per_record(read_record, hs), per_record(lambda r: write_record(r, wdir / Path(r.source).stem, CALINET_ROLES, hdr), recs)
        print(f'  per record, {n_lib} records: read_record {1e3 * io_new[0]:.1f} ms (numpy) vs {1e3 * io_lib[0]:.1f} ms (wfdb.rdrecord): x{io_lib[0] / io_new[0]:.1f}; '
              f'write_record {1e3 * io_new[1]:.1f} ms (numpy) vs {1e3 * io_lib[1]:.1f} ms (wfdb.wrsamp): x{io_lib[1] / io_new[1]:.1f}')
        m = method_from_spec('pcm+rho')
        mem = [read_record(h) for h in sorted(src.glob('*.hea'))[:n_mem]]
        one = lambda r: reconstruct(r.window(0, 2.), r.window(2., r.duration), method=m)  # what the command does per record, minus the files
        one(mem[0]); t_c = per_record(one, mem)
        print(f'  compute only (calinet.apply.reconstruct on {n_mem} in-memory recordings): {1 / t_c:6.1f} records/s ({1e3 * t_c:.1f} ms/record)')
        nt = torch.get_num_threads(); torch.set_num_threads(1)
        try: t_c1, t_new1 = per_record(one, mem), run_cli(sub, root / 'o_new1', n_lib)
        finally: torch.set_num_threads(nt)
        print(f'  the same with torch.set_num_threads(1): compute only {1 / t_c1:6.1f} records/s ({1e3 * t_c1:.1f} ms/record); '
              f'whole command on {n_lib} records {n_lib / t_new1:6.1f} records/s ({1e3 * t_new1 / n_lib:.1f} ms/record)')
        t_all = run_cli(src, root / 'o_all', n)
        print(f'  whole command on all {n:,} records (numpy WFDB I/O): {n / t_all:6.1f} records/s ({t_all:.1f} s; {1e3 * t_all / n:.1f} ms/record, '
              f'of which compute {1e3 * t_c:.1f} ms and read + write {1e3 * sum(io_new):.1f} ms)')
        print(f'  target >= {TARGET:.0f} records/s for the whole command on 2 cores: {"met" if n / t_all >= TARGET else "NOT met"} '
              f'({n / t_all:.0f} records/s; compute alone allows {1 / t_c:.0f} records/s in one process)')
        if (RUN_E / 'best.pt').exists():
            e = method_from_spec(str(RUN_E), device='cpu')
            onee = lambda r: reconstruct(r.window(0, 2.), r.window(2., r.duration), method=e)
            onee(mem[0]); t_e = per_record(onee, mem[:n_e])
            print(f'  CaLiNet-E ({RUN_E}) on CPU, compute only, {n_e} recordings, {torch.get_num_threads()} torch threads: {1 / t_e:6.1f} records/s ({1e3 * t_e:.1f} ms/record)')
        else: print(f'  CaLiNet-E: skipped, no trained run at {RUN_E} (make paper trains it)')
        print(f'  load average at end {os.getloadavg()[0]:.1f}')
    finally: shutil.rmtree(root, ignore_errors=True)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=1000, help='records in the timed folder (default 1000)')
    ap.add_argument('--n-lib', type=int, default=100, help='records for the side-by-side numpy vs wfdb-library runs (default 100)')
    a = ap.parse_args()
    main(a.n, a.n_lib)

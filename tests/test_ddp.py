"""DistributedDataParallel: `python -m calinet.train` under torchrun with 2 CPU processes (gloo) trains the same model as one process with the same global batch."""
import json, os, subprocess, sys
from pathlib import Path
import pytest, torch

ROOT = Path(__file__).resolve().parents[1]
ARGS = ['-m', 'calinet.train', '--model', 'unet_anchor', '--smoke-records', '30', '--max-val', '3', '--epochs', '2', '--episodes', '16',
        '--bs', '4', '--device', 'cpu', '--no-progress']

def _train(tmp_path, name:str, procs:int)->dict:
    "Run the training command with `procs` processes (torchrun when 2); return its printed summary line."
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    launch = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', str(procs)] if procs > 1 else [sys.executable]
    dirs = ['--cache-dir', str(tmp_path/'cache'), '--run-dir', str(tmp_path/name)]
    r = subprocess.run(launch + ARGS + dirs, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return json.loads([l for l in r.stdout.splitlines() if l.startswith('{')][-1])

def test_two_processes_train_as_one(tmp_path):
    one, two = _train(tmp_path, 'one', 1), _train(tmp_path, 'two', 2)
    assert (one['world'], two['world']) == (1, 2)
    s = json.loads((tmp_path/'two'/'summary.json').read_text())
    assert s['epochs_run'] == 2 and s['config']['bs'] == 4
    assert len((tmp_path/'two'/'curve.csv').read_text().splitlines()) == 4   # header, epochs 0-2 (written once, by rank 0)
    # the same 8 optimiser steps on the same episodes: weights equal up to the order of float32 summation
    a, b = (torch.load(tmp_path/n/'last.pt', weights_only=True)['state_dict'] for n in ('one', 'two'))
    diff = max(float((a[k] - b[k]).abs().max()) for k in a)
    print(f'max |w(2 processes) - w(1 process)| = {diff:.2e}')
    assert diff < 1e-5, f"2 processes and 1 process trained different weights (max |diff| {diff:.2e})"

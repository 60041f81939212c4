"""DistributedDataParallel: `python -m calinet.train` under torchrun with 2 CPU processes (gloo) trains one tiny epoch."""
import json, os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def test_torchrun_gloo_two_processes(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
           '-m', 'calinet.train', '--model', 'unet_anchor', '--cache-dir', str(tmp_path/'cache'), '--run-dir', str(tmp_path/'run'),
           '--smoke-records', '30', '--max-val', '3', '--epochs', '1', '--episodes', '8', '--bs', '4', '--device', 'cpu', '--no-progress']
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = json.loads([l for l in r.stdout.splitlines() if l.startswith('{')][-1])
    assert out['world'] == 2
    s = json.loads((tmp_path/'run'/'summary.json').read_text())
    assert s['epochs_run'] == 1 and s['config']['bs'] == 4
    curve = (tmp_path/'run'/'curve.csv').read_text().splitlines()
    assert len(curve) == 3   # header, epoch 0, epoch 1 (written once, by rank 0)

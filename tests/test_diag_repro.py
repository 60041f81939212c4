"""The L3 classifier trains to the same weights in two separate processes with different hash seeds (same seed, same thread count)."""
import hashlib, os, subprocess, sys
import pytest

SCRIPT = '''
import hashlib, numpy as np, torch
torch.set_num_threads(2)
from calinet.diag import DiagConfig, fit_classifier
rng = np.random.default_rng(0)
Y = (rng.random((160, 5)) < .4).astype(np.int8)
X = rng.normal(0, .3, (160, 12, 200)).astype(np.float32)
X[:, :5] += (Y[..., None] * 2. * np.sin(2 * np.pi * 10 * np.arange(200) / 100)).astype(np.float32)
groups = np.array([f'p{i // 2}' for i in range(160)])        # string ids: two records per patient
r = fit_classifier(X, Y, groups, DiagConfig(chs=(8, 16, 16), ks=9, epochs=3, bs=16, patience=3, seed=0), log=lambda *a: None)
h = hashlib.sha256()
for k, v in r['model'].state_dict().items(): h.update(k.encode()); h.update(v.numpy().tobytes())
print(h.hexdigest(), list(map(float, r['thresholds'])), r['best_epoch'], round(r['internal']['bce'], 12))
'''

def _run(hash_seed:str)->str:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    p = subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout.strip().splitlines()[-1]

def test_classifier_training_is_reproducible_across_processes():
    a, b = _run('1'), _run('2')
    assert a == b, f"weights differ between two processes:\n{a}\n{b}"

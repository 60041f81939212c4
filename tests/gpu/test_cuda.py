"""CUDA checks: the batched torch calibration, the models and the training loop on a GPU against the CPU / numpy references.

Skipped where torch sees no CUDA device (CI, the 2-core development machines); run on a GPU with
`python -m pytest -q tests/gpu` (see `tests/gpu/run_device_checks.sh`). The CPU paths are covered by the
notebooks' own tests and tests/test_calib.py; what is new on a GPU is the torch envelope (a (T, T) band-pass
matrix instead of scipy's filter), the tensor-op peak rules, the bf16 autocast and the device-resident training.
"""
import json, os, subprocess, sys
import numpy as np, pytest, torch
from calinet.core import IN_IDX
from calinet.data import fixture_ecg
from calinet.signal import Normaliser
from calinet.calib import (_toy_windows, ridge_fit, ridge_fit_torch, rho_ref, rho_torch, rho_plus_ref, rho_plus_torch,
                           calibrate_torch)
from calinet.signal import rpeak_count_torch
from calinet.perturb import perturb_calibration
from calinet.model import build_model
from calinet.train import resident, sample_episodes, Validator

# CALINET_TEST_DEVICE=cpu dry-runs this module's logic without a GPU (it then proves nothing about CUDA)
CUDA = torch.device(os.environ.get('CALINET_TEST_DEVICE', 'cuda'))
pytestmark = pytest.mark.skipif(CUDA.type == 'cuda' and not torch.cuda.is_available(), reason='needs a CUDA device')
FS = 500.

@pytest.fixture(scope='module')
def windows():
    "Toy calibration windows, clean and under four perturbation families (numpy, float64), plus a population map."
    xc, yc = _toy_windows(300, seed=3)
    sets = [(xc, yc)] + [perturb_calibration(xc, yc, f, l, FS, 'xcyc', 0, np.ones(12))
                         for f, l in (('inject_pvc', 1), ('gaussian_noise', 10), ('electrode_scale', .3), ('baseline_drift', .3))]
    x, y = (np.concatenate(a) for a in zip(*sets))
    wp, bp = ridge_fit(x.transpose(1, 0, 2).reshape(3, -1), y.transpose(1, 0, 2).reshape(12, -1))
    return x, y, wp, bp

def test_ridge_cuda_matches_numpy(windows):
    x, y, wp, bp = windows
    W, b = ridge_fit(x, y, 1., .1, wp, bp)
    Wt, bt = ridge_fit_torch(torch.tensor(x, device=CUDA), torch.tensor(y, device=CUDA), 1., .1,
                             torch.tensor(wp, device=CUDA), torch.tensor(bp, device=CUDA))
    assert Wt.device.type == CUDA.type
    np.testing.assert_allclose(Wt.cpu().numpy(), W, atol=1e-6); np.testing.assert_allclose(bt.cpu().numpy(), b, atol=1e-6)

def test_rho_cuda_matches_per_record_reference(windows):
    "ρ on the GPU (torch envelope + tensor-op peak rules) equals the numpy reference per record, R-peak counts equal."
    x, y, wp, bp = windows
    W, b = ridge_fit(x, y, 1., .1, wp, bp)
    ref = [rho_ref(x[i], y[i], W[i], b[i], FS) for i in range(len(x))]
    got = rho_torch(*(torch.tensor(a, device=CUDA) for a in (x, y, W, b)), FS, parts=True)
    n_ref = np.array([r['n_peaks'] for r in ref])
    assert (got['n_peaks'].cpu().numpy() == n_ref).all(), f"{(got['n_peaks'].cpu().numpy() != n_ref).sum()} counts differ"
    assert len(np.unique(n_ref)) > 2                                   # the windows span several heart rates
    np.testing.assert_allclose(got['rho'].cpu().numpy(), [r['rho'] for r in ref], atol=1e-5)
    rp = rho_plus_torch(*(torch.tensor(a, device=CUDA) for a in (x, y, W, b)), w_pop=wp, b_pop=bp).cpu().numpy()
    np.testing.assert_allclose(rp, [rho_plus_ref(x[i], y[i], W[i], b[i], wp, bp)['rho'] for i in range(len(x))], atol=1e-6)

def test_rpeak_count_plateaus_and_long_windows_cuda():
    "Quantised signals (equal neighbours, scipy's plateau rule) and windows up to 4096 samples: GPU count = CPU count."
    raw, _ = fixture_ecg(64, 4096, FS, seed=5)
    for T in (1000, 2500, 4096):
        x = np.round(raw[:, 1, :T] * 50) / 50                           # 20 µV steps: plateaus in the envelope too
        cpu = rpeak_count_torch(torch.tensor(x), FS).numpy()
        gpu = rpeak_count_torch(torch.tensor(x, device=CUDA), FS).cpu().numpy()
        np.testing.assert_array_equal(gpu, cpu, err_msg=f'T={T}')
        assert cpu.min() >= 2

def test_calibrate_cuda_equals_cpu(windows):
    x, y, wp, bp = windows
    for score in ('rho', 'rho_plus', 'one'):
        c = calibrate_torch(torch.tensor(x), torch.tensor(y), wp, bp, FS, score=score)
        g = calibrate_torch(torch.tensor(x, device=CUDA), torch.tensor(y, device=CUDA), wp, bp, FS, score=score)
        for k in ('W', 'b', 'rho', 'W_eff', 'b_eff'): np.testing.assert_allclose(g[k].cpu().numpy(), c[k].numpy(), atol=1e-9, err_msg=f'{score} {k}')

@pytest.fixture(scope='module')
def data():
    raw, _ = fixture_ecg(48, 5000, FS, seed=0)
    norm = Normaliser.fit(raw); z = norm.transform(raw)
    W, b = ridge_fit(z[:, IN_IDX].transpose(1, 0, 2).reshape(3, -1), z.transpose(1, 0, 2).reshape(12, -1))
    sig, lens, _ = resident(raw, norm, CUDA)
    ep = sample_episodes(sig, lens, 512, torch.Generator(device=CUDA).manual_seed(0), 1000, 1000, torch.tensor([0, 500], device=CUDA))
    return norm, torch.tensor(W, dtype=torch.float32), torch.tensor(b, dtype=torch.float32), ep

def test_untrained_models_equal_linear_maps_on_cuda_under_bf16(data):
    "Untrained CaLiNet-E with ρ ≡ 1 is PCM and U-Net with anchor is GL on the GPU, also under bf16 autocast (linear branch in float32)."
    norm, W, b, ep = data
    a = (ep['x_test'], ep['x_calib'], ep['y_calib'])
    pairs = ((build_model('calinet_e', W, b, fs=500, rho='one'), build_model('pcm', W, b, fs=500)),
             (build_model('unet_anchor', W, b), build_model('gl', W, b)))
    for m, lin in pairs:
        m, lin = m.to(CUDA).eval(), lin.to(CUDA).eval()
        for amp in (False, True):
            with torch.no_grad(), torch.autocast(CUDA.type, dtype=torch.bfloat16, enabled=amp):
                d = (m(*a) - lin(*a)).abs().max().item()
            assert d == 0, (type(m).__name__, amp, d)
    # real ρ: CE equals ρ·PCM + (1−ρ)·GL on the GPU as on the CPU
    ce = build_model('calinet_e', W, b, fs=500).to(CUDA).eval()
    with torch.no_grad():
        g, cal = ce(*a, return_aux=True)
        c = build_model('calinet_e', W, b, fs=500).eval()(*(t.cpu() for t in a))
    assert cal['rho'].device == g.device and (cal['rho'] < 1).any()
    np.testing.assert_allclose(g.cpu().numpy(), c.numpy(), atol=2e-5)

def test_validator_cuda_equals_cpu(data):
    "The fold-9 validation pass gives the same headline figures on the GPU (float32) as on the CPU."
    norm, W, b, ep = data
    tau = dict(tau_n=.41, tau_m=1.06)
    torch.manual_seed(0); m = build_model('calinet_e', W, b, fs=500)
    torch.nn.init.normal_(m.net.head.weight, std=1e-2)                  # a non-trivial residual
    cpu_ep = {k: v.cpu() for k, v in ep.items()}
    r_cpu = Validator(cpu_ep, norm, FS, tau, 'cpu')(m)
    r_gpu = Validator(ep, norm, FS, tau, CUDA)(m.to(CUDA))
    for k, v in r_cpu.items(): assert abs(r_gpu[k] - v) < 1e-4 * max(1, abs(v)), (k, v, r_gpu[k])

def test_train_cli_on_cuda_resumes(tmp_path):
    "The training CLI on the GPU with bf16: runs, writes its curve and checkpoints, and resumes to more epochs."
    base = [sys.executable, '-m', 'calinet.train', '--model', 'calinet_e', '--cache-dir', str(tmp_path / 'cache'), '--run-dir', str(tmp_path / 'run'),
            '--smoke-records', '60', '--episodes', '512', '--bs', '128', '--device', CUDA.type, '--amp', '--no-progress']
    for ep in (2, 3):
        out = subprocess.run(base + ['--epochs', str(ep)], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
    s = json.loads(out.stdout.strip().splitlines()[-1])
    epochs = [int(r.split(',')[0]) for r in (tmp_path / 'run' / 'curve.csv').read_text().strip().splitlines()[1:]]
    assert epochs == [0, 1, 2, 3], epochs                               # the untrained model, then epochs 1..3, the third after resuming
    assert np.isfinite(s['valid']['pcc_recon']) and np.isfinite(s['test']['pcc_recon'])

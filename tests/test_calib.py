"""Integration tests of calinet.calib / calinet.perturb on the data layer's smoke cohort (real cache, real episodes)."""
import numpy as np, pytest, torch
from calinet.core import IN_IDX, DERIVED_IDX, RECON_IDX
from calinet.data import open_dataset
from calinet.signal import Normaliser
from calinet.episodes import eval_episodes
from calinet.calib import (fit_population, pcm_fit, rho_ref, rho_torch, rho_plus_ref, rho_plus_torch, calibrate_torch, exact_columns,
                           ridge_fit, ridge_fit_torch)
from calinet.perturb import perturb_calibration, fit_scores, settings

@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    cache = open_dataset('', tmp_path_factory.mktemp('cache'))
    norm = Normaliser.fit(cache, split='train')
    pop = fit_population(cache, norm=norm)
    ep = eval_episodes(cache, cache.rows('all'), norm=norm)
    return cache, norm, pop, ep

def test_population_map_exact_columns(setup):
    cache, norm, pop, ep = setup
    assert pop.n_records == len(cache.rows('train')) and pop.n_samples > 0
    z = norm.transform(cache.record(cache.rows('valid')[0]))
    d = pop.apply(z[IN_IDX])[DERIVED_IDX] - z[DERIVED_IDX]
    assert np.abs(d).max() < 0.02                       # Einthoven/Goldberger up to the cohort's 1 µV quantisation
    free = fit_population(cache, norm=norm, exact=False)
    We, _, cols = exact_columns(norm)
    assert np.abs(free.W[:, cols] - We).max() < 0.05    # on a clean cohort the free fit finds the identities too
    np.testing.assert_allclose(free.W[:, RECON_IDX], pop.W[:, RECON_IDX])   # fixing columns leaves the others alone

def test_torch_ridge_and_rho_match_numpy_reference(setup):
    cache, norm, pop, ep = setup
    xc, yc = ep['x_calib'], ep['y_calib']
    W, b = pcm_fit(xc, yc, pop)
    Wt, bt = ridge_fit_torch(torch.tensor(xc), torch.tensor(yc), 1., .1, torch.tensor(pop.W), torch.tensor(pop.b))
    np.testing.assert_allclose(Wt.numpy(), W, atol=1e-6); np.testing.assert_allclose(bt.numpy(), b, atol=1e-6)
    for fam, lev in [('clean', 0), ('inject_pvc', 1), ('gaussian_noise', 5), ('electrode_scale', .3), ('detached_electrode', 1)]:
        x2, y2 = perturb_calibration(xc, yc, fam, lev, cache.fs, 'yc', 0, norm.sd + norm.eps)
        W, b = ridge_fit(x2, y2, 1., .1, pop.W, pop.b)
        ref = [rho_ref(x2[i], y2[i], W[i], b[i], cache.fs) for i in range(len(x2))]
        got = rho_torch(torch.tensor(x2), torch.tensor(y2), torch.tensor(W), torch.tensor(b), cache.fs, parts=True)
        assert (got['n_peaks'].numpy() == [r['n_peaks'] for r in ref]).all(), fam
        np.testing.assert_allclose(got['rho'].numpy(), [r['rho'] for r in ref], atol=1e-5)
        rp = rho_plus_torch(torch.tensor(x2), torch.tensor(y2), torch.tensor(W), torch.tensor(b), w_pop=pop.W, b_pop=pop.b).numpy()
        np.testing.assert_allclose(rp, [rho_plus_ref(x2[i], y2[i], W[i], b[i], pop.W, pop.b)['rho'] for i in range(len(x2))], atol=1e-6)
        cal = calibrate_torch(torch.tensor(x2), torch.tensor(y2), pop.W, pop.b, cache.fs)
        np.testing.assert_allclose(cal['rho'].numpy(), got['rho'].numpy(), atol=1e-9)

def test_fit_scores_on_training_episodes(setup):
    cache, norm, pop, ep = setup
    tr = eval_episodes(cache, cache.rows('train'), norm=norm)
    sc = fit_scores(tr, pop, cache.fs, norm.sd + norm.eps, seed=0)
    assert sc['rho_report']['n'] == len(cache.rows('train')) and sc['rho_plus'].fitted
    x, y = torch.tensor(ep['x_calib']), torch.tensor(ep['y_calib'])
    for score, p in (('rho', sc['rho']), ('rho_plus', sc['rho_plus'])):
        r = calibrate_torch(x, y, pop.W, pop.b, cache.fs, score=score, params=p)['rho'].numpy()
        assert np.isfinite(r).all() and ((r >= 0) & (r <= 1)).all()

"""Learning curves that chose the default profile's CPU recipe: each deep model at the reduced (narrow) sizes, trained
on the embedded synthetic cohort with the CPU recipe's batch and epoch length, no early stopping, selection on the first
`--select-val` fold-9 records (fold 10 is never read). Prints one line per epoch and a summary per model; run from the
repository root after `make data`:  python tests/bench/learning_curves.py --models calinet_e unet_anchor --epochs 16
"""
import argparse, json, time
from pathlib import Path
import torch
from calinet.train import prepare_data, recipe_config, train_run, load_tau, plateau

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--models', nargs='+', default=['calinet_e', 'unet_anchor', 'unet', 'transformer'])
ap.add_argument('--epochs', type=int, default=16)
ap.add_argument('--episodes', type=int, default=2048, help='episodes per epoch')
ap.add_argument('--select-val', type=int, default=256)
ap.add_argument('--sizes', default='narrow', help="'narrow' (the cpu recipe's) or 'reference'")
ap.add_argument('--threads', type=int, default=0)
ap.add_argument('--out', default='runs/learning_curves')
a = ap.parse_args()
if a.threads: torch.set_num_threads(a.threads)
data = prepare_data('data/synth/ptbxl', 'data/cache', 'cpu', max_val=a.select_val)   # folds 9 (selection) only matter here
tau = load_tau('paper/numbers/tau_anchor.json')
rho = json.loads(Path('paper/numbers/rho_params.json').read_text())['values']
for m in a.models:
    cfg, _ = recipe_config('cpu' if a.sizes == 'narrow' else 'reference', m, epochs=a.epochs, episodes_per_epoch=a.episodes, patience=10**6, eval_bs=128)
    if a.sizes == 'reference': cfg.amp = False
    run = Path(a.out)/f'{m}_{a.sizes}'
    t0 = time.time()
    s = train_run(data, cfg, run, rho_params=rho if m == 'calinet_e' else None, tau=tau, select_val=a.select_val, resume=False, progress=False)
    c = __import__('pandas').read_csv(run/'curve.csv')
    print(f"== {m} ({a.sizes}, {s['n_params']:,} parameters): best fold-9 score {c.val_score.max():.4f} at epoch {int(c.val_score.idxmax())}, "
          f"epoch 0 {c.val_score[0]:.4f}; {c.episodes_per_s.iloc[1:].mean():.1f} episodes/s; {time.time()-t0:.0f} s; plateau {s['plateau']}", flush=True)
    for q in (0.25, 0.5, 0.75, 1.0):   # when would the plateau rule have said 'reached'?
        k = max(1, round(q * a.epochs)); print(f"   after {k} epochs: {plateau(c.val_score[:k + 1])}")

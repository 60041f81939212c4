"""A method of the user's own, named in a notebook parameter, is evaluated by a report notebook beside the built-in ones."""
from pathlib import Path
import pandas as pd
import papermill as pm

EXP = Path(__file__).parents[1]/'nbs'/'experiments'


def test_user_method_in_table1(tmp_path, monkeypatch):
    # a user's module: the population map under another name, so every number it gets must equal GL's
    (tmp_path/'my_methods.py').write_text("from calinet.apply import GL\nclass MyGL(GL):\n    name = 'my GL'\n")
    monkeypatch.setenv('PYTHONPATH', str(tmp_path))
    out = tmp_path/'paper'
    pm.execute_notebook(str(EXP/'tab1_linear.ipynb'), str(tmp_path/'run.ipynb'), cwd=str(EXP), progress_bar=False,
                        parameters=dict(out_dir=str(out), cache_dir=str(tmp_path/'cache'), n_boot=50, extra_methods='my_methods:MyGL'))
    long = pd.read_csv(out/'tables'/'tab1_linear_long.csv')
    mine, gl = (long[long.method == k].set_index(['split', 'metric'])[['mean', 'sd', 'n']] for k in ('my GL', 'GL'))
    assert len(mine) == len(gl) > 0
    pd.testing.assert_frame_equal(mine, gl)
    wide = pd.read_csv(out/'tables'/'tab1_linear.csv')
    assert (wide.method == 'my GL').sum() == 2                               # fold 9 and fold 10 rows beside GL, PCM, TR
    pairs = pd.read_csv(out/'tables'/'tab1_linear_paired.csv').set_index(['split', 'comparison', 'metric'])
    d_mine = pairs.loc[('test', 'my GL − PCM', 'pcc_recon'), 'delta']
    d_pcm = pairs.loc[('test', 'PCM − GL', 'pcc_recon'), 'delta']
    assert abs(d_mine + d_pcm) < 1e-12

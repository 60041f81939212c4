"""The pipeline under Snakemake: what a change reruns, the SLURM profile's jobs, and a toy profile run end to end.

Every test works in a copy of the files the workflow reads (library, Snakefile, profiles, notebooks, parameters), so the
checkout's own paper/runs/ and .snakemake/ are never touched. Only the toy profile executes notebooks (three tiny ones)."""
import itertools, json, os, re, shutil, subprocess, sys
from pathlib import Path
import pytest, yaml

ROOT = Path(__file__).resolve().parents[1]
COPY = ['calinet', 'workflow', 'profiles', 'nbs/experiments', 'paper/params']

def sh(tree, *args, check=True):
    "Run a command in `tree`; the completed process."
    env = dict(os.environ, MPLBACKEND='Agg', PYTHONWARNINGS='ignore::DeprecationWarning')
    r = subprocess.run([str(a) for a in args], cwd=tree, capture_output=True, text=True, env=env)
    if check: assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r

def snake(tree, *args): return sh(tree, sys.executable, '-m', 'snakemake', '--cores', '2', *args)

def planned(out:str)->dict:
    "Dry-run output -> {run name: reason} of every job it lists (the `all` target left out)."
    jobs, name = {}, None
    for line in out.splitlines():
        m = re.match(r'\s+output: \S+/\.done/(\S+)\.json$', line)
        if m: name = m[1]
        m = re.match(r'\s+reason: (.*)$', line)
        if m and name: jobs[name], name = m[1], None
    return jobs

def edit(f:Path):
    "Change a file's content (a trailing newline): Snakemake compares checksums, so a bare `touch` would not count."
    f.write_text(f.read_text() + '\n')

@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    "A copy of the workflow's inputs with every smoke step marked done (`--touch`), nothing executed."
    t = tmp_path_factory.mktemp('tree')
    for p in COPY: shutil.copytree(ROOT/p, t/p, ignore=shutil.ignore_patterns('__pycache__', '_smoke', '.ipynb_checkpoints'))
    sh(t, sys.executable, '-m', 'calinet.pipeline', '--profile', 'smoke', '--touch')
    return t

@pytest.fixture
def restore(tree):
    "Put back every file a test edited, then mark the smoke steps done again."
    saved = {}
    yield lambda f: saved.setdefault(f, f.read_bytes()) and edit(f)
    for f, b in saved.items(): f.write_bytes(b)
    sh(tree, sys.executable, '-m', 'calinet.pipeline', '--profile', 'smoke', '--touch')

def dry(tree, profile='smoke'): return planned(snake(tree, '-n', '--config', f'profile={profile}').stdout)

def test_nothing_changed_nothing_to_do(tree):
    r = snake(tree, '-n', '--config', 'profile=smoke')
    assert planned(r.stdout) == {} and 'Nothing to be done' in r.stdout + r.stderr

def test_edited_report_notebook_reruns_it_and_the_manuscript(tree, restore):
    restore(tree/'nbs/experiments/fig_deep.ipynb')
    jobs = dry(tree)
    assert sorted(jobs) == ['fig_deep', 'manuscript'], jobs
    assert 'fig_deep.ipynb' in jobs['fig_deep'] and 'fig_deep.json' in jobs['manuscript']

def test_edited_params_rerun_that_notebooks_steps_and_dependants(tree, restore):
    restore(tree/'paper/params/smoke/train.yaml')
    jobs = dry(tree)
    trains = {j for j in jobs if j.startswith('train__')}
    assert len(trains) == 7 and set(jobs) - trains == {'tab_deep', 'tab_ood', 'cross_source', 'tab_diagnostic', 'fig_deep', 'manuscript'}, jobs

@pytest.mark.parametrize('module, direct', [
    ('diag', {'train_diag', 'tab_diagnostic'}),   # imported by two notebooks: they and the manuscript rerun, nothing else
    ('synth/realism', {'synth_realism'}),   # a subpackage module imported by one notebook (the generator's other modules reach every
                                                 # notebook through calinet.data, which writes the smoke cohort with calinet.synth.cohort)
])
def test_edited_module_reruns_the_notebooks_importing_it(tree, restore, module, direct):
    restore(tree/f'calinet/{module}.py')
    jobs = dry(tree)
    assert direct <= set(jobs), jobs
    assert {j for j, why in jobs.items() if why.startswith('Updated input files')} <= direct, jobs   # Snakemake names one reason per job
    for j in set(jobs) - direct: assert jobs[j].startswith('Input files updated by another job'), (j, jobs[j])   # the rest: dependants
    assert set(jobs) == direct | {'manuscript'}, jobs

def train_runs(profile:str)->set:
    "Run names of the training grid of `profile`, read from its pipeline.yaml alone."
    out = set()
    for s in yaml.safe_load((ROOT/'paper/params'/profile/'pipeline.yaml').read_text())['steps']:
        if not isinstance(s, dict) or s['notebook'] != 'train': continue
        g = s['grid']
        for combo in itertools.product(*g.values()): out.add('train' + ''.join(f'__{k}-{v}' for k, v in zip(g, combo)))
    return out

@pytest.mark.parametrize('profile', ['ptbxl', 'default'])
def test_slurm_profile_one_job_per_model_and_seed(tree, profile):
    cfg = yaml.safe_load((ROOT/'profiles/slurm/config.yaml').read_text())
    assert cfg['executor'] == 'slurm' and cfg['set-resources']['train']['gpu'] == 1 and cfg['config']['profile'] == 'ptbxl'
    r = snake(tree, '-n', '--profile', 'profiles/slurm', '--config', f'profile={profile}')   # a dry run submits nothing: no sbatch needed
    jobs = planned(r.stdout)
    assert {j for j in jobs if j.startswith('train__')} == train_runs(profile)
    assert len(re.findall(r'^rule train:', r.stdout, re.M)) == len(train_runs(profile)) == {'ptbxl': 20, 'default': 12}[profile]
    assert 'gpu=1' in r.stdout.split('rule train:')[1].split('rule ')[0]

def mknb(src:str)->str:
    "A notebook with a parameters cell (x, profile, out_dir) and `src`."
    cells = [dict(cell_type='code', metadata=dict(tags=['parameters']), source='x = 0\nprofile = ""\nout_dir = ""', outputs=[], execution_count=None),
             dict(cell_type='code', metadata={}, source=src, outputs=[], execution_count=None)]
    return json.dumps(dict(cells=cells, metadata=dict(kernelspec=dict(name='python3', display_name='python3', language='python')), nbformat=4, nbformat_minor=4))

def test_toy_profile_end_to_end(tree):
    "Progress and notices, a failure that names the step and keeps the rest, a fixed rerun of just that step, then nothing to do."
    toy = tree/'toy'
    (toy/'nbs').mkdir(parents=True); (toy/'params/t').mkdir(parents=True); (toy/'out').mkdir()
    (toy/'nbs/ok.ipynb').write_text(mknb('import os\nfrom pathlib import Path\nPath(out_dir, f"x{x}.txt").write_text(os.environ["OMP_NUM_THREADS"])\n'
                                         'open(os.environ["CALINET_NOTICES"], "a").write(f"x is {x}\\n")'))
    (toy/'nbs/bad.ipynb').write_text(mknb('assert x != 2, "x must not be 2"'))
    (toy/'params/t/pipeline.yaml').write_text('steps:\n- notebook: ok\n  grid: {x: [1]}\n- notebook: bad\n  grid: {x: [2]}\n  needs: [ok]\n')
    run = lambda: sh(tree, sys.executable, '-m', 'calinet.pipeline', '--profile', 't', '--params-dir', 'toy/params', '--nbs-dir', 'toy/nbs',
                     '--runs-dir', 'toy/runs', '--out', 'toy/out', '--jobs', '2', check=False)
    r = run()
    assert r.returncode != 0
    assert r.stdout.splitlines()[:3] == ['[1/2] ok x=1', r.stdout.splitlines()[1], '      note: x is 1'] and 'done in' in r.stdout.splitlines()[1]
    assert re.search(r"FAILED at step 2/2: bad x=2\n  parameters: \{'x': 2\}\n  executed notebook: \S+bad__x-2.ipynb", r.stderr), r.stderr
    assert 'x must not be 2' in r.stderr and 'Building DAG' not in r.stderr and 'RuleException' not in r.stderr
    assert (toy/'runs/t/bad__x-2.ipynb').exists() and (toy/'runs/t/.done/ok__x-1.json').exists() and not (toy/'runs/t/.done/bad__x-2.json').exists()
    assert (toy/'out/x1.txt').read_text() == '2'                      # a non-training step gets every core given
    (toy/'nbs/bad.ipynb').write_text(mknb('pass'))
    r = run()
    assert r.returncode == 0 and r.stdout.splitlines()[0] == '[2/2] bad x=2' and 'ok x=1' not in r.stdout, r.stdout + r.stderr
    log = json.loads((toy/'runs/t/pipeline_log.json').read_text())
    assert sorted(log['steps']) == ['bad x=2', 'ok x=1'] and log['steps_n'] == 2
    assert json.loads((toy/'runs/t/.done/bad__x-2.json').read_text())['params'] == {'x': 2}
    r = run()
    assert r.returncode == 0 and r.stdout.strip() == "pipeline 't': nothing to be done, every step is up to date; outputs under toy/out/", r.stdout

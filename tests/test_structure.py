"""Structural checks of the notebook-first layout: parameter cells, profiles, kernels, exports, ignore rules."""
import ast, json, re, subprocess
from configparser import ConfigParser
from pathlib import Path
import pytest, yaml

ROOT = Path(__file__).resolve().parents[1]
EXP = sorted((ROOT/'nbs/experiments').glob('*.ipynb'))
LIB = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if p.name != 'index.ipynb')
PROFILES = sorted(p for p in (ROOT/'paper/params').iterdir() if p.is_dir())

def cells(nb): return json.loads(nb.read_text())['cells']
def src(c): return ''.join(c['source']) if isinstance(c['source'], list) else c['source']

def param_cell(nb):
    tagged = [c for c in cells(nb) if 'parameters' in c.get('metadata', {}).get('tags', [])]
    assert len(tagged) == 1, f"{nb.name}: expected exactly one cell tagged 'parameters', found {len(tagged)}"
    return src(tagged[0])

def declared_params(nb):
    "Names declared in the parameters cell, checking each is typed, commented and a literal."
    out = {}
    for line in param_cell(nb).splitlines():
        if not line.strip() or line.lstrip().startswith('#'): continue
        m = re.match(r'^(\w+)\s*:\s*([^=]+?)\s*=\s*(.+?)\s*#\s*\S', line)
        assert m, f"{nb.name}: parameter line must be `name: type = literal  # comment`: {line!r}"
        ast.literal_eval(m.group(3))  # no derived values in the parameters cell
        out[m.group(1)] = m.group(2)
    return out

def test_settings_keep_tags():
    ini = ConfigParser(delimiters=['=']); ini.read(ROOT/'settings.ini')
    assert 'tags' in ini['DEFAULT']['allowed_cell_metadata_keys'].split()
    assert ini['DEFAULT']['clear_all'] == 'False'

@pytest.mark.parametrize('nb', EXP + LIB + [ROOT/'nbs/index.ipynb'], ids=lambda p: p.name)
def test_kernel_is_python3(nb):
    assert json.loads(nb.read_text())['metadata']['kernelspec']['name'] == 'python3'

@pytest.mark.parametrize('nb', EXP, ids=lambda p: p.name)
def test_experiment_parameters(nb):
    ps = declared_params(nb)
    for need in ('profile', 'out_dir', 'seed'): assert need in ps, f"{nb.name}: parameter {need!r} missing"
    body = '\n'.join(src(c) for c in cells(nb) if c['cell_type'] == 'code')
    assert '#| export' not in body and 'default_exp' not in body, f"{nb.name}: experiment notebooks export nothing"

@pytest.mark.parametrize('nb', EXP, ids=lambda p: p.name)
def test_papermill_reads_every_parameter(nb):
    "papermill reads every declared parameter with its type and comment, so `papermill --help-notebook` lists them all."
    import nbformat
    from papermill.translators import PythonTranslator
    cell = [c for c in nbformat.read(nb, as_version=4).cells if 'parameters' in c.metadata.get('tags', [])][0]
    got = PythonTranslator.inspect(cell)
    assert [g.name for g in got] == list(declared_params(nb)), f"{nb.name}: papermill reads {[g.name for g in got]}"
    assert all(g.help for g in got), f"{nb.name}: papermill finds no comment for {[g.name for g in got if not g.help]}"

@pytest.mark.parametrize('nb', EXP, ids=lambda p: p.name)
def test_experiment_defaults_are_smoke(nb):
    "The notebook's own defaults are the smoke run, so nbdev_test can never overwrite paper outputs."
    p = param_cell(nb)
    assert re.search(r"^profile\s*:\s*str\s*=\s*'smoke'", p, re.M), f"{nb.name}: default profile must be 'smoke'"
    assert re.search(r"^out_dir\s*:\s*str\s*=\s*'[^']*_smoke[^']*'", p, re.M), f"{nb.name}: default out_dir must be under paper/_smoke"

@pytest.mark.parametrize('nb', LIB, ids=lambda p: p.name)
def test_library_notebook_numbered_and_exports_one_module(nb):
    assert re.match(r'^\d\d[a-z]?_\w+\.ipynb$', nb.name), f"{nb.name}: library notebooks are numbered like 03a_name"
    exp = [l for c in cells(nb) for l in src(c).splitlines() if l.startswith('#| default_exp')]
    assert len(exp) == 1, f"{nb.name}: exactly one default_exp"
    mod = exp[0].split()[-1].replace('.', '/')
    assert (ROOT/'calinet'/f'{mod}.py').exists(), f"{nb.name}: calinet/{mod}.py not exported"

@pytest.mark.parametrize('prof', PROFILES, ids=lambda p: p.name)
def test_profile_files_match_notebook_parameters(prof):
    "papermill silently injects unknown names; a typo in a params file would be ignored, so catch it here."
    steps = yaml.safe_load((prof/'pipeline.yaml').read_text())['steps']
    names = [s if isinstance(s, str) else s['notebook'] for s in steps]
    grids = {(s if isinstance(s, str) else s['notebook']): (s.get('grid') or {}) if isinstance(s, dict) else {} for s in steps}
    for n in names: assert (ROOT/'nbs/experiments'/f'{n}.ipynb').exists(), f"{prof.name}/pipeline.yaml: no notebook {n}"
    for f in prof.glob('*.yaml'):
        if f.name == 'pipeline.yaml': continue
        assert f.stem in names, f"{prof.name}/{f.name}: no pipeline step runs notebook {f.stem}"
        declared = declared_params(ROOT/'nbs/experiments'/f'{f.stem}.ipynb')
        unknown = set(yaml.safe_load(f.read_text()) or {}) - set(declared)
        assert not unknown, f"{prof.name}/{f.name}: {sorted(unknown)} are not parameters of {f.stem}.ipynb"
    for n, g in grids.items():
        unknown = set(g) - set(declared_params(ROOT/'nbs/experiments'/f'{n}.ipynb'))
        assert not unknown, f"{prof.name}/pipeline.yaml: grid keys {sorted(unknown)} are not parameters of {n}.ipynb"

def test_every_experiment_runs_in_smoke_and_default():
    for prof in ('smoke', 'default'):
        steps = yaml.safe_load((ROOT/'paper/params'/prof/'pipeline.yaml').read_text())['steps']
        names = {s if isinstance(s, str) else s['notebook'] for s in steps}
        missing = {p.stem for p in EXP} - names
        assert not missing, f"profile {prof}: experiment notebooks not in the pipeline: {sorted(missing)}"

def test_library_sources_not_ignored():
    "The reference lost its whole data package to a bare `data/` ignore rule; make sure ours cannot."
    files = [str(p.relative_to(ROOT)) for p in (ROOT/'calinet').rglob('*.py')]
    r = subprocess.run(['git', 'check-ignore', *files], cwd=ROOT, capture_output=True, text=True)
    assert r.stdout.strip() == '', f"ignored library files: {r.stdout}"

@pytest.mark.parametrize('prof', PROFILES, ids=lambda p: p.name)
def test_pipeline_needs_and_writes(prof):
    "`needs` names steps of the profile; `writes` are numbers/ files; the pipeline's own reading of the profile accepts it."
    from calinet.pipeline import plan
    steps = yaml.safe_load((prof/'pipeline.yaml').read_text())['steps']
    names = {s if isinstance(s, str) else s['notebook'] for s in steps}
    for s in (s for s in steps if isinstance(s, dict)):
        needs = [s['needs']] if isinstance(s.get('needs'), str) else s.get('needs') or []
        assert set(needs) <= names | {'all'}, f"{prof.name}/pipeline.yaml: {s['notebook']} needs {sorted(set(needs) - names)}, not steps here"
        for w in s.get('writes') or []: assert re.fullmatch(r'numbers/\w+\.json', w), f"{prof.name}/pipeline.yaml: {s['notebook']} writes {w!r}"
    plan(prof.name, ROOT/'paper/params', ROOT/'nbs/experiments')

def saved_numbers(nb):
    "Stems of the numbers files a notebook saves (`save_numbers(..., 'name')`)."
    body = '\n'.join(src(c) for c in cells(nb) if c['cell_type'] == 'code')
    return set(re.findall(r"save_numbers\([^\n]*?,\s*f?'(\w+)(?:\{\w+\})?'\)", body))

@pytest.mark.parametrize('prof', PROFILES, ids=lambda p: p.name)
def test_numbers_files_come_from_needed_steps(prof):
    "Every numbers/*.json a step's parameters name is written by a step it depends on, and that step's notebook saves it."
    from calinet.pipeline import dag, default_out, plan, run_name
    root = ROOT/'paper/params'
    jobs = dag(prof.name, str(ROOT/default_out(prof.name)), root, ROOT/'nbs/experiments', ROOT/'calinet')
    steps = {run_name(s): s for s in plan(prof.name, root, ROOT/'nbs/experiments')}
    for name, j in jobs.items():
        for v in (v for v in j['params'].values() if isinstance(v, str)):
            for f in re.findall(r'numbers/([\w{}]+)\.json', v):
                makers = {n for n, s in steps.items() if any(re.fullmatch(f.replace('{rho}', r'\w+'), Path(w).stem) for w in s.writes)}
                assert makers, f"{prof.name}: {name} reads numbers/{f}.json, which no step declares in `writes`"
                assert makers <= set(j['needs']), f"{prof.name}: {name} reads numbers/{f}.json but does not depend on {sorted(makers - set(j['needs']))}"
    for s in steps.values():
        for w in s.writes: assert Path(w).stem in saved_numbers(ROOT/'nbs/experiments'/f'{s.notebook}.ipynb'), f"{s.notebook} never saves {w}"
    last = list(jobs)[-1]
    assert last == 'manuscript' and set(jobs[last]['needs']) == set(jobs) - {last}, "the manuscript depends on every other step"

def test_train_notebook_knobs_are_trainconfig_fields():
    "The train notebook's training knobs (overrides of the recipe, -1 = the recipe's) are `TrainConfig` fields with `TrainConfig`'s types."
    from dataclasses import fields
    from calinet.train import TrainConfig
    types = {f.name: f.type for f in fields(TrainConfig)}
    knobs = {k: t for k, t in declared_params(ROOT/'nbs/experiments/train.ipynb').items() if k in types}
    assert {'model', 'seed', 'epochs', 'episodes_per_epoch', 'bs', 'micro_bs', 'patience', 'eval_bs', 'amp', 'compile'} <= set(knobs), sorted(knobs)
    wrong = {k: (t, types[k]) for k, t in knobs.items() if t != types[k]}
    assert not wrong, f"train.ipynb parameters typed unlike their TrainConfig fields: {wrong}"

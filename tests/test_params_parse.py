"Every parameter of every experiment notebook is one that papermill can read (name, type, default and help), so `papermill --help-notebook` lists them all."
from pathlib import Path
import nbformat
from papermill.translators import PythonTranslator

ROOT = Path(__file__).resolve().parents[1]

def test_every_parameter_line_parses():
    for p in sorted((ROOT/'nbs/experiments').glob('*.ipynb')):
        nb = nbformat.read(p, as_version=4)
        cells = [c for c in nb.cells if 'parameters' in c.metadata.get('tags', [])]
        assert len(cells) == 1, f"{p.name}: {len(cells)} cells tagged 'parameters'"
        lines = [l for l in cells[0].source.splitlines() if l.strip() and not l.lstrip().startswith('#')]
        names = [l.split(':')[0].split('=')[0].strip() for l in lines]
        got = PythonTranslator.inspect(cells[0])
        assert [g.name for g in got] == names, f"{p.name}: papermill reads {[g.name for g in got]}, the cell declares {names}"
        untyped = [g.name for g in got if g.inferred_type_name in ('None', None)]
        assert not untyped, f"{p.name}: parameters without a type annotation: {untyped}"
        bare = [g.name for g in got if not g.help]
        assert not bare, f"{p.name}: parameters without a comment: {bare}"

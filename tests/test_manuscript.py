"""The manuscript agrees with the files it quotes: re-rendered from the committed paper/ it must equal paper/calinet.md, .tex and the README block."""
import json, re
from pathlib import Path
import pytest
from calinet.manuscript import (assemble, profile_steps, ci_words, template_digits, TEMPLATE, SUBTEMPLATES, README_TEMPLATE,
                                read_numbers, replace_block)

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT/'paper'
pytestmark = pytest.mark.skipif(not (PAPER/'calinet.md').exists(), reason='no committed manuscript')

@pytest.fixture(scope='module')
def doc():
    prof = json.loads((PAPER/'calinet.provenance.json').read_text())['profile']
    return assemble(PAPER, prof, profile_steps(PAPER/'params'/prof/'pipeline.yaml'))

def test_markdown_matches_files(doc):
    "Fails when any number of paper/calinet.md disagrees with the numbers/ and tables/ files."
    assert doc['md'] == (PAPER/'calinet.md').read_text()

def test_latex_and_derived_numbers_match(doc):
    assert doc['tex'] == (PAPER/'calinet.tex').read_text()
    assert read_numbers(PAPER, 'manuscript') == pytest.approx(doc['derived'])
    assert json.loads((PAPER/'calinet.sources.json').read_text()) == doc['sources']

def test_readme_block_matches(doc):
    s = (ROOT/'README.md').read_text()
    assert replace_block(s, doc['readme']) == s, 'README results block differs from the files; rerun the manuscript step'

def test_sources_point_at_files(doc):
    for q in doc['sources']:
        if q['file'].startswith('reference:'): continue
        assert (PAPER/q['file']).exists(), q

def test_tex_inputs_and_macros_exist():
    tex = (PAPER/'calinet.tex').read_text()
    inputs = re.findall(r'\\input\{([^}]*)\}', tex)
    graphics = re.findall(r'\\includegraphics(?:\[[^\]]*\])?\{([^}]*)\}', tex)
    assert inputs and graphics
    for f in inputs + graphics: assert (PAPER/f).exists(), f
    defined = set()
    for f in inputs:
        if f.startswith('numbers/'): defined |= set(re.findall(r'\\newcommand\{\\(\w+)\}', (PAPER/f).read_text()))
    used = set(re.findall(r'\\(cn[A-Z]\w*)\{\}', tex))
    assert used and not used - defined, sorted(used - defined)

def test_template_has_no_typed_numbers():
    for _, t in TEMPLATE: assert template_digits(t) == [], template_digits(t)
    for _, t in SUBTEMPLATES.values(): assert template_digits(t) == []
    assert template_digits(README_TEMPLATE) == []
    assert template_digits('gain {{n|a|b}} of 0.016') == ['0.016']

@pytest.mark.parametrize('args, words', [
    (('PCM', 'GL', 0.07517, 0.06321, 0.08896, 494, 'pcc_recon', 'fold 10'), 'PCM is higher than GL by 0.075 [0.063, 0.089] (n = 494, fold 10)'),
    (('CaLiNet-E', 'PCM', -0.0335, -0.0362, -0.0306, 494, 'nrmse_recon', 'fold 10'), 'CaLiNet-E is lower than PCM by 0.034 [0.031, 0.036] (n = 494, fold 10)'),
    (('PCM', 'GL', 0.00506, -0.01352, 0.02202, 420, 'macro_f1', 'fold 10'), 'no measurable difference between PCM and GL (0.005 [-0.014, 0.022], n = 420, fold 10)'),
])
def test_ci_words(args, words): assert ci_words(*args) == words

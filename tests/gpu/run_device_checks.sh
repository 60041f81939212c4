#!/usr/bin/env bash
# The GPU checks as one script for a lent CUDA machine (run from the repository root).
# The machine's python3 must hold torch with CUDA, numpy, scipy, pandas, matplotlib, pyyaml and tqdm; calinet
# itself is used from the checkout (PYTHONPATH). Logs go to $OUT (default tests/gpu/logs/<commit>-<UTC time>), each
# starting with the commit and the time, so that tests/gpu/RESULTS.md can quote only figures whose log is kept.
# COMMIT names the commit where the checkout has no .git (a copied working tree).
set -o pipefail
COMMIT=${COMMIT:-$(git rev-parse --short=10 HEAD 2>/dev/null || echo unknown)}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-tests/gpu/logs/$COMMIT-$STAMP}; mkdir -p "$OUT"
echo "commit $COMMIT, started $STAMP" | tee "$OUT/run.txt"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 MPLBACKEND=Agg
# packages the machine lacks (wfdb and its soundfile/cffi) may travel as wheels in .whl/
if [ -d .whl ]; then python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=$PWD:/tmp/site PATH=/tmp/site/bin:$PATH || exit 1; fi
nvidia-smi -L | tee -a "$OUT/run.txt"
python3 -c "import torch, numpy, scipy, pandas; print('torch', torch.__version__, 'cuda', torch.version.cuda, '| numpy', numpy.__version__, '| scipy', scipy.__version__, '| pandas', pandas.__version__)" | tee -a "$OUT/run.txt"
log_head() { echo "# commit $COMMIT, $(date -u +%Y-%m-%dT%H:%M:%SZ)"; }
rc=0
echo "== bench_train (GPU configuration, with the torch.compile comparison)"; log_head > "$OUT/bench_train.log"
timeout ${BENCH_S:-200} python3 tests/bench/bench_train.py 2>&1 | tee -a "$OUT/bench_train.log" || rc=1
echo "== CUDA tests"; log_head > "$OUT/pytest_gpu.log"
timeout ${TEST_S:-170} python3 -m pytest -q -x -p no:cacheprovider tests/gpu 2>&1 | tee -a "$OUT/pytest_gpu.log" || rc=1
if command -v nbdev_test >/dev/null; then   # the notebooks' own `#| cuda` cells (with every untagged cell before them)
  log_head > "$OUT/nbdev_cuda.log"
  for nb in nbs/10_model.ipynb nbs/11_train.ipynb; do
    echo "== nbdev_test --flags cuda $nb"; timeout ${NB_S:-120} nbdev_test --flags cuda --path $nb 2>&1 | tee -a "$OUT/nbdev_cuda.log" || rc=1
  done
else echo "nbdev_test not installed: the notebooks' #| cuda cells were not run"; fi
exit $rc

#!/usr/bin/env bash
# Bare-install check: build the wheel, install it into a fresh venv that holds only torch==2.13.0 and the
# library's declared dependencies, check that nothing undeclared is needed, and run every python block of README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/spatialstats-bare.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
CONSTRAINTS=requirements/constraints.txt

"$PYTHON" -m venv "$WORK/venv"
BIN="$WORK/venv/bin"
"$BIN/python" -m pip install --quiet -c "$CONSTRAINTS" "torch==2.13.0"
"$BIN/python" -m pip wheel --quiet --no-deps -c "$CONSTRAINTS" --wheel-dir "$WORK/dist" .
"$BIN/python" -m pip install --quiet -c "$CONSTRAINTS" "$WORK"/dist/spatialstats-*.whl
"$BIN/python" -m pip list --format=freeze > "$WORK/installed.txt"
if grep -i -E '^(tqdm|h5py|matplotlib|optuna|scipy|pymks)==' "$WORK/installed.txt"; then
    echo "error: the bare venv holds an optional package (above); the check would not be bare" >&2
    exit 1
fi
# Run outside the source tree, so that `import spatialstats` can only find the installed wheel.
cd "$WORK"
"$BIN/python" -c 'import spatialstats, sys; assert "site-packages" in spatialstats.__file__, spatialstats.__file__; print("imported", spatialstats.__file__)'
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} "$BIN/python" "$OLDPWD/.ci/run_readme_blocks.py" "$OLDPWD/README.md"
echo "bare install: ok"
# The blocks tagged ```python extras=...: with the optional extras they name installed on top.
"$BIN/python" -m pip install --quiet -c "$OLDPWD/$CONSTRAINTS" "$(ls "$WORK"/dist/spatialstats-*.whl)[sklearn,dask]"
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} "$BIN/python" "$OLDPWD/.ci/run_readme_blocks.py" "$OLDPWD/README.md" --extras
echo "install with extras: ok"

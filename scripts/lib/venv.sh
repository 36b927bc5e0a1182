# Shared by scripts/test and scripts/serve (sourced, run from the repository's top):
# the project's virtualenv in ./.venv and the editable install of bai into it.
#
# Both scripts keep one stamp per install kind, so neither reinstalls after the other:
#   .venv/.bai-installed       bai and its runtime dependencies (what scripts/serve needs)
#   .venv/.bai-test-installed  the same plus the test extras (what scripts/test needs)
# A stamp older than pyproject.toml means the dependencies may have changed: install again.
#
# The Python version is checked before a virtualenv is made, and a .venv whose python is
# missing, broken or too old is made again rather than left for the next run to trip on.

BAI_PY_MIN="3.11"
BAI_PROG="${BAI_PROG:-$(basename "$0")}"

bai_say() { echo "$BAI_PROG: $*" >&2; }

# Exit status 0 when "$1" runs and is Python >= BAI_PY_MIN.
bai_python_ok() {
  "$1" -c "import sys; sys.exit(sys.version_info < tuple(map(int, '$BAI_PY_MIN'.split('.'))))" \
    >/dev/null 2>&1
}

# Print the interpreter to build .venv with: $PYTHON if set, else python3, else the newest
# python3.X on PATH that is recent enough. Fails with a message naming what was found.
bai_pick_python() {
  local cand
  if [ -n "${PYTHON:-}" ]; then
    if bai_python_ok "$PYTHON"; then echo "$PYTHON"; return 0; fi
    bai_say "PYTHON=$PYTHON is not Python >= $BAI_PY_MIN ($(bai_python_version "$PYTHON"))"
    return 1
  fi
  for cand in python3 python3.14 python3.13 python3.12 python3.11; do
    if command -v "$cand" >/dev/null 2>&1 && bai_python_ok "$cand"; then
      command -v "$cand"
      return 0
    fi
  done
  bai_say "bai needs Python >= $BAI_PY_MIN; python3 is $(bai_python_version python3)." \
    "Install a newer one (Debian: apt-get install python3.11) or set PYTHON=/path/to/python3.X"
  return 1
}

bai_python_version() {
  "$1" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo "missing"
}

# Make sure .venv exists with a working, recent enough python.
bai_ensure_venv() {
  local py
  if bai_python_ok .venv/bin/python; then return 0; fi
  py="$(bai_pick_python)" || return 1
  if [ -e .venv ]; then
    bai_say ".venv has no working Python >= $BAI_PY_MIN; making it again with $py"
    rm -rf .venv
  fi
  "$py" -m venv .venv
}

# Exit status 0 when the install of kind "$1" (runtime or test) is missing or stale.
bai_needs_install() {
  local stamp=.venv/.bai-installed
  [ "$1" = test ] && stamp=.venv/.bai-test-installed
  [ ! -x .venv/bin/bai ] || [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]
}

# pip, quietly: its location warnings are noise, its failures are not.
bai_pip() {
  local out status=0
  out="$(.venv/bin/pip "$@" 2>&1)" || status=$?
  if [ -n "$out" ]; then printf '%s\n' "$out" | grep -v '^WARNING: Location' >&2 || true; fi
  return "$status"
}

# Install bai (kind "runtime", or "test" with the test extras) into .venv if needed.
bai_install() {
  local kind="$1" target="."
  [ "$kind" = test ] && target=".[test]"
  bai_ensure_venv || return 1
  bai_needs_install "$kind" || return 0
  rm -f .venv/.bai-installed .venv/.bai-test-installed
  bai_pip install -q --upgrade pip || return 1
  bai_pip install -q -e "$target" || { bai_say "installing bai into .venv failed"; return 1; }
  .venv/bin/python -c 'import bai' || return 1
  touch .venv/.bai-installed  # a test install holds everything a runtime install does
  [ "$kind" = test ] && touch .venv/.bai-test-installed
  return 0
}

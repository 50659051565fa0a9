# Sourced by run.sh and test.sh: makes .venv (once) and installs the requirements when they changed.
# Usage: . scripts/venv.sh requirements.txt
set -euo pipefail
REQS="$1"
PY="${PYTHON:-python3}"
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "Python 3.11 or newer is needed: install it with 'sudo apt-get install python3 python3-venv'." >&2
  exit 1
fi
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Python 3.11 or newer is needed; $("$PY" --version) was found. Set PYTHON=python3.11 if you have it." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtual environment in .venv ..."
  if ! "$PY" -m venv .venv; then
    rm -rf .venv
    echo "Could not create a virtual environment: install it with 'sudo apt-get install python3-venv'." >&2
    exit 1
  fi
fi
STAMP=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$(basename "$REQS")"
if [ ! -f "$STAMP" ]; then
  echo "Installing the Python packages (first run only, about a minute) ..."
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQS"
  touch "$STAMP"
fi

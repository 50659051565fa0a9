#!/usr/bin/env bash
# Runs the whole test suite: unit, connector (loopback HTTP), AppTest and browser tests.
# Browser tests need Debian's Chromium (sudo apt-get install chromium); without it they are skipped,
# except under CI=true, where a missing browser fails the run.
cd "$(dirname "$0")"
. scripts/venv.sh requirements-dev.txt
exec .venv/bin/python -m pytest "$@"

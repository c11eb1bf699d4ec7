#!/usr/bin/env bash
# Regenerates every package's PyTorch fixtures. Needs Debian's python3-torch (apt-get install python3-torch);
# tests only read the committed fixtures and never need Python.
set -euo pipefail
cd "$(dirname "$0")/.."
for gen in packages/*/scripts/generate_fixtures.py; do
  echo "== $gen"
  /usr/bin/python3 "$gen"
done

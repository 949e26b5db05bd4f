#!/usr/bin/env bash
# CI: build the documentation with warnings as errors, then check its internal links.
# Runs in the active virtual environment; the docs extra brings Sphinx and the back ends autodoc imports.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet ".[docs]"
rm -rf docs/_build docs/generated docs/_generated
# From docs/: the `fastinit` imported by autodoc is the installed one, not the source folder.
(cd docs && python -m sphinx -W --keep-going -q -b html . _build/html)
python docs/check_links.py docs/_build/html

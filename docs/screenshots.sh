#!/usr/bin/env bash
# Build the site and photograph pages as a reader's browser shows them (headless Chromium):
# the landing page, a guide page with math, an API page and the page with the figures.
#   docs/screenshots.sh [OUTDIR]        (default docs/_build/screenshots)
# Needs the docs extra installed and Chromium (Debian: apt-get install chromium). Without a
# network, set FASTINIT_DOCS_MATHJAX to a local MathJax (see conf.py) so that math renders.
set -euo pipefail
cd "$(dirname "$0")"
out=$(realpath -m "${1:-_build/screenshots}")
html=$(realpath -m _build/html)
python -m sphinx -W --keep-going -q -b html . "$html"
mkdir -p "$out"
for page in index initializers generated/fastinit.xavier_uniform performance; do
  chromium --headless=new --no-sandbox --disable-gpu --allow-file-access-from-files \
           --hide-scrollbars --window-size=1400,1800 --virtual-time-budget=8000 \
           --screenshot="$out/$(basename "$page").png" "file://$html/$page.html" 2>/dev/null
done
ls "$out"

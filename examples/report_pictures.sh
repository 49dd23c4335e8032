#!/usr/bin/env bash
# Regenerate the pictures of the report formats in examples/README.md (examples/img/):
# the HTML report as headless Chromium shows it at 1000 px, PDF pages as pdftoppm renders
# them, the XOR report's training pictures, and net.draw's picture of w1's routes. Needs symgrad installed, chromium and pdftoppm.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
symgrad report datawhale.toml -o "$work/datawhale.html"
symgrad report datawhale.toml -o "$work/datawhale.pdf"
shot() {  # shot PAGE PNG HEIGHT: the top HEIGHT pixels of PAGE, 1000 px wide
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$work/profile" \
        --run-all-compositor-stages-before-draw --virtual-time-budget=8000 --window-size="1000,$3" \
        --screenshot="$2" "file://$1" 2>/dev/null
}
shot "$work/datawhale.html" img/report_html.png 1900
pdftoppm -png -r 70 -f 2 -l 2 "$work/datawhale.pdf" "$work/page"
mv "$work"/page-*2.png img/report_pdf.png
python - "$work/xor_training.html" <<'PY'
# The XOR report's training section on a page of its own (the same stylesheet), to screenshot.
import re
import sys

import symgrad as sg
from symgrad.model.spec import load_spec
from symgrad.present.report import render_report

spec = load_spec("xor.toml")
data = (spec.data["X"], spec.data["Y"])
hist = sg.gradient_descent(spec.network, spec.point.params, data, lr=spec.train["lr"], epochs=spec.train["epochs"], mode=spec.train["mode"])
page = render_report(spec.network, fmt="html", pictures=False, history=hist, data=data, title="Gradients of xor")
training = re.search(r'<h2 id="sg-training">.*?(?=</article>)', page, re.S).group(0)
page = re.sub(r"<article([^>]*)>.*</article>", lambda m: f"<article{m.group(1)}>{training}</article>", page, flags=re.S)
open(sys.argv[1], "w", encoding="utf-8").write(page)
PY
shot "$work/xor_training.html" img/report_training.png 1300
python -c "
import symgrad as sg
from symgrad.model.spec import load_spec
load_spec('datawhale.toml').network.draw('img/routes_w1.png', highlight='w1')
"
echo "wrote img/report_html.png img/report_pdf.png img/report_training.png img/routes_w1.png"

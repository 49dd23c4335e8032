"""Every shipped example's report, rendered as a reader sees it.

* HTML in a real headless Chromium at 1000 px: the page shows no TeX control words and
  no dollar signs, every formula is MathML that the browser lays out (a fraction is
  taller than a letter), and no element reaches past the page's width.
* LaTeX compiled with pdflatex (and lualatex): exit 0, no ``Overfull \\hbox`` over 10 pt.

Both skip, saying why, when the program is missing; CI (.ci/run) installs them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import EXAMPLES
from symgrad.crosscheck.check import check_spec
from symgrad.model.spec import load_spec
from symgrad.present.report import Report

SPECS = sorted(p.stem for p in EXAMPLES.glob("*.toml"))
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian: apt-get install chromium); .ci/run installs it")
needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex (Debian: texlive-latex-recommended); .ci/run installs it")

#: The flags a headless Chromium needs here: no sandbox (root), no GPU, no network of its own.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--run-all-compositor-stages-before-draw",
                  "--virtual-time-budget=8000"]

#: Measures the page once it is laid out and writes the result into the page, for --dump-dom.
PROBE = """
window.addEventListener('load', () => {
  const width = document.documentElement.clientWidth;
  const overflow = [];
  for (const el of document.querySelectorAll('.symgrad-report *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > width + 0.5 || r.left < -0.5))
      overflow.push(`${el.tagName.toLowerCase()}.${el.getAttribute('class') || ''} right=${Math.round(r.right)}`);
  }
  const text = document.querySelector('.symgrad-report').innerText;
  const frac = document.querySelector('mfrac'), letter = document.querySelector('mi');
  const result = {
    width, scrollWidth: document.documentElement.scrollWidth, overflow: overflow.slice(0, 10), overflowCount: overflow.length,
    texWords: (text.match(/\\\\[A-Za-z]+/g) || []).slice(0, 10), dollars: (text.match(/\\$/g) || []).length,
    maths: document.querySelectorAll('math').length,
    formulaCellsWithoutMath: [...document.querySelectorAll('.sg-rhs, .sg-lhs')].filter(e => e.childElementCount && !e.querySelector('math')).length,
    fracHeight: frac ? frac.getBoundingClientRect().height : 0, letterHeight: letter ? letter.getBoundingClientRect().height : 0,
    pictures: document.querySelectorAll('figure svg').length,
  };
  const pre = document.createElement('pre');
  pre.id = 'sg-probe';
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """One Report per shipped spec (derived and drawn once for both tests), with its check."""
    out = {}
    for name in SPECS:
        spec = load_spec(EXAMPLES / f"{name}.toml")
        rep = check_spec(spec, seed=0)
        out[name] = Report(spec.network, check_report=rep, title=f"Gradients of {spec.name}", description=spec.description)
    return out


def chromium_probe(html_path: Path, profile: Path, width: int = 1000) -> dict:
    page = html_path.with_name(html_path.stem + "_probe.html")
    page.write_text(html_path.read_text(encoding="utf-8").replace("</body>", f"<script>{PROBE}</script></body>"), encoding="utf-8")
    proc = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},900", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    m = re.search(r'<pre id="sg-probe">(.*?)</pre>', proc.stdout, re.S)
    assert m, f"Chromium wrote no measurement (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(m.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("name", SPECS)
def test_html_report_renders_in_a_browser(name, reports, tmp_path):
    path = reports[name].save(tmp_path / f"{name}.html")
    assert "<script" not in path.read_text(encoding="utf-8")  # nothing to load: it renders offline
    seen = chromium_probe(path, tmp_path / "profile")
    assert seen["texWords"] == [] and seen["dollars"] == 0, seen
    assert seen["maths"] > 10 and seen["formulaCellsWithoutMath"] == 0, seen
    assert seen["fracHeight"] > 1.5 * seen["letterHeight"] > 0, seen  # MathML laid out: a fraction stacks
    assert seen["overflowCount"] == 0 and seen["scrollWidth"] <= seen["width"], seen
    assert seen["pictures"] >= 1, seen


def overfull(log: str) -> list[float]:
    return [float(m) for m in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


@pytest.mark.slow
@needs_pdflatex
@pytest.mark.parametrize("name", SPECS)
def test_latex_report_compiles_without_overfull_lines(name, reports, tmp_path):
    path = reports[name].save(tmp_path / f"{name}.tex")
    tex = path.read_text(encoding="utf-8")
    assert tex.isascii() and r"\usepackage{lmodern}" in tex
    for _ in range(2):  # twice: the contents
        proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", path.name], cwd=tmp_path,
                              capture_output=True, text=True, errors="replace", timeout=300)
        assert proc.returncode == 0, [line for line in proc.stdout.splitlines() if line.startswith("!")] or proc.stdout[-2000:]
    assert max(overfull(proc.stdout), default=0.0) <= 10.0, overfull(proc.stdout)
    assert (tmp_path / f"{name}.pdf").stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("lualatex") is None, reason="needs lualatex (Debian: texlive-luatex); .ci/run installs it")
def test_latex_report_compiles_with_lualatex(reports, tmp_path):
    path = reports["datawhale"].save(tmp_path / "datawhale.tex")
    proc = subprocess.run(["lualatex", "-interaction=nonstopmode", "-halt-on-error", path.name], cwd=tmp_path,
                          capture_output=True, text=True, errors="replace", timeout=300)
    assert proc.returncode == 0, [line for line in proc.stdout.splitlines() if line.startswith("!")] or proc.stdout[-2000:]


@pytest.mark.slow
@needs_pdflatex
def test_pdf_report_is_built_by_pdflatex(reports, tmp_path):
    path = reports["quadratic"].save(tmp_path / "r.pdf")
    assert path.read_bytes().startswith(b"%PDF")

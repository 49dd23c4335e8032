"""README.md and examples/README.md are tested documents.

Every fenced Python block (```python, ```py or ```pycon) of each file runs, top to bottom,
in one namespace, as a reader would type them:

* a block whose first line starts with ``>>>`` is a doctest: each shown output is
  compared with the real one (``...`` matches anything, as in doctest's ELLIPSIS);
* any other Python block is executed as it stands; its ``# comments`` say what a line
  does, never what it prints (a printed result belongs in a ``>>>`` block).

A block preceded by the line ``<!-- readme-test: skip -->`` is not run (for a snippet that
needs something the test environment lacks; say why next to it). README.md runs in an
empty temporary directory, so files a snippet writes go there; examples/README.md runs
from the repository's root, which its paths start from.
"""

from __future__ import annotations

import doctest
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,})(?P<lang>[\w+-]*)[^\n]*$")
_PYTHON = {"python", "py", "pycon", "python3"}
_SKIP = "<!-- readme-test: skip -->"


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the block's first code line
    code: str
    doctest: bool


def python_blocks(path: Path) -> list[Block]:
    """The fenced Python blocks of a Markdown file, in order (skipped ones left out)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group("fence"), m.group("lang").lower()
        start = i + 1
        end = next((k for k in range(start, len(lines)) if lines[k].strip().startswith(fence) and not lines[k].strip().strip("`")), len(lines))
        skipped = any(lines[k].strip() == _SKIP for k in range(max(0, i - 2), i))
        if lang in _PYTHON and not skipped:
            code = "\n".join(lines[start:end]) + "\n"
            first = next((ln for ln in lines[start:end] if ln.strip()), "")
            blocks.append(Block(start + 1, code, first.lstrip().startswith(">>>")))
        i = end + 1
    return blocks


def run_markdown(path: Path) -> int:
    """Run every Python block of ``path`` in one namespace; fail with the first wrong output or error."""
    namespace: dict = {"__name__": "__readme__"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    blocks = python_blocks(path)
    for block in blocks:
        where = f"{path.name}:{block.line}"
        if block.doctest:
            test = parser.get_doctest(block.code, namespace, where, str(path), block.line - 1)
            report: list[str] = []
            result = runner.run(test, out=report.append, clear_globs=False)
            if result.failed:
                pytest.fail(f"{where}: the shown output is not the real one\n" + "".join(report), pytrace=False)
        else:
            try:
                exec(compile(block.code, where, "exec"), namespace)
            except Exception as exc:  # the block as written does not run
                pytest.fail(f"{where}: {type(exc).__name__}: {exc}", pytrace=False)
    return len(blocks)


def test_python_blocks_are_found_in_order(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "text\n```python\na = 1\n```\n```bash\nexit 1\n```\n" + _SKIP + "\n```python\nraise SystemExit\n```\n"
        "````pycon\n>>> a + 1\n2\n````\n",
        encoding="utf-8",
    )
    blocks = python_blocks(page)
    assert [(b.line, b.doctest) for b in blocks] == [(3, False), (13, True)]
    assert run_markdown(page) == 2
    page.write_text("```python\n>>> 1 + 1\n3\n```\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match=r"page.md:2: the shown output is not the real one"):
        run_markdown(page)
    page.write_text("```python\nundefined_name\n```\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match=r"page.md:2: NameError"):
        run_markdown(page)


@pytest.mark.slow  # the story compiles the datawhale network with numba (a few seconds on first run)
def test_readme_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", os.environ.get("SYMGRAD_CACHE_DIR", str(tmp_path / "cache")))
    monkeypatch.delenv("SYMGRAD_JIT_AFTER", raising=False)  # the first calls as users meet them
    assert run_markdown(ROOT / "README.md") >= 8


def test_examples_readme_runs_as_written(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert run_markdown(ROOT / "examples" / "README.md") >= 1


def test_readme_top_commands_are_what_ci_runs():
    # .ci/run installs and runs exactly the first two commands of the first bash block.
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first = text.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert first[:2] == ['pip install . && symgrad report examples/datawhale.toml', 'pip install ".[test]" && python -m pytest']


def test_readme_headline_is_what_symgrad_prints():
    import symgrad as sg

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    headline = text.split("```text\n", 1)[1].split("```", 1)[0].strip()
    assert headline == sg.load_spec(ROOT / "examples" / "datawhale.toml").network.grad("w7").text()

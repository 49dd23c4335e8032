"""Whole documents: every derivation of the loss in a Markdown or LaTeX text, line by line.

The datawhale article's three derivations live in examples/datawhale_derivations.md,
verbatim; the article's ∂Loss/∂w1 and ∂Loss/∂w6 are misbracketed on their last line.
"""

import json

import pytest

import symgrad as sg
from conftest import EXAMPLES, seed_network
from symgrad.cli import main
from symgrad.errors import SymgradError
from symgrad.verification.document import display_blocks, verify_document

DATAWHALE_MD = EXAMPLES / "datawhale_derivations.md"


@pytest.fixture(scope="module")
def datawhale():
    return seed_network("datawhale")


def _line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    at = -1
    for _ in range(occurrence):
        at = text.index(fragment, at + 1)
    return text.count("\n", 0, at) + 1


def test_the_datawhale_derivations_are_refuted_on_the_right_lines(datawhale):
    text = DATAWHALE_MD.read_text(encoding="utf-8")
    report = verify_document(datawhale, text)
    assert [d.status for d in report.derivations] == ["HOLDS", "REFUTED", "REFUTED"]
    assert report.skipped == 2  # the article's u_1 = … and u_2 = … are not derivations
    w7, w1, w6 = report.derivations
    assert w7.line == _line_of(text, r"\left( \frac{\partial Loss}{\partial w_7} \right)_w")
    # the wrong line is the last "&= \{(\hat{f}_1 - f_1)_w …" of each block, numbered as in the file
    assert w1.first_wrong_line == _line_of(text, r"&= \{(\hat{f}_1 - f_1)_w", occurrence=1)
    assert w6.first_wrong_line == _line_of(text, r"&= \{(\hat{f}_1 - f_1)_w", occurrence=2)
    for d in (w1, w6):
        bad = next(v for v in d.verdict.lines if not v.ok)
        assert bad.mistake == "bracket" and "shared by both chain-rule paths" in bad.diagnosis
        assert [v.ok for v in d.verdict.lines] == [True, True, False]
    assert not report.ok and report.exit_code == 1
    shown = str(report)
    assert shown.startswith("3 derivations: 1 hold, 2 wrong")
    assert f"first wrong line is line {w1.first_wrong_line} (bracket)" in shown


def test_the_report_as_json(datawhale):
    report = verify_document(datawhale, DATAWHALE_MD.read_text(encoding="utf-8"))
    data = json.loads(report.to_json())
    assert data["exit_code"] == 1 and [d["status"] for d in data["derivations"]] == ["HOLDS", "REFUTED", "REFUTED"]
    assert data["derivations"][1]["first_wrong_line"] == report.derivations[1].first_wrong_line
    assert data["derivations"][1]["verdict"]["lines"][2]["mistake"] == "bracket"


def test_definitions_carry_over_to_later_blocks_and_latex_environments_are_found():
    net = seed_network("mlp_3_4_2")
    text = r"""\documentclass{article}
\begin{document}
The output error term:
\begin{equation}
\delta^{(2)} = (\mathbf{a}^{(2)} - \mathbf{y}) \odot f'(\mathbf{z}^{(2)})
\end{equation}
and the hidden one,
\[ \delta^{(1)} = (W^{(2)})^T \delta^{(2)} \odot f'(\mathbf{z}^{(1)}) \]
so that
\begin{align*}
\nabla_{W^{(1)}} L &= \delta^{(1)} (\mathbf{a}^{(0)})^T \\
\nabla_{W^{(2)}} L &= \delta^{(2)} \mathbf{a}^{(1)}
\end{align*}
\end{document}
"""
    report = verify_document(net, text)
    assert [d.subject for d in report.derivations] == [r"\nabla_{W^{(1)}} L"]
    (d,) = report.derivations
    assert d.status == "REFUTED" and d.first_wrong_line == 12
    assert [v.ok for v in d.verdict.lines] == [True, False]
    assert d.verdict.lines[1].mistake == "transposed"
    assert [(x.name, x.line, x.matches) for x in report.definitions] == [(r"\delta^{(2)}", 5, True), (r"\delta^{(1)}", 8, True)]


def test_an_unreadable_derivation_is_reported_and_the_others_checked(datawhale):
    text = "$$\\frac{\\partial Loss}{\\partial w_7} = (\\hat f_1 - f_1) q_9 h_1$$\n\n" + DATAWHALE_MD.read_text(encoding="utf-8")
    report = verify_document(datawhale, text)
    assert report.derivations[0].status == "UNREADABLE" and "q_9" in report.derivations[0].error
    assert [d.status for d in report.derivations[1:]] == ["HOLDS", "REFUTED", "REFUTED"]
    assert report.exit_code == 1
    only_unreadable = verify_document(datawhale, "$$\\frac{\\partial Loss}{\\partial w_7} = q_9$$")
    assert only_unreadable.exit_code == 2


def test_no_derivation_is_an_error_and_an_open_block_names_its_line(datawhale):
    with pytest.raises(SymgradError):
        verify_document(datawhale, "Nothing here but $x$ and $$u_1 = w_7 h_1 + w_8 h_2 + b_1$$.")
    with pytest.raises(SymgradError) as err:
        verify_document(datawhale, "text\n\n$$\\frac{\\partial Loss}{\\partial w_7} = 0\n")
    assert err.value.line == 3


def test_display_blocks_of_every_kind():
    text = "a $x$\n$$A$$\n\\[B\\]\n```math\nC\n```\n\\begin{align}D\\end{align}"
    assert [b.text.strip() for b in display_blocks(text)] == ["A", "B", "C", r"\begin{align}D\end{align}"]
    assert text[display_blocks(text)[0].offset] == "A"


def test_the_command_line(datawhale, capsys):
    spec = str(EXAMPLES / "datawhale.toml")
    assert main(["verify", spec, "--document", str(DATAWHALE_MD)]) == 1
    out = capsys.readouterr().out
    assert "first wrong line is line" in out and "3 derivations" in out
    assert main(["verify", spec, "--document", str(DATAWHALE_MD), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [d["status"] for d in data["derivations"]] == ["HOLDS", "REFUTED", "REFUTED"]
    # --document with a claim, or a missing file: unusable input, one line on stderr
    assert main(["verify", spec, "--document", str(DATAWHALE_MD), "--latex", "0"]) == 2
    assert main(["verify", spec, "--document", "no/such/file.md"]) == 2
    assert "error" in capsys.readouterr().err


def test_the_json_document_follows_its_schema(capsys):
    jsonschema = pytest.importorskip("jsonschema")
    from conftest import ROOT

    def schema(name):
        return json.loads((ROOT / "docs" / "schemas" / f"{name}.json").read_text(encoding="utf-8"))

    assert main(["verify", str(EXAMPLES / "datawhale.toml"), "--document", str(DATAWHALE_MD), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "symgrad-document/1" and doc["spec"] == "datawhale"
    jsonschema.Draft202012Validator.check_schema(schema("symgrad-document-1"))
    errors = list(jsonschema.Draft202012Validator(schema("symgrad-document-1")).iter_errors(doc))
    verdicts = jsonschema.Draft202012Validator({"$ref": "#/$defs/verdict", "$defs": schema("symgrad-verdict-1")["$defs"]})
    errors += [e for d in doc["derivations"] if d["verdict"] is not None for e in verdicts.iter_errors(d["verdict"])]
    assert not errors, errors[0].message
    assert '"schema": "symgrad-document/1"' in (ROOT / "docs" / "json.md").read_text(encoding="utf-8")


def test_sg_exports_it():
    assert sg.verify_document is verify_document and "verify_document" in sg.__all__

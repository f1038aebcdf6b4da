"""report.tex and tables/*.tex: a standalone LaTeX document that pdflatex compiles, tables whose numbers are report.json's."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.report_tables import FAST_FAIRNESS, predictions_table, write_table
from visage.reporting.report.build import build_audit_report
from visage.reporting.report.document import Paragraph, Table
from visage.reporting.report.format import number
from visage.reporting.report.render_tex import escape, inline, table_tex, to_latex
from visage.reporting.report.write import write_report

ODD = "A*_&%#$^~{x}\\|<b>"   # a group name made of LaTeX's (and Markdown's, and HTML's) special characters


def _pdflatex() -> str | None:
    """Return the pdflatex binary; skip where it is missing unless VISAGE_REQUIRE_LATEX=1 (CI), where it fails."""
    found = shutil.which("pdflatex")
    if found is None:
        if os.environ.get("VISAGE_REQUIRE_LATEX") == "1":
            pytest.fail("pdflatex is missing but VISAGE_REQUIRE_LATEX=1 (install texlive-latex-recommended)")
        pytest.skip("pdflatex is not installed (set VISAGE_REQUIRE_LATEX=1 to make this a failure)")
    return found


@pytest.fixture(scope="module")
def latex_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("latex")
    table = predictions_table(planted=4.0)
    table.loc[table["race"] == "Asian", "race"] = ODD
    path = write_table(table, root / "odd groups.csv")
    blocks, record = build_audit_report(path, root / "out", fairness={**FAST_FAIRNESS, "n_perm": 999})
    write_report(blocks, record, root / "out")
    return root / "out"


def test_specials_and_signs_are_escaped() -> None:
    assert escape("50% & #1 a_b $x$ {y} ~") == r"50\% \& \#1 a\_b \$x\$ \{y\} \textasciitilde{}"
    assert escape("−1 × 2 ≥ 3 · 4 ± 5") == (r"\ensuremath{-}1 \ensuremath{\times} 2 \ensuremath{\geq} 3 "
                                            r"\ensuremath{\cdot} 4 \ensuremath{\pm} 5")
    assert inline("**bold** *it* `a_b` [card](x_y.md)") == r"\textbf{bold} \emph{it} \texttt{a\_b} card"
    tex = table_tex(Table(["group", "n"], [["A\\*B", "3"]]))
    assert tex.splitlines()[:4] == [r"\begin{tabular}{ll}", r"\toprule", r"group & n \\", r"\midrule"]
    assert r"A\textasteriskcentered{}B & 3 \\" in tex and tex.rstrip().endswith(r"\end{tabular}")


def test_report_tex_compiles_with_pdflatex(latex_report: Path, tmp_path: Path) -> None:
    binary = _pdflatex()
    record = json.loads((latex_report / "report.json").read_text())
    for png in record["figures"]:   # every figure also as PDF, which report.tex includes
        assert (latex_report / png).with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    assert set(record["tables"]) == {f"tables/{p.name}" for p in (latex_report / "tables").glob("*.tex")}
    work = tmp_path / "tex"
    shutil.copytree(latex_report, work)
    done = subprocess.run([binary, "-interaction=nonstopmode", "-halt-on-error", "report.tex"], cwd=work,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:]
    assert (work / "report.pdf").read_bytes().startswith(b"%PDF")
    # one table alone, \input into a minimal paper, compiles too
    (work / "paper.tex").write_text("\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{booktabs}"
                                    "\\usepackage{textcomp}\\begin{document}\\input{tables/tests}\\end{document}\n")
    done = subprocess.run([binary, "-interaction=nonstopmode", "-halt-on-error", "paper.tex"], cwd=work,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]


def test_numbers_in_the_tables_equal_report_json(latex_report: Path) -> None:
    record = json.loads((latex_report / "report.json").read_text())
    rows = [line for line in (latex_report / "tables" / "tests.tex").read_text().splitlines() if line.endswith(r"\\")][1:]
    gaps = [t for t in record["tests"] if t["family"] == "gaps"]
    assert len(rows) == len(gaps) == record["families"]["gaps"]["size"] > 0
    for row, test in zip(rows, gaps):
        cells = [c.strip() for c in row.removesuffix(r"\\").split(" & ")]
        assert cells[5] == number(test["p_value"], "p") and cells[6] == number(test["p_adjusted"], "p"), (cells, test)
        assert cells[4] == escape(number(test["value"], test["metric"]))
    race = record["run"]["fairness"]["odd groups"]["by_group"]["race"]
    groups = (latex_report / "tables" / "groups_race_age.tex").read_text()
    for group, entry in race.items():
        mae, ci = entry["age_mae"], entry["ci"]["age_mae"]
        line = f"{escape(group)} & {entry['n']} & "
        assert line in groups and f"{number(mae, 'age_mae')} [{number(ci[0], 'age_mae')}, {number(ci[1], 'age_mae')}]" in \
            groups.split(line, 1)[1].splitlines()[0], group
    assert escape(ODD) in groups and ODD not in groups


def test_document_is_standalone() -> None:
    tex = to_latex([Paragraph("gap 3.00 years, p = 0.001 ≥ ... **beyond chance**")], "Report: x_y")
    assert tex.startswith("\\documentclass") and tex.rstrip().endswith("\\end{document}")
    assert "\\usepackage{booktabs}" in tex and re.search(r"\\title\{Report: x\\_y\}", tex)

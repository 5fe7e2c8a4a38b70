"""The class summary: from the reports of a class, class.md says who was graded, what the class
struggled with, how often each test failed and for whom; scores.png shows the points per
section. Both are functions of the reports: the same reports give the same bytes.

The reports here are made from made-up spec results (no grading), as `python -m graders grade`
writes them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from graders import analytics, reports, scoring
from graders.rubric import Rubric, Section
from tests.test_graders import record

RUBRIC = Rubric(
    sections=(Section("A", "exercise", 10), Section("B", "exercise", 5), Section("X", "bonus", 10))
)


def results(failed: set[str], lstm_absent: bool = False) -> list[dict]:
    tests = [("A", f"test_a{k}") for k in range(1, 5)] + [("B", "test_b1"), ("B", "test_b2")]
    records = [
        record(s, n, *(("failed", "AssertionError: no") if n in failed else ())) for s, n in tests
    ]
    if lstm_absent:
        absent = record("X", "test_x1", "skipped")
        return [*records, {**absent, "reason": "absent: no Layers/X.py (optional)"}]
    return [*records, record("X", "test_x1")]


def make_class(out: Path) -> tuple[list[str], dict[str, str]]:
    """Three graded students, one whose zip could not be graded, one whose grader failed."""
    graded = {
        "ada": results(set()),
        "bo": results({"test_a2"}),
        "cy": results({"test_a2", "test_a3", "test_b1"}, lstm_absent=True),
    }
    for name, records in graded.items():
        reports.write(scoring.score(name, records, RUBRIC), out / name)
    problem = "dee.zip cannot be unpacked: File is not a zip file"
    reports.write(scoring.ungradable("dee", RUBRIC, problem), out / "dee")
    return [*graded, "dee", "eve"], {"eve": "the grader did not finish within 960 s"}


def test_class_md_says_what_the_class_struggled_with(tmp_path):
    names, failures = make_class(tmp_path)
    text = analytics.write(tmp_path, names, RUBRIC, failures).read_text()
    assert "5 submissions: 3 graded, 2 not graded (listed at the end, left out below)." in text
    assert "Total: mean 11.7 / 15, median 12.5; 1 with full marks." in text  # bonus apart
    struggled = text.split("## What the class struggled with")[1].split("##")[0]
    assert struggled.strip().splitlines() == [
        "1. **A**: 75 % of its 10 points on average; 2 of 3 lost points there. "
        "Most failed: `test_a2` — test_a2 does its job. (2 of 3).",
        "2. **B**: 83 % of its 5 points on average; 1 of 3 lost points there. "
        "Most failed: `test_b1` — test_b1 does its job. (1 of 3).",
    ]
    assert "| X | 10 | 10.0 | 10 | 2 | 0 | 2 |" in text  # cy left the optional part out
    assert "| `test_a2` — test_a2 does its job. | A | 2 of 3 | 67 % |" in text
    assert "- 2 of 3 (bo, cy): `test_a2` — test_a2 does its job." in text
    assert "7 tests ran; 4 passed for everyone." in text
    assert "- dee: dee.zip cannot be unpacked: File is not a zip file" in text
    assert "- eve: no report: the grader did not finish within 960 s" in text


def test_the_same_reports_give_the_same_bytes(tmp_path):
    pytest.importorskip("matplotlib")
    names, failures = make_class(tmp_path)
    analytics.write(tmp_path, names, RUBRIC, failures)
    first = [(tmp_path / n).read_bytes() for n in ("class.md", "scores.png")]
    analytics.write(tmp_path, names, RUBRIC, failures)
    assert [(tmp_path / n).read_bytes() for n in ("class.md", "scores.png")] == first
    png = first[1]
    assert png.startswith(b"\x89PNG") and b"tEXt" not in png and b"tIME" not in png
    assert "![Points per section over the class](scores.png)" in first[0].decode()


def test_without_matplotlib_there_is_no_histogram_and_class_md_says_why(tmp_path, monkeypatch):
    names, failures = make_class(tmp_path)
    (tmp_path / "scores.png").write_bytes(b"an old picture")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    text = analytics.write(tmp_path, names, RUBRIC, failures).read_text()
    assert analytics.NO_MATPLOTLIB in text and "scores.png" not in text
    assert not (tmp_path / "scores.png").exists()


def test_a_class_where_everything_passed_struggled_with_nothing(tmp_path):
    for name in ("ada", "bo"):
        reports.write(scoring.score(name, results(set()), RUBRIC), tmp_path / name)
    text = analytics.write(tmp_path, ["ada", "bo"], RUBRIC, {}).read_text()
    assert "Nothing: every graded student earned every section's points." in text
    assert "None: every test passed for every graded student." in text

"""The graders: the bundled solution earns everything; broken submissions earn what their
working sections are worth, with a reason a student can read; grading is reproducible.

Submissions are built from the reference solution in temporary folders. To keep this file fast,
most gradings use a small rubric (TanH, Sigmoid, Dropout, and LeNet as bonus), which runs only
those sections of the spec.
"""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from graders import batch, intake, reports, rubric, scoring
from graders.grade import fingerprint
from graders.rubric import Rubric, Section
from tests import mutants
from tests.mutants import copy_of_solution, edit

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solution"
SMALL_RUBRIC = """
[limits]
test_seconds = 60
[exercise]
TanH = 2.5
Sigmoid = 2.5
Dropout = 5
[bonus]
LeNet = 10
"""
DROPOUT_BUG = mutants.named("dropout_without_inverse_scale")  # a bug real students make
NOT_GRADED = {"TanH": 0.0, "Sigmoid": 0.0, "Dropout": 0.0, "LeNet": 0.0}


def graders(*args: object, **environment: str) -> subprocess.CompletedProcess:
    """`python -m graders ...`, as an instructor runs it."""
    return subprocess.run(
        [sys.executable, "-m", "graders", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **environment},
    )


def flat_zip(path: Path) -> Path:
    """The course's packaging script: the .py files without folders; here without the files
    a student need not hand in."""
    left_out = {"__init__.py", "Helpers.py", "LSTM.py", "LeNet.py"}
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(SOLUTION.rglob("*.py")):
            if file.name not in left_out:
                archive.write(file, file.name)
    return path


def zip_of(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def load_report(folder: Path) -> dict:
    return json.loads((folder / "report.json").read_text())


def earned(report: dict) -> dict[str, float]:
    return report["extra_data"]["sections"]


def write_rubric(folder: Path, text: str = SMALL_RUBRIC) -> Path:
    path = folder / "rubric.toml"
    path.write_text(text)
    return path


# -- the bundled solution ---------------------------------------------------------------------


@pytest.mark.timeout(900)
def test_bundled_solution_gets_full_marks_and_full_bonus(tmp_path):
    done = graders("grade", SOLUTION, "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    report = load_report(tmp_path)
    assert (report["score"], report["max_score"]) == (100.0, 100.0)
    assert (report["extra_data"]["bonus"], report["extra_data"]["bonus_max"]) == (20.0, 20.0)
    assert report["extra_data"]["exam_percent"] == 3.0
    assert all(test["status"] == "passed" for test in report["tests"]), report["tests"]
    assert "100 / 100" in done.stdout and "20 / 20" in done.stdout  # the terminal table
    assert {path.name for path in tmp_path.iterdir()} == {"report.json", "report.md", "junit.xml"}


# -- a class of broken submissions, graded as a batch ------------------------------------------

CLASS = {  # student -> points per section, and what the report must say
    "missing_file": (
        {"TanH": 2.5, "Sigmoid": 2.5, "Dropout": 0.0, "LeNet": 10.0},
        "Layers/Dropout.py is missing from the submission",
    ),
    "syntax_error": (
        {"TanH": 2.5, "Sigmoid": 0.0, "Dropout": 5.0, "LeNet": 10.0},
        "Layers/Sigmoid.py cannot be imported: SyntaxError",
    ),
    "wrong_class_name": (
        {"TanH": 0.0, "Sigmoid": 2.5, "Dropout": 5.0, "LeNet": 10.0},
        "module 'Layers.TanH' has no attribute 'TanH'",
    ),
    "flat": ({"TanH": 2.5, "Sigmoid": 2.5, "Dropout": 5.0, "LeNet": 0.0}, "| LeNet | absent |"),
    "traversal": (NOT_GRADED, "traversal.zip contains a path leaving its folder (../evil.py)"),
    "bomb": (NOT_GRADED, "bomb.zip unpacks to more than 10 MB of Python files"),
    "not_a_zip": (NOT_GRADED, "not_a_zip.zip is not a zip file, or it is truncated"),
    "empty": (NOT_GRADED, "empty holds no Python files"),
}


def make_class(folder: Path) -> Path:
    folder.mkdir()
    copy_of_solution(folder / "missing_file")
    (folder / "missing_file" / "Layers" / "Dropout.py").unlink()
    sigmoid = copy_of_solution(folder / "syntax_error") / "Layers" / "Sigmoid.py"
    edit(sigmoid, "def forward(self, input_tensor):", "def forward(self, input_tensor)")
    tanh = copy_of_solution(folder / "wrong_class_name") / "Layers" / "TanH.py"
    edit(tanh, "class TanH(", "class Tanh(")
    mutants.apply(DROPOUT_BUG, copy_of_solution(folder / "dropout_bug"))
    flat_zip(folder / "flat.zip")
    zip_of(folder / "traversal.zip", {"Layers/TanH.py": "", "../evil.py": "print('owned')"})
    zip_of(folder / "bomb.zip", {"Layers/Dropout.py": "#" * (11 * 2**20)})
    (folder / "not_a_zip.zip").write_bytes(b"PK\x03\x04 this is not a zip archive")
    (folder / "empty").mkdir()
    return folder


@pytest.mark.timeout(900)
def test_a_class_of_broken_submissions_is_graded_in_a_batch(tmp_path, subtests):
    """`python -m graders batch --jobs 2`: each student gets the points of their working
    sections and a readable reason; one gradebook row each; a second run resumes."""
    submissions, out = make_class(tmp_path / "submissions"), tmp_path / "reports"
    rubric_file = write_rubric(tmp_path)
    done = graders("batch", submissions, "--jobs", 2, "--rubric", rubric_file, "--out", out)
    assert done.returncode == 0, done.stdout + done.stderr

    for student, (points, reason) in CLASS.items():
        with subtests.test(student=student):
            assert earned(load_report(out / student)) == points
            assert reason in (out / student / "report.md").read_text()

    with subtests.test("a section's bug costs part of that section only"):
        points = earned(load_report(out / "dropout_bug"))
        assert 0 < points.pop("Dropout") < 5
        assert points == {"TanH": 2.5, "Sigmoid": 2.5, "LeNet": 10.0}
        assert "AssertionError: Dropout" in (out / "dropout_bug" / "report.md").read_text()

    with subtests.test("a flat zip is supplied with the course's files"):
        assert (
            "supplied by the harness: Layers/__init__.py, Optimization/__init__.py, "
            "Layers/Helpers.py"
        ) in load_report(out / "flat")["output"]

    with subtests.test("the gradebook has a row per student and a column per section"):
        with (out / "gradebook.csv").open() as file:
            rows = {row["student"]: row for row in csv.DictReader(file)}
        assert sorted(rows) == sorted([*CLASS, "dropout_bug"])
        assert rows["missing_file"] == {
            "student": "missing_file",
            "TanH": "2.5",
            "Sigmoid": "2.5",
            "Dropout": "0.0",
            "LeNet": "10.0",
            "total": "5.0",
            "bonus": "10.0",
            "exam_percent": "1.5",
            "problem": "",
        }
        assert "leaving its folder" in rows["traversal"]["problem"]

    with subtests.test("an interrupted batch resumes where it stopped"):
        (out / "traversal" / "report.json").unlink()  # as if the batch had stopped before it
        zip_of(submissions / "bomb.zip", {"/etc/passwd.py": ""})  # handed in again
        small = rubric.load(rubric_file)
        stale = [
            name
            for name, path in batch.submissions_in(submissions).items()
            if not batch.is_current(out / name, fingerprint(path, small))
        ]
        assert {"traversal", "bomb"} <= set(stale)  # and nobody else, unless the harness changed
        again = graders("batch", submissions, "--jobs", 2, "--rubric", rubric_file, "--out", out)
        assert again.returncode == 0, again.stderr
        assert f"Graded {len(stale)} submissions" in " ".join(again.stdout.split())
        assert "absolute path" in load_report(out / "bomb")["extra_data"]["problem"]
        assert load_report(out / "traversal")["score"] == 0.0


# -- reproducible, and robust against code that never ends ------------------------------------


@pytest.mark.timeout(900)
def test_three_gradings_of_a_submission_write_identical_reports(tmp_path):
    """Same submission, same bytes: failure messages included (scripts/check_determinism.py
    does this ten times with the whole spec)."""
    student = copy_of_solution(tmp_path / "student")
    submission = mutants.apply(DROPOUT_BUG, student)
    rubric_file = write_rubric(tmp_path, "[exercise]\nTanH = 2.5\nDropout = 5\n")
    outs = [tmp_path / f"report-{i}" for i in range(3)]
    with ThreadPoolExecutor(3) as pool:
        runs = list(
            pool.map(
                lambda out: graders(
                    "grade", submission, "--rubric", rubric_file, "--out", out, "--quiet"
                ),
                outs,
            )
        )
    assert all(done.returncode == 0 for done in runs), [done.stderr for done in runs]
    assert 2.5 < load_report(outs[0])["score"] < 7.5
    for name in ("report.json", "report.md", "junit.xml"):
        first = (outs[0] / name).read_bytes()
        assert all((out / name).read_bytes() == first for out in outs[1:]), name


def endless_tanh(folder: Path) -> Path:
    solution = copy_of_solution(folder)
    edit(
        solution / "Layers" / "TanH.py",
        "def forward(self, input_tensor):",
        "def forward(self, input_tensor):\n        while True:\n            pass",
    )
    return solution


@pytest.mark.timeout(600)
def test_a_test_that_never_ends_fails_after_its_time_limit(tmp_path):
    rubric_file = write_rubric(tmp_path, "[exercise]\nTanH = 2.5\n[limits]\ntest_seconds = 2\n")
    done = graders(
        "grade",
        endless_tanh(tmp_path / "student"),
        "--rubric",
        rubric_file,
        "--out",
        tmp_path / "out",
    )
    assert done.returncode == 0, done.stderr
    assert earned(load_report(tmp_path / "out")) == {"TanH": 0.5}  # 1 of 5 tests needs no forward
    assert "TimedOut: the test took longer than 2 s" in (tmp_path / "out" / "report.md").read_text()


@pytest.mark.timeout(600)
def test_a_run_over_its_wall_clock_limit_is_stopped_and_still_reported(tmp_path):
    rubric_file = write_rubric(
        tmp_path, "[exercise]\nTanH = 2.5\n[limits]\ntest_seconds = 600\nrun_seconds = 15\n"
    )
    done = graders(
        "grade",
        endless_tanh(tmp_path / "student"),
        "--rubric",
        rubric_file,
        "--out",
        tmp_path / "out",
        DL_CALL_TIMEOUT="600",  # the call's own limit would stop it first
    )
    assert done.returncode == 0, done.stderr
    assert load_report(tmp_path / "out")["score"] <= 0.63
    assert "the spec run was stopped after 15 s" in (tmp_path / "out" / "report.md").read_text()


# -- the rubric and the scoring, on made-up results ---------------------------------------------


def test_default_rubric_is_the_exercises_split():
    default = rubric.load()
    by_kind = {
        kind: {s.name: s.points for s in default.sections if s.kind == kind}
        for kind in rubric.KINDS
    }
    assert by_kind["exercise"] == {
        "TanH": 2.5,
        "Sigmoid": 2.5,
        "Constraints": 5,
        "Dropout": 5,
        "BatchNorm": 25,
        "RNN": 40,
        "NeuralNetwork": 20,
    }
    assert by_kind["bonus"] == {"LSTM": 10, "LeNet": 10}
    assert set(by_kind["foundation"].values()) == {0}
    assert (default.max_score, default.exam_share, default.scoring) == (100, 3, "proportional")


def test_an_invalid_rubric_is_a_harness_error(tmp_path):
    rubric_file = write_rubric(tmp_path, 'scoring = "most"\n[exercise]\nTanH = 2.5\n')
    done = graders("grade", SOLUTION, "--rubric", rubric_file, "--out", tmp_path / "out")
    assert done.returncode == 1 and "scoring must be one of" in done.stderr
    assert not (tmp_path / "out").exists()


def record(section, name, outcome="passed", reason=""):
    return {
        "nodeid": f"spec/test_{section.lower()}.py::{name}",
        "section": section,
        "clause": f"{name} does its job.",
        "requirement": f"{section}: a part.",
        "outcome": outcome,
        "reason": reason,
        "duration": 0.5,
    }


RECORDS = [
    record("A", "test_a1"),
    record("A", "test_a2", "failed", "AssertionError: a2 is off by 1"),
    record("A", "test_a3"),
    record("A", "test_a4"),
    record("B", "test_b1"),
    record("B", "test_b2"),
    record("X", "test_x1", "skipped", "absent: the submission has no Layers/X.py (optional)"),
]
MADE_UP = Rubric(
    sections=(Section("A", "exercise", 10), Section("B", "exercise", 90), Section("X", "bonus", 10))
)


def test_proportional_credit_and_an_absent_bonus():
    report = scoring.score("student", RECORDS, MADE_UP)
    assert [(s.section.name, s.status, s.earned) for s in report.sections] == [
        ("A", "partial", 7.5),
        ("B", "passed", 90.0),
        ("X", "absent", 0.0),
    ]
    assert (report.score, report.bonus, report.exam_percent(report.score)) == (97.5, 0, 2.925)


def test_all_or_nothing_gives_a_section_with_a_failure_nothing():
    report = scoring.score("student", RECORDS, replace(MADE_UP, scoring="all-or-nothing"))
    assert [s.earned for s in report.sections] == [0.0, 90.0, 0.0]


def test_report_json_follows_gradescope_and_keeps_the_bonus_apart():
    records = [*RECORDS[:-1], record("X", "test_x1")]
    results = reports.gradescope(scoring.score("student", records, MADE_UP))
    assert (results["score"], results["max_score"]) == (97.5, 100)
    assert sum(test["max_score"] for test in results["tests"]) == 100
    assert (results["extra_data"]["bonus"], results["extra_data"]["bonus_max"]) == (10, 10)
    assert {key for test in results["tests"] for key in test} >= {
        "name",
        "score",
        "max_score",
        "output",
        "visibility",
    }
    a = results["tests"][0]
    assert "test_a2 does its job. — AssertionError: a2 is off by 1" in a["output"]


def test_hidden_tests_show_only_that_they_exist_and_their_outcome_until_released():
    hidden = replace(MADE_UP, hidden=("test_a2", "spec/test_b.py::*"))
    report = scoring.score("student", RECORDS, hidden)
    text = reports.markdown(report) + reports.junit(report) + json.dumps(reports.gradescope(report))
    assert "hidden test 1: failed" in text and "a2 is off by 1" not in text
    assert "test_a2" not in text and "test_b1" not in text
    assert report.score == 97.5  # hidden tests count like any other
    released = reports.markdown(scoring.score("student", RECORDS, replace(hidden, release=True)))
    assert "a2 is off by 1" in released


def test_junit_xml_has_a_suite_per_section():
    suites = ET.fromstring(reports.junit(scoring.score("student", RECORDS, MADE_UP)))
    assert [
        (s.get("name"), s.get("tests"), s.get("failures"), s.get("skipped")) for s in suites
    ] == [("A", "4", "1", "0"), ("B", "2", "0", "0"), ("X", "1", "0", "1")]


# -- unpacking zips defensively ----------------------------------------------------------------


def test_zip_with_an_absolute_path_is_refused(tmp_path):
    archive = zip_of(tmp_path / "a.zip", {"/tmp/Layers/TanH.py": ""})
    with pytest.raises(intake.UngradableError, match="absolute path"):
        intake.unzip(archive, tmp_path / "out")


def test_zip_with_a_link_is_refused(tmp_path):
    link = zipfile.ZipInfo("Layers/TanH.py")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(intake.UngradableError, match="contains a link"):
        intake.unzip(tmp_path / "a.zip", tmp_path / "out")
    assert not (tmp_path / "out" / "Layers").exists()


def test_zip_with_too_many_files_is_refused(tmp_path):
    members = {f"notes/{i}.txt": "" for i in range(intake.MAX_MEMBERS + 1)}
    with pytest.raises(intake.UngradableError, match="more than the 2000 accepted"):
        intake.unzip(zip_of(tmp_path / "a.zip", members), tmp_path / "out")


def test_zip_names_without_the_utf8_flag_are_decoded(tmp_path):
    """Many tools write UTF-8 names without saying so; others write a local code page."""
    archive = zip_of(tmp_path / "a.zip", {"Loesung/TanH.py": "", "Uebung/Sigmoid.py": ""})
    data = archive.read_bytes().replace(b"Loesung", "Lösung".encode())  # same length
    archive.write_bytes(data.replace(b"Uebung", "Übung".encode("latin-1") + b"X"))
    unpacked = intake.unzip(archive, tmp_path / "out")
    assert (unpacked / "Lösung" / "TanH.py").is_file()
    solution, _ = intake.prepare(archive, tmp_path / "work")
    assert (solution / "Layers" / "Sigmoid.py").is_file()


def test_a_folder_holding_only_the_uploaded_zip_is_graded_as_that_zip(tmp_path):
    """Course platforms export a folder per student with their upload inside."""
    (tmp_path / "student").mkdir()
    flat_zip(tmp_path / "student" / "upload.zip")
    solution, notes = intake.prepare(tmp_path / "student", tmp_path / "work")
    assert (solution / "Layers" / "Dropout.py").is_file()
    assert (solution / "Optimization" / "Loss.py").is_file()
    assert notes == [
        "supplied by the harness: Layers/__init__.py, Optimization/__init__.py, Layers/Helpers.py"
    ]


def test_a_students_message_cannot_put_a_link_or_an_image_into_a_report():
    """Markdown reports (report.md, Gradescope's output) show a student's text as text: an image
    would be fetched by whoever opens the report, a link could lead anywhere."""
    bait = "![pixel](http://example.invalid/p.png) [help](http://example.invalid) | cell"
    records = [record("TanH", "test_forward", "failed", f"AssertionError: {bait}")]
    rubric = Rubric((Section("TanH", "exercise", 2.5),))
    report = scoring.score("student", records, rubric)
    for text in (reports.markdown(report), json.dumps(reports.gradescope(report))):
        assert "![pixel](" not in text and "[help](" not in text
        assert "pixel" in text and "help" in text  # still there, as text

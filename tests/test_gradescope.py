"""The Gradescope autograder: the zip holds what Gradescope runs, and its real `run_autograder`,
run under a temporary folder standing in for /autograder, writes a results.json that follows
Gradescope's specification for a correct and for a broken submission.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import pytest

from graders import gradescope, reports, run, scoring
from graders.rubric import Rubric, Section
from tests import mutants
from tests.mutants import copy_of_solution, edit
from tests.test_graders import graders, record

ROOT = Path(__file__).resolve().parents[1]
# Sigmoid as the bonus keeps the run short; the golden Dropout test is hidden until published.
RUBRIC = """
hidden = ["test_golden_forward_and_backward"]
[exercise]
TanH = 2.5
Dropout = 5
[bonus]
Sigmoid = 2.5
"""
TEST_KEYS = {"name", "score", "max_score", "status", "output", "output_format", "visibility"}


def test_the_zip_holds_the_two_scripts_the_harness_and_pinned_requirements(tmp_path):
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    for out in (first, second):
        done = graders("gradescope", "--out", out, "--rubric", tmp_path / "rubric.toml")
        assert done.returncode == 0, done.stderr
    assert first.read_bytes() == second.read_bytes()  # no dates, a fixed order
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        requirements = archive.read("requirements.txt").decode().split()
        runner = archive.read("run_autograder").decode()
        assert archive.read("rubric.toml").decode() == RUBRIC
        archive.extractall(tmp_path / "source")
    assert names[:2] == ["setup.sh", "run_autograder"]  # at the root, as Gradescope wants them
    assert all(modes[script] & stat.S_IXUSR for script in ("setup.sh", "run_autograder"))
    assert {
        "harness/pyproject.toml",
        "harness/graders/__main__.py",
        "harness/spec/conftest.py",
        "harness/solution/Layers/RNN.py",
        "harness/reference_data/MANIFEST.json",
    } <= set(names)
    assert not [name for name in names if "__pycache__" in name or name.startswith("harness/tests")]
    assert "numpy==1.26.4" in requirements and "pytest-timeout==" in " ".join(requirements)
    assert all(line.count("==") == 1 for line in requirements)
    assert " ".join(gradescope.GRADE_FLAGS) in runner and "@GRADE_FLAGS@" not in runner
    for script in ("setup.sh", "run_autograder"):
        syntax = subprocess.run(["bash", "-n", tmp_path / "source" / script], capture_output=True)
        assert syntax.returncode == 0, syntax.stderr


def autograder_root(folder: Path, bundle: Path, submission: Path) -> Path:
    """What Gradescope's image holds after setup.sh, and a submission as Gradescope unpacks an
    upload: the files themselves. This environment stands in for setup.sh's virtualenv."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder / "source")
    for script in ("setup.sh", "run_autograder"):
        (folder / "source" / script).chmod(0o755)  # extractall keeps no modes
    shutil.copy(folder / "source" / "run_autograder", folder / "run_autograder")
    python = folder / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    python.chmod(0o755)
    (folder / "submission").mkdir()
    for file in submission.rglob("*.py"):
        if file.name not in ("__init__.py", "Helpers.py"):
            shutil.copy(file, folder / "submission" / file.name)
    return folder


def run_autograder(root: Path) -> dict:
    done = subprocess.run(
        [root / "run_autograder"],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "AUTOGRADER_ROOT": str(root), "HOME": str(root)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((root / "results" / "results.json").read_text())


@pytest.mark.timeout(900)
def test_run_autograder_writes_results_json_for_a_correct_and_a_broken_submission(tmp_path):
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    bundle = gradescope.build(tmp_path / "autograder.zip", tmp_path / "rubric.toml")
    broken = mutants.apply(
        mutants.named("dropout_without_inverse_scale"), copy_of_solution(tmp_path / "student")
    )
    edit(broken / "Layers" / "TanH.py", "class TanH(", "class Tanh(")
    roots = [
        autograder_root(tmp_path / name, bundle, submission)
        for name, submission in (("correct", ROOT / "solution"), ("broken", broken))
    ]
    with ThreadPoolExecutor(2) as pool:
        correct, wrong = pool.map(run_autograder, roots)

    for results in (correct, wrong):
        assert results["stdout_visibility"] == "hidden"
        assert results["max_score"] == 7.5  # the bonus is not in it
        assert all(set(test) >= TEST_KEYS for test in results["tests"])
        assert {test["output_format"] for test in results["tests"]} == {"md"}
        confinement = results["extra_data"]["confinement"]
        assert set(confinement["accepted_missing"]) <= {"namespaces"}  # if missing here
        assert not confinement["trusted"] and "namespaces" in confinement["layers"]
        assert all(confinement["layers"][layer] for layer in ("landlock", "seccomp", "rlimits"))

    tests = {test["name"]: test for test in correct["tests"]}
    assert correct["score"] == 7.5 and correct["extra_data"]["bonus"] == 2.5
    assert (tests["Sigmoid (bonus)"]["score"], tests["Sigmoid (bonus)"]["max_score"]) == (2.5, 0)
    assert all(test["status"] == "passed" for test in tests.values())
    assert tests["Dropout (exercise): hidden tests"]["visibility"] == "after_published"
    assert {t["visibility"] for n, t in tests.items() if "hidden" not in n} == {"visible"}

    tests = {test["name"]: test for test in wrong["tests"]}
    assert wrong["score"] < 5 and tests["TanH (exercise)"]["score"] == 0
    dropout, hidden = tests["Dropout (exercise)"], tests["Dropout (exercise): hidden tests"]
    assert dropout["status"] == hidden["status"] == "failed" and 0 < dropout["score"] < 5
    assert (
        "Training: every output is either 0 (dropped) or input / probability" in dropout["output"]
    )
    assert "hidden test 1: failed" in dropout["output"]
    assert "PyTorch oracle" not in dropout["output"]  # shown once the grades are published
    assert r"PyTorch oracle: output = x \* mask / p" in hidden["output"]
    assert "has no attribute 'TanH'" in tests["TanH (exercise)"]["output"]


# -- the format, on made-up results ------------------------------------------------------------


RECORDS = [
    record("A", "test_shown", "failed", "AssertionError: got <lambda> * 2, expected `x`"),
    record("A", "test_secret", "failed", "AssertionError: secret is 42"),
    record("A", "test_other_secret"),
    record("B", "test_bonus"),
]
HIDING = Rubric(
    sections=(Section("A", "exercise", 10), Section("B", "bonus", 5)),
    hidden=("test_*secret",),
)


def by_name(rubric: Rubric) -> dict[str, dict]:
    results = reports.gradescope(scoring.score("student", RECORDS, rubric))
    return {test["name"]: test for test in results["tests"]}


def test_hidden_tests_have_their_own_entry_shown_after_publication():
    released = by_name(replace(HIDING, release=True))
    visible, hidden = released["A (exercise)"], released["A (exercise): hidden tests"]
    assert "secret" not in visible["output"] and "hidden test 1: failed" in visible["output"]
    assert "hidden test 2" not in visible["output"]  # it passed
    assert (hidden["visibility"], hidden["score"], hidden["max_score"]) == ("after_published", 0, 0)
    assert "- 1/2 hidden tests passed" in hidden["output"]
    assert "test_secret does its job. — AssertionError: secret is 42" in hidden["output"]

    withheld = by_name(HIDING)["A (exercise): hidden tests"]
    assert (
        "secret is 42" not in withheld["output"] and "hidden test 1: failed" in withheld["output"]
    )


def test_output_is_markdown_that_shows_messages_literally():
    tests = by_name(HIDING)
    assert r"got \<lambda\> \* 2, expected \`x\`" in tests["A (exercise)"]["output"]
    assert (tests["B (bonus)"]["score"], tests["B (bonus)"]["max_score"]) == (5, 0)
    assert "B (bonus): hidden tests" not in tests  # nothing of B is hidden


def test_the_pins_come_from_this_environment_and_must_satisfy_the_project(monkeypatch):
    pins = dict(line.split("==") for line in gradescope.pinned_requirements())
    assert pins["numpy"] == metadata.version("numpy") and "pytest-xdist" in pins
    assert "coverage" not in pins and "matplotlib" not in pins  # extras are not graded with

    installed = metadata.version
    numpy_2 = lambda name: "2.4.6" if name == "numpy" else installed(name)  # noqa: E731
    monkeypatch.setattr(gradescope.metadata, "version", numpy_2)
    with pytest.raises(run.HarnessError, match=r"numpy 2.4.6 is installed, but numpy<2"):
        gradescope.pinned_requirements()

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(gradescope.metadata, "version", missing)
    with pytest.raises(run.HarnessError, match=r"is not installed here: pip install -e \. first"):
        gradescope.pinned_requirements()

"""Running the spec against an arranged submission: pytest in a child process, results as JSON.

The child is pytest running the harness's own code only: the submission's code runs in workers
it confines (spec/support/confinement/), and its files are never on pytest's command line as a
path, under its rootdir or among its test paths. pytest sends its results down a pipe that only
it holds; a missing or malformed document is the harness's failure, never a score.

The child runs single-threaded, with a fixed hash seed, its temporary files and Hypothesis's
storage inside the grading folder, a time limit per test (pytest-timeout) and one for the whole
run. When the whole run is over time it gets Ctrl-C, so pytest still writes the results of the
tests it finished.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from graders.intake import UngradableError
from graders.plugin import NOT_RUN
from graders.rubric import Rubric

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "spec"
GRACE_SECONDS = 20  # between Ctrl-C and kill


class HarnessError(RuntimeError):
    """The harness itself failed (not the submission): the grader exits non-zero."""


def pytest_command(
    solution: Path, results: int, rubric: Rubric, confinement: dict[str, Any]
) -> list[str]:
    """How the spec runs against one submission: the one place to change it. Every option
    and its value are one word (`--solution=PATH`), so no value can be taken for a path."""
    isolation = (
        []
        if confinement["trusted"]
        else ["--isolated", f"--accept-missing={','.join(confinement['accepted_missing'])}"]
    )
    return [
        sys.executable, "-m", "pytest",
        f"--rootdir={ROOT}", f"--config-file={ROOT / 'pyproject.toml'}",
        str(SPEC), f"--solution={solution}", *isolation,
        "-p", "graders.plugin", f"--results-fd={results}",
        f"--sections={','.join(section.name for section in rubric.sections)}",
        f"--timeout={rubric.test_seconds:g}",
        "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "--tb=short",
    ]  # fmt: skip


def child_environment(workdir: Path) -> dict[str, str]:
    tmp = workdir / "tmp"
    tmp.mkdir(exist_ok=True)
    tmp.chmod(0o711)  # a worker's uid passes through (spec/support/isolated.py)
    environment = {
        **os.environ,
        "TMPDIR": str(tmp),
        "HYPOTHESIS_STORAGE_DIRECTORY": str(workdir / "hypothesis"),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    for name in ("DL_SOLUTION", "DL_ISOLATED", "DL_ACCEPT_MISSING", "PYTEST_ADDOPTS"):
        environment.pop(name, None)
    return environment


def stop(process: subprocess.Popen[str]) -> str:
    """Ctrl-C first, so pytest writes its results; kill the whole group if it does not stop."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        return str(process.communicate(timeout=GRACE_SECONDS)[0])
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return str(process.communicate()[0])


def scrub(text: str, workdir: Path) -> str:
    """Messages must not differ between two gradings: no temporary paths, no addresses."""
    session = re.escape(str(workdir / "tmp")) + r"/dl-isolated-\w+"
    text = re.sub(session + "/submission/", "", text)
    text = re.sub(session, "<session>", text)
    text = text.replace(str(workdir / "submission") + "/", "").replace(str(workdir), "<tmp>")
    return re.sub(r"0x[0-9a-fA-F]{6,}", "0x…", text)


def read_all(fd: int, into: list[bytes]) -> None:
    with os.fdopen(fd, "rb") as pipe:
        into.append(pipe.read())


def results_of(data: bytes, output: str) -> dict[str, Any]:
    """The plugin's document, checked: anything else is the harness's failure."""
    try:
        document = json.loads(data)
    except ValueError:
        document = None
    if not (
        isinstance(document, dict)
        and isinstance(document.get("tests"), list)
        and isinstance(document.get("errors"), list)
        and isinstance(document.get("confinement"), dict)
        and all(isinstance(record, dict) for record in document["tests"])
    ):
        raise HarnessError(
            "the spec run sent no results (or malformed ones); its output:\n" + output[-3000:]
        )
    return document


def run_spec(
    solution: Path, rubric: Rubric, workdir: Path, confinement: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[str], dict[str, Any]]:
    """The plugin's per-test records, notes on how the run went, and what confined it."""
    results_read, results_write = os.pipe()
    command = pytest_command(solution, results_write, rubric, confinement)
    try:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=child_environment(workdir),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=[results_write],
            start_new_session=True,
        )  # its own group, to stop it whole
    finally:
        os.close(results_write)
    received: list[bytes] = []
    reader = threading.Thread(target=read_all, args=(results_read, received), daemon=True)
    reader.start()
    notes = []
    try:
        output = process.communicate(timeout=rubric.run_seconds)[0]
    except subprocess.TimeoutExpired:
        output = stop(process)
        notes.append(f"the spec run was stopped after {rubric.run_seconds:g} s")
    except KeyboardInterrupt:
        stop(process)
        raise
    reader.join()
    if process.returncode == pytest.ExitCode.USAGE_ERROR and not b"".join(received):
        raise HarnessError(output.strip()[-3000:])
    document = results_of(b"".join(received), output)
    if document["errors"]:
        raise HarnessError("the spec cannot be collected:\n" + "\n".join(document["errors"]))
    if not document["tests"]:
        raise HarnessError("the rubric's sections match no test of the spec")
    if notes and all(record["reason"] == NOT_RUN for record in document["tests"]):
        raise UngradableError(f"{notes[0]}, before it finished a test")
    for record in document["tests"]:
        record["reason"] = scrub(record["reason"], workdir)
    return document["tests"], notes, document["confinement"]

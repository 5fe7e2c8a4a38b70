"""Running the spec against an arranged submission: pytest in a child process, results as JSON.

The child runs single-threaded, with a fixed hash seed, its temporary files inside the grading
folder, a time limit per test (pytest-timeout) and one for the whole run. When the whole run
is over time it gets Ctrl-C, so pytest still writes the results of the tests it finished.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from graders.intake import UngradableError
from graders.rubric import Rubric

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "spec"
GRACE_SECONDS = 20  # between Ctrl-C and kill
PYTEST_FAILED = (3, 4, 5)  # internal error, usage error, no tests: the harness's fault


class HarnessError(RuntimeError):
    """The harness itself failed (not the submission): the grader exits non-zero."""


def pytest_command(solution: Path, results: Path, rubric: Rubric) -> list[str]:
    """How the spec runs against one submission: the one place to change it."""
    return [
        sys.executable, "-m", "pytest", str(SPEC), "--solution", str(solution),
        "--isolated",  # the submission runs sandboxed in a child process (spec/support/isolated.py)
        "-p", "graders.plugin", "--results", str(results),
        "--sections", ",".join(section.name for section in rubric.sections),
        f"--timeout={rubric.test_seconds:g}",
        "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "--tb=short",
    ]  # fmt: skip


def child_environment(workdir: Path) -> dict[str, str]:
    tmp = workdir / "tmp"
    tmp.mkdir(exist_ok=True)
    environment = {
        **os.environ,
        "TMPDIR": str(tmp),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    environment.pop("DL_SOLUTION", None)
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
    text = text.replace(str(workdir / "submission") + "/", "").replace(str(workdir), "<tmp>")
    return re.sub(r"0x[0-9a-fA-F]{6,}", "0x…", text)


def run_spec(
    solution: Path, rubric: Rubric, workdir: Path
) -> tuple[list[dict[str, Any]], list[str]]:
    """The plugin's per-test records, and notes on how the run went."""
    results = workdir / "results.json"
    command = pytest_command(solution, results, rubric)
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=child_environment(workdir),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # its own group, to stop it whole
    notes = []
    try:
        output = process.communicate(timeout=rubric.run_seconds)[0]
    except subprocess.TimeoutExpired:
        output = stop(process)
        notes.append(f"the spec run was stopped after {rubric.run_seconds:g} s")
    except KeyboardInterrupt:
        stop(process)
        raise
    document = json.loads(results.read_text()) if results.exists() else {"tests": []}
    if notes and not document["tests"]:
        raise UngradableError(f"{notes[0]}, before it started testing")
    if not results.exists():
        if process.returncode in PYTEST_FAILED:
            raise HarnessError(f"pytest failed (exit status {process.returncode}):\n{output}")
        raise UngradableError(
            f"the spec run ended without results (exit status "
            f"{process.returncode}): the submission may have ended the process"
        )
    if document["errors"]:
        raise HarnessError("the spec cannot be collected:\n" + "\n".join(document["errors"]))
    if not document["tests"]:
        raise HarnessError("the rubric's sections match no test of the spec")
    for record in document["tests"]:
        record["reason"] = scrub(record["reason"], workdir)
    return document["tests"], notes

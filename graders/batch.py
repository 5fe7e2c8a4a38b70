"""Class mode: grade every submission in a folder, N at a time, and write a gradebook.

Each submission is graded by its own `python -m graders grade` process, so one that hangs or
crashes costs only its own report. A student whose report.json was made from the same
submission, rubric and spec is not graded again: an interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from rich.progress import Progress

from graders import run
from graders.grade import fingerprint, name_of
from graders.rubric import Rubric


def submissions_in(folder: Path) -> dict[str, Path]:
    """Student name -> submission: every folder and .zip file directly inside `folder`."""
    paths = sorted(
        p
        for p in folder.iterdir()
        if not p.name.startswith(".") and (p.is_dir() or p.suffix.lower() == ".zip")
    )
    found: dict[str, Path] = {}
    for path in paths:
        if name_of(path) in found:
            raise run.HarnessError(
                f"two submissions of {name_of(path)}: {found[name_of(path)]} and {path}"
            )
        found[name_of(path)] = path
    return found


def is_current(out: Path, stamp: dict[str, Any]) -> bool:
    try:
        report = json.loads((out / "report.json").read_text())
        return bool(report["extra_data"]["fingerprint"] == stamp)
    except (OSError, ValueError, KeyError):
        return False


def grade_one(
    path: Path, out: Path, rubric_file: Path, rubric: Rubric, confinement: dict[str, Any]
) -> str:
    """Grade one submission in its own process; the reason when no report came of it."""
    shutil.rmtree(out, ignore_errors=True)  # a stale report must not stand for this grading
    command = [sys.executable, "-m", "graders", "grade", str(path.resolve()), "--quiet"]
    command += ["--out", str(out.resolve()), "--rubric", str(rubric_file.resolve())]
    command += ["--release"] if rubric.release else []
    command += [f"--accept-missing={','.join(confinement['accepted_missing'])}"]
    command += ["--trust-submission"] if confinement["trusted"] else []
    limit = rubric.run_seconds + 2 * run.GRACE_SECONDS + 60
    try:
        done = subprocess.run(command, cwd=run.ROOT, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return f"the grader did not finish within {limit:g} s"
    if done.returncode != 0 or not (out / "report.json").exists():
        return (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    return ""


def gradebook_row(name: str, report: dict[str, Any], rubric: Rubric) -> list[Any]:
    """Points per section; for a section worth no points, its result ("9/12 passed")."""
    extra = report["extra_data"]
    cells = [
        extra["sections"][s.name] if s.points else extra["results"][s.name] for s in rubric.sections
    ]
    return [name, *cells, report["score"], extra["bonus"], extra["exam_percent"], extra["problem"]]


def gradebook(out: Path, names: list[str], rubric: Rubric, failures: dict[str, str]) -> Path:
    """One row per student: a column per section, total, bonus, exam percent, any problem."""
    path = out / "gradebook.csv"
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        header = ["student", *(s.name for s in rubric.sections), "total", "bonus"]
        writer.writerow([*header, "exam_percent", "problem"])
        for name in names:
            try:
                report = json.loads((out / name / "report.json").read_text())
            except (OSError, ValueError):
                problem = f"no report: {failures.get(name, 'the grader failed')}"
                writer.writerow([name, *[""] * (len(header) - 1), "", problem])
                continue
            writer.writerow(gradebook_row(name, report, rubric))
    return path


def batch(
    folder: Path,
    out: Path,
    rubric_file: Path,
    rubric: Rubric,
    jobs: int,
    fresh: bool = False,
    confinement: dict[str, Any] | None = None,
) -> tuple[Path, dict[str, str], int]:
    """Grade the submissions in `folder`: the gradebook, the failures, how many were graded."""
    submissions = submissions_in(folder)
    todo = [
        name
        for name, path in submissions.items()
        if fresh or not is_current(out / name, fingerprint(path, rubric))
    ]
    failures: dict[str, str] = {}
    asked = confinement or {"trusted": False, "accepted_missing": []}
    pool = ThreadPoolExecutor(max_workers=jobs)  # threads that wait for grader processes
    try:
        futures = {
            pool.submit(grade_one, submissions[name], out / name, rubric_file, rubric, asked): name
            for name in todo
        }
        with Progress(transient=False) as progress:
            task = progress.add_task(f"grading {len(todo)} of {len(submissions)}", total=len(todo))
            for future in as_completed(futures):
                if failure := future.result():
                    failures[futures[future]] = failure
                progress.advance(task)
    finally:
        pool.shutdown(cancel_futures=True)  # on Ctrl-C: finish the running gradings only
    out.mkdir(parents=True, exist_ok=True)
    return gradebook(out, list(submissions), rubric, failures), failures, len(todo)

"""Class mode: grade every submission in a folder, N at a time; write a gradebook and a class
summary (graders/analytics.py).

Each submission is graded by its own `python -m graders grade` process, so one that hangs or
crashes costs only its own report. A student whose report.json was made from the same
submission, rubric and spec is not graded again: an interrupted batch resumes where it stopped.
`--shard K/N` grades the K-th of N parts of the class (a job of a cluster's array); `merge`
(graders/merge.py) puts the parts together as if one machine had graded them all.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress

from graders import analytics, run, similarity
from graders.grade import CONFINED, fingerprint, name_of
from graders.rubric import Rubric
from graders.similarity import Similarity

SHARD_FILE = "shard.json"  # in a shard's output: which part of which class it graded


class ClassError(Exception):
    """The folder given as a class holds no submissions, or is no folder: a usage error."""


@dataclass(frozen=True)
class Shard:
    index: int  # 1 ... count
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, name: str) -> bool:
        """By a hash of the name, not by position in the class: a student stays in their shard
        when a late submission joins the class, so a rerun grades only the newcomer."""
        digest = int(hashlib.sha256(name.encode()).hexdigest(), 16)
        return digest % self.count == self.index - 1


def parse_shard(text: str) -> Shard:
    index, slash, count = text.partition("/")
    if not (slash and index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise ValueError(f"a shard is K/N with 1 <= K <= N (as 2/4), not {text!r}")
    return Shard(int(index), int(count))


@dataclass(frozen=True)
class Outcome:
    gradebook: Path
    summary: Path  # class.md
    failures: dict[str, str]  # student -> why no report came of their grading
    graded: int  # gradings run (the others' reports were up to date)
    students: int  # in this batch (this shard's part of the class)


def submissions_in(folder: Path) -> dict[str, Path]:
    """Student name -> submission: every folder and .zip file directly inside `folder`."""
    if not folder.is_dir():
        raise ClassError(f"{folder} is not a folder")
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
    if not found:
        raise ClassError(
            f"{folder} holds no submissions (a submission is a folder or a .zip file in it)"
        )
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


def write_class(
    out: Path,
    names: list[str],
    rubric: Rubric,
    failures: dict[str, str],
    similar: Similarity | None = None,
) -> tuple[Path, Path]:
    """The files about the whole class: gradebook.csv, class.md (and scores.png)."""
    names = sorted(names)  # not the folder's order: a merge of shards must write the same rows
    return gradebook(out, names, rubric, failures), analytics.write(
        out, names, rubric, failures, similar
    )


def grade_all(
    submissions: dict[str, Path],
    out: Path,
    rubric_file: Path,
    rubric: Rubric,
    jobs: int,
    of: int,
    confinement: dict[str, Any],
) -> dict[str, str]:
    """Grade each submission into `out`/NAME, `jobs` at a time; why no report came of some."""
    failures: dict[str, str] = {}
    pool = ThreadPoolExecutor(max_workers=jobs)  # threads that wait for grader processes
    try:
        futures = {
            pool.submit(grade_one, path, out / name, rubric_file, rubric, confinement): name
            for name, path in submissions.items()
        }
        with Progress(transient=False) as progress:
            task = progress.add_task(f"grading {len(futures)} of {of}", total=len(futures))
            for future in as_completed(futures):
                if failure := future.result():
                    failures[futures[future]] = failure
                progress.advance(task)
    finally:
        pool.shutdown(cancel_futures=True)  # on Ctrl-C: finish the running gradings only
    return failures


def batch(
    folder: Path,
    out: Path,
    rubric_file: Path,
    rubric: Rubric,
    jobs: int,
    fresh: bool = False,
    shard: Shard | None = None,
    check_similarity: bool = False,
    confinement: dict[str, Any] | None = None,
) -> Outcome:
    """Grade the submissions in `folder` (this shard's part of them) and write the class files."""
    whole_class = submissions_in(folder)
    if shard is not None:  # until this run is complete, merge must not take the folder for done
        (out / SHARD_FILE).unlink(missing_ok=True)
    mine = {n: p for n, p in whole_class.items() if shard is None or shard.holds(n)}
    todo = {
        name: path
        for name, path in mine.items()
        if fresh or not is_current(out / name, fingerprint(path, rubric))
    }
    asked = confinement or CONFINED
    failures = grade_all(todo, out, rubric_file, rubric, jobs, len(mine), asked)
    out.mkdir(parents=True, exist_ok=True)
    similar = similarity.compare(whole_class) if check_similarity else None
    book, summary = write_class(out, list(mine), rubric, failures, similar)
    if shard is not None:  # last: the sign that this shard is complete
        record = {"shard": str(shard), "class": sorted(whole_class), "failures": failures}
        (out / SHARD_FILE).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return Outcome(book, summary, failures, len(todo), len(mine))

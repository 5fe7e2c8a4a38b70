"""Grading one submission: arrange it, run the spec against it, score, write the report.

Whatever the submission does, the result is a report. A failure of the harness itself (an
invalid rubric, a spec that cannot be collected, a spec run that sent no results) writes a
report saying so, with no score and no fingerprint (a batch grades it again), and raises.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

from graders import intake, reports, run, scoring
from graders.rubric import Rubric

HARNESS = ("spec", "graders", "solution", "reference_data")  # what a grade depends on
CONFINED: dict[str, Any] = {"trusted": False, "accepted_missing": []}  # unless told otherwise


def harness_hash() -> str:
    digest = hashlib.sha256()
    for folder in HARNESS:
        for path in sorted((run.ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(run.ROOT).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(path: Path, rubric: Rubric) -> dict[str, Any]:
    """What a report was made from; a batch regrades a student when any of it changes."""
    return {
        "submission": intake.content_hash(path),
        "rubric": rubric.digest,
        "release": rubric.release,
        "harness": harness_hash(),
    }


def name_of(path: Path) -> str:
    return path.stem if path.suffix.lower() == ".zip" else path.name


def grading_folder() -> Path:
    """A private folder for one grading, which a worker's uid may pass through, outside the
    harness (pytest must never find the submission under its rootdir)."""
    workdir = Path(tempfile.mkdtemp(prefix="dl-grade-"))
    if workdir.resolve().is_relative_to(run.ROOT):
        shutil.rmtree(workdir)
        raise run.HarnessError(f"TMPDIR must be outside the harness ({run.ROOT})")
    workdir.chmod(0o711)
    return workdir


def assess(path: Path, rubric: Rubric, confinement: dict[str, Any]) -> scoring.Report:
    """`confinement`: {"trusted": bool, "accepted_missing": [layer, ...]}, as asked for."""
    name, stamp = name_of(path), fingerprint(path, rubric)
    workdir = grading_folder()
    try:
        solution, notes = intake.prepare(path, workdir)
        records, run_notes, held = run.run_spec(solution, rubric, workdir, confinement)
    except intake.UngradableError as problem:
        return scoring.ungradable(name, rubric, str(problem), stamp)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return scoring.score(name, records, rubric, [*notes, *run_notes], stamp, held)


def grade(
    path: Path, out: Path, rubric: Rubric, confinement: dict[str, Any] | None = None
) -> scoring.Report:
    """Grade the folder or zip at `path` and write its report files into `out`."""
    asked = confinement or CONFINED
    try:
        report = assess(Path(path), rubric, asked)
    except run.HarnessError as failure:
        broken = scoring.ungradable(name_of(Path(path)), rubric, f"the harness failed: {failure}")
        reports.write(broken, Path(out))
        raise
    reports.write(report, Path(out))
    return report

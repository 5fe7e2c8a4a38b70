"""Which submissions of a class share code: `batch --similarity`, with copydetect.

copydetect (the `similarity` extra) tokenizes Python with pygments, so renamed variables and
changed comments or layout do not hide shared code, and fingerprints it as MOSS does. Two
students are compared file by file: the same file of the contract in both (`Layers/RNN.py`
against `Layers/RNN.py`), wherever each put it. Left out as boilerplate: the course's files
(`Helpers.py`, the `__init__.py` files the course hands out or the harness supplies) and every
fingerprint of the reference solution, so code everyone writes the same way (or was given)
matches nothing. With copydetect's default thresholds every k-gram is a fingerprint (no
winnowing), so the scores do not depend on Python's hash seed: the same class gives the same
numbers.
"""

from __future__ import annotations

import importlib.util
import io
import tempfile
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from graders import intake, run
from spec.support import layout

NOISE = 25  # copydetect's default: matches shorter than this (in filtered characters) are noise
THRESHOLD = 0.33  # copydetect's default display threshold: flag a pair sharing this much
COMPARED = sorted(
    place for place in layout.CANONICAL.values() if place not in layout.SUPPLIED_FROM_HARNESS
)


@dataclass(frozen=True)
class Pair:
    first: str  # student names, in order
    second: str
    first_share: (
        float  # of the first's own code (not the reference's), the part also in the second's
    )
    second_share: float
    shared: int  # characters of copydetect's filtered code in common
    files: tuple[str, ...]  # the files with shared code


@dataclass(frozen=True)
class Similarity:
    pairs: list[Pair]  # flagged, the most similar first
    compared: int  # submissions compared
    threshold: float = THRESHOLD
    skipped: dict[str, str] = field(default_factory=dict)  # not compared: why


def available() -> bool:
    return importlib.util.find_spec("copydetect") is not None


def boilerplate() -> Any:
    """The fingerprints of every file of the reference solution (course files included)."""
    import numpy as np
    from copydetect import CodeFingerprint

    hashes = [
        hash_
        for path in sorted((run.ROOT / "solution").rglob("*.py"))
        for hash_ in CodeFingerprint(str(path), NOISE, 1).hashes
    ]
    return np.unique(np.array(hashes))


def fingerprints(path: Path, ignored: Any, workdir: Path) -> dict[str, Any]:
    """A submission's contract files (place -> fingerprint), found as the graders find them."""
    from copydetect import CodeFingerprint

    solution, _ = intake.prepare(path, workdir)
    found = {}
    for place in COMPARED:
        file = solution / place
        if file.is_file():
            text = file.read_text(encoding="utf-8", errors="replace")
            found[place] = CodeFingerprint(place, NOISE, 1, ignored, fp=io.StringIO(text))
    return found


def pair_of(first: str, second: str, a: dict[str, Any], b: dict[str, Any]) -> Pair:
    from copydetect import compare_files

    own_a = sum(f.token_coverage for f in a.values())
    own_b = sum(f.token_coverage for f in b.values())
    shared_a = shared_b = 0.0
    files = []
    for place in sorted(a.keys() & b.keys()):
        overlap, (share_a, share_b), _ = compare_files(a[place], b[place])
        if overlap:
            files.append(place)
            shared_a += share_a * a[place].token_coverage
            shared_b += share_b * b[place].token_coverage
    return Pair(
        first,
        second,
        round(shared_a / own_a, 4) if own_a else 0.0,
        round(shared_b / own_b, 4) if own_b else 0.0,
        round(shared_a),
        tuple(files),
    )


def compare(submissions: dict[str, Path], threshold: float = THRESHOLD) -> Similarity:
    """Every pair of the class's submissions; the pairs sharing at least `threshold` of either
    student's own code."""
    ignored = boilerplate()
    prints: dict[str, dict[str, Any]] = {}
    skipped = {}
    for name, path in sorted(submissions.items()):
        with tempfile.TemporaryDirectory(prefix="dl-similarity-") as workdir:
            try:
                prints[name] = fingerprints(path, ignored, Path(workdir))
            except intake.UngradableError as problem:
                skipped[name] = str(problem)
    pairs = [pair_of(a, b, prints[a], prints[b]) for a, b in combinations(sorted(prints), 2)]
    flagged = [p for p in pairs if max(p.first_share, p.second_share) >= threshold]
    flagged.sort(key=lambda p: (-max(p.first_share, p.second_share), p.first, p.second))
    return Similarity(flagged, len(prints), threshold, skipped)

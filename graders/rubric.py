"""The rubric: what each section of the spec is worth, read from a TOML file (see rubric.toml)."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

DEFAULT = Path(__file__).with_name("rubric.toml")
KINDS = ("foundation", "exercise", "bonus")
SCORING = ("proportional", "all-or-nothing")


class RubricError(ValueError):
    """The rubric file is not valid: a harness problem, not the student's."""


@dataclass(frozen=True)
class Section:
    name: str
    kind: str  # "foundation", "exercise" or "bonus"
    points: float


@dataclass(frozen=True)
class Rubric:
    sections: tuple[Section, ...]
    exam_share: float = 3.0
    scoring: str = "proportional"
    hidden: tuple[str, ...] = ()
    release: bool = False
    test_seconds: float = 300
    run_seconds: float = 900
    digest: str = ""  # of the rubric file, so a changed rubric regrades a batch

    @property
    def max_score(self) -> float:
        return sum(s.points for s in self.sections if s.kind != "bonus")

    @property
    def bonus_max(self) -> float:
        return sum(s.points for s in self.sections if s.kind == "bonus")

    def is_hidden(self, nodeid: str) -> bool:
        name = nodeid.rpartition("::")[2]
        return any(fnmatchcase(nodeid, p) or fnmatchcase(name, p) for p in self.hidden)


def load(path: Path = DEFAULT) -> Rubric:
    text = Path(path).read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RubricError(f"{path}: {error}") from error
    unknown = set(data) - {*KINDS, "limits", "exam_share", "scoring", "hidden", "release"}
    if unknown:
        raise RubricError(f"{path}: unknown keys {sorted(unknown)}")
    if data.get("scoring", "proportional") not in SCORING:
        raise RubricError(f"{path}: scoring must be one of {SCORING}, not {data['scoring']!r}")
    sections = tuple(
        Section(name, kind, float(points))
        for kind in KINDS
        for name, points in data.get(kind, {}).items()
    )
    names = [s.name for s in sections]
    if not names or len(set(names)) != len(names):
        raise RubricError(f"{path}: sections must be listed, each once")
    limits = data.get("limits", {})
    return Rubric(
        sections=sections,
        exam_share=float(data.get("exam_share", 3.0)),
        scoring=data.get("scoring", "proportional"),
        hidden=tuple(data.get("hidden", ())),
        release=bool(data.get("release", False)),
        test_seconds=float(limits.get("test_seconds", 300)),
        run_seconds=float(limits.get("run_seconds", 900)),
        digest=hashlib.sha256(text.encode()).hexdigest(),
    )

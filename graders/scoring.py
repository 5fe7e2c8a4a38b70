"""From the spec's per-test records to points: one score per section of the rubric.

Within a section, credit is proportional to the tests passed (the default) or all-or-nothing
(the course's rule, a rubric option). A section whose tests were all skipped as "absent:" (an
optional part not handed in) is reported absent and earns nothing; it is not an error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graders.rubric import Rubric, RubricError, Section

ABSENT = "absent:"


def points(value: float) -> float:
    """Rounded to hundredths, halves up (2.5 points for 1 test of 4 are 0.63)."""
    return math.floor(value * 100 + 0.5) / 100


@dataclass(frozen=True)
class Check:
    """One test of the spec, as a report shows it."""

    name: str  # the test's name, or "hidden test k" while it is withheld
    clause: str  # the requirement sentence it proves (empty while withheld)
    outcome: str  # passed, failed, error or skipped
    reason: str  # the assertion message, short (empty while withheld)
    withheld: bool = False  # hidden and not released: name, clause and reason left out
    hidden: bool = False  # hidden by the rubric, whether released or not


@dataclass(frozen=True)
class SectionScore:
    section: Section
    status: str  # passed, partial, failed, absent, skipped or not graded
    earned: float
    passed: int  # tests passed ...
    counted: int  # ... of the tests that count (skipped ones do not)
    requirement: str = ""  # the spec module's summary line
    checks: tuple[Check, ...] = ()

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.outcome in ("failed", "error")]


@dataclass(frozen=True)
class Report:
    submission: str
    rubric: Rubric
    sections: tuple[SectionScore, ...]
    problem: str = ""  # why the submission could not be graded at all
    notes: tuple[str, ...] = ()
    fingerprint: dict[str, Any] = field(default_factory=dict)  # what was graded with what
    confinement: dict[str, Any] = field(default_factory=dict)  # what held the submission

    @property
    def score(self) -> float:
        return points(sum(s.earned for s in self.sections if s.section.kind != "bonus"))

    @property
    def bonus(self) -> float:
        return points(sum(s.earned for s in self.sections if s.section.kind == "bonus"))

    def share(self, value: float) -> float:
        """Points as a fraction of the exercise's maximum (bonus not included in it)."""
        return value / self.rubric.max_score if self.rubric.max_score else 0.0

    def exercise_percent(self, value: float) -> float:
        return round(100 * self.share(value), 2)

    def exam_percent(self, value: float) -> float:
        return round(self.rubric.exam_share * self.share(value), 3)


def checks_of(records: list[dict[str, Any]], rubric: Rubric) -> tuple[Check, ...]:
    """What students see of a section's tests: hidden ones only by number and outcome."""
    checks: list[Check] = []
    for record in records:
        hidden = rubric.is_hidden(record["nodeid"])
        if hidden and not rubric.release:
            number = sum(check.withheld for check in checks) + 1
            checks.append(Check(f"hidden test {number}", "", record["outcome"], "", True, True))
        else:
            name = record["nodeid"].rpartition("::")[2]
            clause = record["clause"] or name
            checks.append(Check(name, clause, record["outcome"], record["reason"], False, hidden))
    return tuple(checks)


def score_section(section: Section, records: list[dict[str, Any]], rubric: Rubric) -> SectionScore:
    if not records:
        raise RubricError(f"the rubric's section {section.name} has no tests in the spec")
    checks = checks_of(records, rubric)
    requirement = records[0]["requirement"]
    counted = [c for c in checks if c.outcome != "skipped"]
    passed = sum(c.outcome == "passed" for c in counted)
    if not counted:
        absent = all(r["reason"].startswith(ABSENT) for r in records)
        status = "absent" if absent else "skipped"
        return SectionScore(section, status, 0.0, 0, 0, requirement, checks)
    if rubric.scoring == "all-or-nothing":
        earned = section.points if passed == len(counted) else 0.0
    else:
        earned = section.points * passed / len(counted)
    status = {len(counted): "passed", 0: "failed"}.get(passed, "partial")
    return SectionScore(section, status, points(earned), passed, len(counted), requirement, checks)


def score(
    submission: str,
    records: list[dict[str, Any]],
    rubric: Rubric,
    notes: Iterable[str] = (),
    fingerprint: dict[str, Any] | None = None,
    confinement: dict[str, Any] | None = None,
) -> Report:
    """The report of a graded submission."""
    by_section: dict[str, list[dict[str, Any]]] = {s.name: [] for s in rubric.sections}
    for record in records:
        if record["section"] in by_section:
            by_section[record["section"]].append(record)
    sections = tuple(score_section(s, by_section[s.name], rubric) for s in rubric.sections)
    return Report(
        submission, rubric, sections, "", tuple(notes), fingerprint or {}, confinement or {}
    )


def ungradable(
    submission: str, rubric: Rubric, problem: str, fingerprint: dict[str, Any] | None = None
) -> Report:
    """The report of a submission that could not be graded: every section 0, and why."""
    sections = tuple(SectionScore(s, "not graded", 0.0, 0, 0) for s in rubric.sections)
    return Report(submission, rubric, sections, problem, (), fingerprint or {})

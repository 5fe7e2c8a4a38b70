"""What a class got wrong: item analysis over the class's reports, written as class.md, with
the points per section as histograms in scores.png.

Item analysis: for every test of the spec, the share of students it failed, among those it ran
for (a section handed in; a submission that could be graded at all). The most-failed tests, with
the requirement sentence each proves, say what to teach again. The reports are the only input:
a test the rubric hides is named as the reports name it ("hidden test 2") unless the batch ran
with --release. Like the gradebook, both files are functions of the reports alone.
"""

from __future__ import annotations

import json
import statistics
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graders.reports import md
from graders.rubric import Rubric, Section
from graders.similarity import Similarity

MOST_FAILED = 10  # tests listed in "Most-failed tests"
NAMED = 5  # students named beside a test of the item analysis; beyond, the gradebook tells
STRUGGLES = 3  # sections named in "What the class struggled with"
FAILED = ("failure", "error")  # junit.xml's elements for a test that did not pass
NO_MATPLOTLIB = (
    "No histograms: matplotlib is not installed (it comes with the train extra: "
    '`pip install -e ".[train]"`).'
)


@dataclass
class Item:
    """One test of the spec over the class."""

    section: str
    name: str
    clause: str = ""  # the requirement sentence, as the reports of its failures give it
    failed: list[str] = field(default_factory=list)  # students
    ran: int = 0  # students it passed or failed for

    @property
    def rate(self) -> float:
        return len(self.failed) / self.ran if self.ran else 0.0


@dataclass(frozen=True)
class Student:
    name: str
    report: dict[str, Any]
    outcomes: list[tuple[str, str, str, str]]  # section, test, outcome, clause (junit.xml)


def outcomes_of(junit: Path) -> list[tuple[str, str, str, str]]:
    outcomes = []
    for suite in ET.parse(junit).getroot():
        for case in suite.iter("testcase"):
            child = next(iter(case), None)
            outcome = "passed" if child is None else child.tag
            clause = "" if child is None else (child.text or "")
            outcomes.append((suite.get("name", ""), case.get("name", ""), outcome, clause))
    return outcomes


def load(out: Path, names: Sequence[str]) -> list[Student]:
    """The students of `names` whose report exists, from their report.json and junit.xml."""
    students = []
    for name in names:
        folder = out / name
        try:
            report = json.loads((folder / "report.json").read_text())
            outcomes = outcomes_of(folder / "junit.xml")
        except (OSError, ValueError, ET.ParseError):
            continue
        students.append(Student(name, report, outcomes))
    return students


def item_analysis(graded: list[Student]) -> list[Item]:
    """Every test that ran, in the spec's order, with who failed it."""
    items: dict[tuple[str, str], Item] = {}
    for student in graded:
        for section, name, outcome, clause in student.outcomes:
            if outcome == "skipped":
                continue
            item = items.setdefault((section, name), Item(section, name))
            item.ran += 1
            if outcome in FAILED:
                item.failed.append(student.name)
                item.clause = item.clause or clause
    return list(items.values())


def most_failed(items: list[Item], count: int) -> list[Item]:
    """The tests that failed the largest share of the class; the spec's order breaks ties."""
    failing = [item for item in items if item.failed]
    return sorted(failing, key=lambda item: -item.rate)[:count]


def points_in(graded: list[Student], section: Section) -> list[float]:
    """A section's points over the students who handed it in."""
    return [
        float(s.report["extra_data"]["sections"][section.name])
        for s in graded
        if s.report["extra_data"]["results"][section.name] not in ("absent", "skipped")
    ]


def percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def stats_row(label: str, points: float, earned: list[float]) -> str:
    if not earned:
        return f"| {label} | {points:g} | - | - | - | - | 0 |"
    full = sum(value >= points for value in earned)
    zero = sum(value == 0 for value in earned)
    mean, median = statistics.fmean(earned), statistics.median(earned)
    return f"| {label} | {points:g} | {mean:.1f} | {median:g} | {full} | {zero} | {len(earned)} |"


def struggles(graded: list[Student], rubric: Rubric, items: list[Item]) -> list[str]:
    """The sections with the lowest mean share of their points, each with its most-failed test."""
    ranked = []
    for section in rubric.sections:
        earned = points_in(graded, section)
        if section.points and earned and statistics.fmean(earned) < section.points:
            ranked.append((statistics.fmean(earned) / section.points, section, earned))
    lines = []
    for share, section, earned in sorted(ranked, key=lambda entry: entry[0])[:STRUGGLES]:
        lost = sum(value < section.points for value in earned)
        line = (
            f"**{section.name}**: {percent(share, 1)} of its {section.points:g} points on average; "
            f"{lost} of {len(earned)} lost points there."
        )
        top = most_failed([i for i in items if i.section == section.name], 1)
        if top:
            line += f" Most failed: {quoted(top[0])} ({len(top[0].failed)} of {top[0].ran})."
        lines.append(line)
    return lines


def who(item: Item) -> str:
    if len(item.failed) > NAMED:
        return ""
    return f" ({', '.join(map(md, item.failed))})"


def quoted(item: Item) -> str:
    return f"`{item.name}`" + (f" — {md(item.clause)}" if item.clause else "")


def similarity_lines(found: Similarity) -> list[str]:
    lines = [
        "",
        "## Similar submissions",
        "",
        f"{found.compared} submissions compared with copydetect, file by file (the same file of "
        "the contract in both), leaving out the course's files (`Helpers.py`, `__init__.py`) "
        "and all code also in the reference solution. A share is the part of a student's own "
        f"code (not the reference's) also found in the other's. Flagged: either share at least "
        f"{percent(found.threshold, 1)}.",
        "",
    ]
    if not found.pairs:
        lines.append("No pair flagged.")
    else:
        lines += [
            "| Student | Student | Shares | Shared code | Files |",
            "| --- | --- | ---: | ---: | --- |",
        ]
    for pair in found.pairs:
        lines.append(
            f"| {md(pair.first)} | {md(pair.second)} "
            f"| {percent(pair.first_share, 1)} / {percent(pair.second_share, 1)} "
            f"| {pair.shared} | {', '.join(pair.files)} |"
        )
    if found.skipped:
        lines += [
            "",
            "Not compared: " + "; ".join(f"{md(n)} ({md(r)})" for n, r in found.skipped.items()),
        ]
    return lines


def summary(
    names: Sequence[str],
    students: list[Student],
    rubric: Rubric,
    failures: dict[str, str],
    found: Similarity | None,
    histograms: bool,
) -> str:
    """class.md: who was graded, what the class struggled with, the sections' statistics, the
    most-failed tests, the full item analysis, similar pairs when asked for, who was not graded."""
    graded = [s for s in students if not s.report["extra_data"]["problem"]]
    problems = {s.name: s.report["extra_data"]["problem"] for s in students}
    ungraded = {}
    for name in names:
        if name not in problems:
            ungraded[name] = f"no report: {failures.get(name, 'the grader failed')}"
        elif problems[name]:
            ungraded[name] = problems[name]
    items = item_analysis(graded)
    lines = [
        "# Exercise 3: the class",
        "",
        f"{len(names)} submissions: {len(graded)} graded"
        + (f", {len(ungraded)} not graded (listed at the end, left out below)" if ungraded else "")
        + ".",
    ]
    if not graded:
        return "\n".join([*lines, *not_graded_lines(ungraded)]) + "\n"
    totals = [float(s.report["score"]) for s in graded]
    lines += [
        f"Total: mean {statistics.fmean(totals):.1f} / {rubric.max_score:g}, median "
        f"{statistics.median(totals):g}; {sum(t >= rubric.max_score for t in totals)} with "
        f"full marks.",
        "",
        "## What the class struggled with",
        "",
    ]
    lines += [f"{k}. {line}" for k, line in enumerate(struggles(graded, rubric, items), 1)] or [
        "Nothing: every graded student earned every section's points."
    ]
    lines += [
        "",
        "## Points per section",
        "",
        "Over the students who handed the section in (an optional part may be left out).",
        "",
        "| Section | Points | Mean | Median | Full marks | Zero | Handed in |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        stats_row("Total", rubric.max_score, totals),
    ]
    lines += [
        stats_row(s.name, s.points, points_in(graded, s)) for s in rubric.sections if s.points
    ]
    lines += [
        "",
        "![Points per section over the class](scores.png)" if histograms else NO_MATPLOTLIB,
    ]
    failing = [item for item in items if item.failed]
    lines += ["", "## Most-failed tests", ""]
    if failing:
        lines += ["| Test and the requirement it proves | Section | Failed | Share |"]
        lines += ["| --- | --- | ---: | ---: |"]
        for i in most_failed(items, MOST_FAILED):
            share = percent(len(i.failed), i.ran)
            lines.append(f"| {quoted(i)} | {i.section} | {len(i.failed)} of {i.ran} | {share} |")
    else:
        lines.append("None: every test passed for every graded student.")
    lines += [
        "",
        "## Item analysis",
        "",
        f"{len(items)} tests ran; {len(items) - len(failing)} passed for everyone. Those that "
        "failed for someone, by section, in the spec's order:",
    ]
    for section in rubric.sections:
        section_items = [i for i in failing if i.section == section.name]
        if section_items:
            lines += ["", f"### {section.name}", ""]
            lines += [f"- {len(i.failed)} of {i.ran}{who(i)}: {quoted(i)}" for i in section_items]
    if found is not None:
        lines += similarity_lines(found)
    return "\n".join([*lines, *not_graded_lines(ungraded)]) + "\n"


def not_graded_lines(ungraded: dict[str, str]) -> list[str]:
    if not ungraded:
        return []
    return [
        "",
        "## Not graded",
        "",
        *(f"- {md(name)}: {md(why)}" for name, why in ungraded.items()),
    ]


def histograms(students: list[Student], rubric: Rubric, path: Path) -> bool:
    """scores.png: a histogram of the points of each section worth points, and of the total.
    False, and no file, without matplotlib. The PNG holds no version or date: same bytes."""
    try:
        from matplotlib import style
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        path.unlink(missing_ok=True)
        return False
    graded = [s for s in students if not s.report["extra_data"]["problem"]]
    panels = [("Total", rubric.max_score, [float(s.report["score"]) for s in graded])]
    panels += [(s.name, s.points, points_in(graded, s)) for s in rubric.sections if s.points]
    columns = min(5, len(panels))
    rows = -(-len(panels) // columns)
    with style.context("default"):  # not the user's matplotlibrc: the same picture everywhere
        figure = Figure(figsize=(3 * columns, 2.4 * rows), layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(rows, columns, squeeze=False).ravel()
        for ax, (name, points, earned) in zip(axes, panels, strict=False):
            ax.hist(earned, bins=10, range=(0, points), color="tab:blue", edgecolor="white")
            ax.set_title(f"{name} ({len(earned)} students)", fontsize=10)
            ax.set_xlabel(f"points of {points:g}", fontsize=9)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        for ax in axes[len(panels) :]:
            ax.set_visible(False)
        figure.savefig(path, format="png", dpi=80, metadata={"Software": None})
    return True


def write(
    out: Path,
    names: Sequence[str],
    rubric: Rubric,
    failures: dict[str, str],
    found: Similarity | None = None,
) -> Path:
    """class.md and scores.png in `out`, for the students in `names` (the gradebook's rows)."""
    students = load(out, names)
    drew = histograms(students, rubric, out / "scores.png")
    path = out / "class.md"
    path.write_text(summary(names, students, rubric, failures, found, drew), encoding="utf-8")
    return path

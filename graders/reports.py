"""A report in the forms its readers want: a terminal table, report.json (the Gradescope
autograder's results.json schema), report.md, and JUnit XML for CI dashboards.

Every file is a function of the report alone: no timestamps, no durations, a fixed order, so
two gradings of the same submission write the same bytes.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from graders.scoring import Report, SectionScore

REASON_LIMIT = 240
WITHHELD = "details are released after grading"


def short(text: str, limit: int = REASON_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def result_of(section: SectionScore) -> str:
    if section.status in ("absent", "skipped", "not graded"):
        return section.status
    return f"{section.passed}/{section.counted} passed"


def points_of(section: SectionScore) -> str:
    return f"{section.earned:g} / {section.section.points:g}"


def failure_lines(section: SectionScore) -> list[str]:
    """One line per failed test: the requirement sentence and the message, or only the fact.
    When all the visible failures have one reason (a missing file), that reason once."""
    visible = [check for check in section.failures if not check.withheld]
    hidden = [
        f"{check.name}: {check.outcome} ({WITHHELD})"
        for check in section.failures
        if check.withheld
    ]
    if len(visible) > 1 and len({check.reason for check in visible}) == 1:
        return [f"{len(visible)} tests: {short(visible[0].reason)}", *hidden]
    return [f"{check.clause} — {short(check.reason)}" for check in visible] + hidden


COLUMNS = ("Section", "Result", "Points", "% exercise", "% exam", "Bonus")


def row(report: Report, section: SectionScore) -> list[str]:
    """A section's line of the table; bonus points go to their own column, on top."""
    if not section.section.points:  # reported only
        return [section.section.name, result_of(section), "", "", "", ""]
    bonus = section.section.kind == "bonus"
    sign = "+" if bonus else ""
    return [
        section.section.name,
        result_of(section),
        "" if bonus else points_of(section),
        f"{sign}{report.exercise_percent(section.earned):g}",
        f"{sign}{report.exam_percent(section.earned):g}",
        points_of(section) if bonus else "",
    ]


def total_row(report: Report) -> list[str]:
    return [
        "Total",
        "",
        f"{report.score:g} / {report.rubric.max_score:g}",
        f"{report.exercise_percent(report.score):g}",
        f"{report.exam_percent(report.score):g}",
        f"{report.bonus:g} / {report.rubric.bonus_max:g}",
    ]


def summary(report: Report) -> str:
    rubric = report.rubric
    text = (
        f"{report.score:g} / {rubric.max_score:g} points = "
        f"{report.exam_percent(report.score):g} % of the exam "
        f"(the exercise is worth {rubric.exam_share:g} %)"
    )
    if rubric.bonus_max:
        text += f"; bonus {report.bonus:g} / {rubric.bonus_max:g}"
    return text


# -- terminal ---------------------------------------------------------------------------------


# Every text is escaped before rich sees it: a message shows `[x_t, h_{t-1}, 1]`, which rich
# would take for markup and drop, and a submission's name is the student's to choose.


def table(report: Report) -> Table:
    grid = Table(
        title=f"Exercise 3: {escape(report.submission)}",
        caption=f"scoring: {escape(report.rubric.scoring)}",
        show_footer=True,
    )
    for index, (column, total) in enumerate(zip(COLUMNS, total_row(report), strict=True)):
        grid.add_column(column, footer=total, justify="right" if index >= 2 else "left")
    for section in report.sections:
        cells = [escape(cell) for cell in row(report, section)]
        style = {"passed": "green", "partial": "yellow", "absent": "dim"}.get(section.status, "red")
        cells[1] = f"[{style}]{cells[1]}[/]"
        grid.add_row(*cells)
    return grid


def confinement_line(confinement: dict[str, Any]) -> str:
    """'confined by namespaces, uid, landlock, seccomp, rlimits', or what was missing."""
    if not confinement:
        return ""
    if confinement.get("trusted"):
        return "not confined: the submission was trusted (--trust-submission)"
    layers = confinement.get("layers", {})
    held = [layer for layer, active in layers.items() if active]
    line = f"confined by {', '.join(held) or 'nothing'}"
    missing = [layer for layer, active in layers.items() if not active]
    if missing:
        line += f"; without {', '.join(missing)} (accepted: --accept-missing)"
    return line


def show(report: Report, console: Console) -> None:
    console.print(table(report))
    if report.confinement:
        console.print(f"Grading {confinement_line(report.confinement)}", highlight=False)
    if report.problem:
        console.print(f"[red]Not graded:[/] {escape(report.problem)}", highlight=False)
    for note in report.notes:
        console.print(f"Note: {escape(note)}", highlight=False)
    for section in report.sections:
        for line in failure_lines(section):
            console.print(
                f"[red]✗[/] {escape(section.section.name)}: {escape(line)}", highlight=False
            )


# -- files ------------------------------------------------------------------------------------


def md(text: str) -> str:
    """Text as Markdown shows it literally: messages hold `<lambda>`, `**`, backquotes, and a
    student's own text could hold a link or an image (`![](http://...)`, loaded by whoever
    views the report) or a table's `|`."""
    return re.sub(r"([\\`*<>\[\]!|~])", r"\\\1", text)


def markdown_list(lines: list[str]) -> str:
    return "\n".join(f"- {md(line)}" for line in lines)


def section_tests(section: SectionScore) -> list[dict[str, Any]]:
    """A section as Gradescope tests: its points and visible clauses, and, when the rubric hides
    some of its tests, a 0-point test with their details, which Gradescope shows students once
    the grades are published; until then the section's test gives only the hidden tests'
    outcomes. A bonus section has a maximum of 0 there (extra credit): it never inflates
    max_score."""
    kind = section.section.kind
    hidden = replace(section, checks=tuple(c for c in section.checks if c.hidden))
    visible = replace(section, checks=tuple(c for c in section.checks if not c.hidden))
    lines = [result_of(section), *failure_lines(visible)]
    lines += [
        f"hidden test {number}: {check.outcome} ({WITHHELD})"
        for number, check in enumerate(hidden.checks, 1)
        if check in hidden.failures
    ]
    tests = [
        {
            "name": f"{section.section.name} ({kind})",
            "score": section.earned,
            "max_score": 0.0 if kind == "bonus" else section.section.points,
            "status": "passed" if section.status == "passed" else "failed",
            "output": markdown_list(lines),
            "output_format": "md",
            "visibility": "visible",
            "tags": [kind],
        }
    ]
    if hidden.checks:
        passed = len(hidden.checks) - len(hidden.failures)
        tally = f"{passed}/{len(hidden.checks)} hidden tests passed (counted above)"
        tests.append(
            {
                "name": f"{section.section.name} ({kind}): hidden tests",
                "score": 0.0,
                "max_score": 0.0,
                "status": "failed" if hidden.failures else "passed",
                "output": markdown_list([tally, *failure_lines(hidden)]),
                "output_format": "md",
                "visibility": "after_published",
                "tags": [kind, "hidden"],
            }
        )
    return tests


def gradescope(report: Report) -> dict[str, Any]:
    """Gradescope's results.json: a test per section (see section_tests). The score is the
    exercise's; the bonus total is extra data. Standard output is the grader's log: hidden."""
    return {
        "score": report.score,
        "max_score": report.rubric.max_score,
        "output": "\n\n".join(
            map(md, [summary(report), *filter(None, [report.problem]), *report.notes])
        ),
        "output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [test for section in report.sections for test in section_tests(section)],
        "extra_data": {
            "submission": report.submission,
            "bonus": report.bonus,
            "bonus_max": report.rubric.bonus_max,
            "sections": {s.section.name: s.earned for s in report.sections},
            "results": {s.section.name: result_of(s) for s in report.sections},
            "exercise_percent": report.exercise_percent(report.score),
            "exam_percent": report.exam_percent(report.score),
            "bonus_exam_percent": report.exam_percent(report.bonus),
            "exam_share": report.rubric.exam_share,
            "scoring": report.rubric.scoring,
            "problem": report.problem,
            "fingerprint": report.fingerprint,
            "confinement": report.confinement,
        },
    }


def markdown(report: Report) -> str:
    lines = [
        f"# Exercise 3: {md(report.submission)}",
        "",
        f"**{summary(report)}**",
        "",
        f"Scoring: {report.rubric.scoring} within each section.",
        "",
    ]
    if report.problem:
        lines += [f"**Not graded:** {md(report.problem)}", ""]
    lines += [f"Note: {md(note)}" for note in report.notes] + ([""] if report.notes else [])
    table: list[Sequence[str]] = [COLUMNS, ("---", "---", "---:", "---:", "---:", "---:")]
    table += [row(report, section) for section in report.sections] + [total_row(report)]
    lines += [f"| {' | '.join(cells)} |" for cells in table]
    failed = [s for s in report.sections if s.failures]
    if failed:
        lines += ["", "## What failed"]
    for s in failed:
        lines += ["", f"### {s.section.name}", "", f"*{md(s.requirement)}*", ""]
        lines.append(markdown_list(failure_lines(s)))
    return "\n".join(lines) + "\n"


def junit(report: Report) -> str:
    suites = ET.Element("testsuites", name="exercise 3")
    if report.problem:
        suite = ET.SubElement(suites, "testsuite", name="submission", tests="1", errors="1")
        case = ET.SubElement(suite, "testcase", classname="submission", name="grading")
        ET.SubElement(case, "error", message=report.problem)
    for s in report.sections:
        counts = {
            outcome: str(sum(c.outcome == outcome for c in s.checks))
            for outcome in ("failed", "error", "skipped")
        }
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=s.section.name,
            tests=str(len(s.checks)),
            failures=counts["failed"],
            errors=counts["error"],
            skipped=counts["skipped"],
        )
        properties = ET.SubElement(suite, "properties")
        for key, value in (
            ("kind", s.section.kind),
            ("points", f"{s.section.points:g}"),
            ("earned", f"{s.earned:g}"),
        ):
            ET.SubElement(properties, "property", name=key, value=value)
        for check in s.checks:
            case = ET.SubElement(suite, "testcase", classname=s.section.name, name=check.name)
            tag = {"failed": "failure", "error": "error", "skipped": "skipped"}.get(check.outcome)
            if tag:
                message = WITHHELD if check.withheld else check.reason
                ET.SubElement(case, tag, message=message).text = check.clause or None
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def write(report: Report, out: Path) -> list[Path]:
    """The report files in `out`; report.json last, as the sign that the report is complete."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "report.md": markdown(report),
        "junit.xml": junit(report),
        "report.json": json.dumps(gradescope(report), indent=2, ensure_ascii=False) + "\n",
    }
    for name, text in files.items():
        write_atomically(out / name, text)
    return [out / name for name in files]

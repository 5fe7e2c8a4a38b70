"""A pytest plugin that records, for every test of the spec, what a grader needs.

Load it with `-p graders.plugin --results PATH`: it writes one JSON document with a record per
test: its section (the `section` marker), the clause it proves (its docstring), the outcome,
and a short reason when it did not pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

MESSAGE_LIMIT = 400


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("graders").addoption(
        "--results", metavar="PATH", default=None, help="write per-test results as JSON to PATH"
    )


def short_reason(report: pytest.TestReport) -> str:
    """The exception line of a failure ('AssertionError: ...'), or the skip reason."""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def first_line(text: str | None) -> str:
    return (text or "").strip().split("\n\n")[0].replace("\n", " ").strip()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Attach what a grader needs to each test; reports carry it (to the xdist controller too)."""
    for item in items:
        marker = item.get_closest_marker("section")
        module = getattr(item, "module", None)
        function = getattr(item, "function", None)
        item.user_properties += [
            ("section", marker.args[0] if marker else None),
            ("clause", first_line(getattr(function, "__doc__", ""))),
            ("requirement", first_line(getattr(module, "__doc__", ""))),
        ]


class Recorder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self.records.setdefault(report.nodeid, {
            "nodeid": report.nodeid, **dict(report.user_properties),
            "outcome": "passed", "reason": "", "duration": 0.0,
        })
        record["duration"] += report.duration
        if report.outcome == "passed" or record["outcome"] != "passed":
            return  # keep the first thing that went wrong
        if report.when == "call":
            record["outcome"] = report.outcome
        else:  # setup or teardown: a skip there is a skip, a failure is an error
            record["outcome"] = "skipped" if report.skipped else "error"
        record["reason"] = short_reason(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"tests": list(self.records.values())}, indent=1))


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--results")
    if path and not hasattr(config, "workerinput"):  # xdist workers report to the controller
        config.pluginmanager.register(Recorder(Path(path)), "graders-recorder")

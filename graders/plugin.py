"""A pytest plugin that records, for every test of the spec, what a grader needs.

Load it with `-p graders.plugin --results-fd N` (the graders: the write end of a pipe they
read) or `--results PATH` (tools): it writes one JSON document with a record per test: its
section (the `section` marker), the clause it proves (its docstring), the outcome, and a short
reason when it did not pass, and what held the submission (`confinement`). `--sections A,B` runs
only the tests of those sections (a rubric grades what it lists).

The records are made here, in pytest's process, from pytest's own reports; the submission runs
in a confined worker that cannot reach this process, the pipe or the path.

A run that is stopped early (a wall-clock limit sends it Ctrl-C) still writes its results: the
tests it did not finish are recorded as errors, "not run".
"""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import Phase, settings

from spec.support.isolated import CONFINEMENT

MESSAGE_LIMIT = 400
NOT_RUN = "not run: the spec run stopped before this test finished"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("graders")
    group.addoption(
        "--results", metavar="PATH", default=None, help="write per-test results as JSON to PATH"
    )
    group.addoption(
        "--results-fd",
        metavar="N",
        type=int,
        default=None,
        help="write per-test results as JSON to the open file descriptor N",
    )
    group.addoption(
        "--sections", metavar="A,B", default=None, help="run only the tests of these sections"
    )


def printable(text: str) -> str:
    """One line of printable characters: a submission's own text (a class name, a message)
    reaches no terminal as escape sequences and no report as lines of its own."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def short_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    """The exception line of a failure ('AssertionError: ...'), or the skip reason."""
    if report.skipped and isinstance(report.longrepr, tuple):
        text = str(report.longrepr[2]).removeprefix("Skipped: ")
    else:
        crash = getattr(report.longrepr, "reprcrash", None)
        text = crash.message if crash is not None else str(report.longrepr)
        # Not for students: pytest's assertion introspection after a message, hypothesis's
        # example (it holds object addresses), the module path of exception names.
        text = re.split(r"\n(?:assert |Falsifying |Failing test case|You can reproduce)", text)[0]
        text = re.sub(r"^(?:\w+\.)+(?=\w+: )", "", text.lstrip())
    text = printable(text)
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def first_line(text: str | None) -> str:
    return " ".join((text or "").strip().split("\n\n")[0].split())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
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
    if config.getoption("--sections"):
        wanted = set(config.getoption("--sections").split(","))
        chosen = [dict(item.user_properties)["section"] in wanted for item in items]
        config.hook.pytest_deselected(
            items=[i for i, keep in zip(items, chosen, strict=True) if not keep]
        )
        items[:] = [item for item, keep in zip(items, chosen, strict=True) if keep]


class TimedOut(BaseException):
    """A test ran past its time limit (`--timeout`, from pytest-timeout).

    pytest-timeout fails the test with pytest's own failure exception, which hypothesis takes
    for a failing example and shrinks: it calls the endless code again and again. Not being an
    Exception, this one stops the test at once.
    """


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    if settings.timeout <= 0 or settings.method != "signal":
        return None

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimedOut(f"the test took longer than {settings.timeout:g} s")

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    return True


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> bool:
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    return True


class Recorder:
    def __init__(self, path: Path | None, fd: int | None) -> None:
        self.path, self.fd = path, fd
        self.records: dict[str, dict[str, Any]] = {}
        self.collection_errors: list[str] = []
        self.confinement: dict[str, Any] = {}

    @staticmethod
    def unfinished(nodeid: str, properties: list[tuple[str, object]]) -> dict[str, Any]:
        return {
            "nodeid": nodeid,
            **dict(properties),
            "outcome": "error",
            "reason": NOT_RUN,
            "duration": 0.0,
        }

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {short_reason(report)}")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            self.records[item.nodeid] = self.unfinished(item.nodeid, item.user_properties)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self.records.setdefault(
            report.nodeid, self.unfinished(report.nodeid, report.user_properties)
        )
        record["duration"] += report.duration
        if record["reason"] != NOT_RUN:
            return  # keep the first thing that went wrong
        if report.failed:  # in setup or teardown, a failure is an error
            record["outcome"] = "failed" if report.when == "call" else "error"
            record["reason"] = short_reason(report)
        elif report.skipped:
            record["outcome"], record["reason"] = "skipped", short_reason(report)
        elif report.when == "teardown":  # passed all three phases
            record["outcome"], record["reason"] = "passed", ""

    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        if not self.confinement and CONFINEMENT in item.config.stash:
            self.confinement = item.config.stash[CONFINEMENT]()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        document = {
            "tests": list(self.records.values()),
            "errors": self.collection_errors,
            "confinement": self.confinement,
        }
        text = json.dumps(document, indent=1)
        if self.fd is not None:
            with os.fdopen(self.fd, "w") as pipe:
                pipe.write(text)
            return
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(text)
        os.replace(partial, self.path)  # a run killed while writing leaves no half a file


def without_explain_phase() -> None:
    """Hypothesis's explain phase replays a failing example hundreds of times to tell which of
    its arguments matter: help for a reader at a debugger, seconds per failing test in a
    grading run, which has many."""
    loaded = settings()
    phases = [phase for phase in loaded.phases if phase is not Phase.explain]
    settings.register_profile("graders", parent=loaded, phases=phases)
    settings.load_profile("graders")


def pytest_configure(config: pytest.Config) -> None:
    without_explain_phase()
    path, fd = config.getoption("--results"), config.getoption("--results-fd")
    if (path or fd is not None) and not hasattr(config, "workerinput"):  # xdist: the controller
        recorder = Recorder(Path(path) if path else None, fd)
        config.pluginmanager.register(recorder, "graders-recorder")

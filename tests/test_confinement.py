"""The confinement's own promises: it fails closed, says what held, hands a section none of the
reference it tests, and measures time so that a loaded machine costs no one a timeout.
(The attacks themselves are in test_hostile.py.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spec.support.confinement import LAYERS, Limits, policy, view
from spec.support.isolated import Isolated, Stopwatch, SubmissionDied, SubmissionTimedOut
from spec.support.submission import Submission
from tests import mutants

ROOT = Path(__file__).resolve().parents[1]
CONTAINER = [sys.executable, str(ROOT / "tests" / "container.py")]  # as Docker: no namespaces
RUBRIC = "[exercise]\nTanH = 50\nReLU = 50\n"


def graders(tmp: Path, *args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    (tmp / "rubric.toml").write_text(RUBRIC)
    command = [*prefix, sys.executable, "-m", "graders", "grade", str(ROOT / "solution")]
    command += ["--rubric", str(tmp / "rubric.toml"), "--out", str(tmp / "out"), "--quiet"]
    return subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_every_layer_holds_on_this_projects_machines(tmp_path: Path):
    """Linux 6.x as root: namespaces, uid, Landlock, seccomp and rlimits, all in force, and the
    report says so."""
    done = graders(tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    confinement = report["extra_data"]["confinement"]
    assert confinement == {
        "layers": dict.fromkeys(LAYERS, True),
        "accepted_missing": [],
        "trusted": False,
    }
    assert report["score"] == 100


def test_a_missing_layer_stops_grading_and_names_the_flag_that_accepts_it(tmp_path: Path):
    done = graders(tmp_path, prefix=tuple(CONTAINER))
    assert done.returncode == 1
    assert "namespaces: the kernel refused new namespaces" in done.stderr
    assert re.search(r"--accept-missing \S*namespaces", done.stderr)
    assert "--trust-submission" in done.stderr
    assert not (tmp_path / "out").exists(), "a report was written although grading stopped"


def test_in_a_container_grading_records_the_layers_it_had(tmp_path: Path):
    done = graders(tmp_path, "--accept-missing", "namespaces,uid", prefix=tuple(CONTAINER))
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    confinement = report["extra_data"]["confinement"]
    assert confinement["layers"]["namespaces"] is False
    assert all(confinement["layers"][layer] for layer in ("landlock", "seccomp", "rlimits"))
    assert "namespaces" in confinement["accepted_missing"]
    assert report["score"] == 100


def test_a_trusted_submission_is_recorded_as_not_confined(tmp_path: Path):
    done = graders(tmp_path, "--trust-submission")
    assert done.returncode == 0, done.stderr
    confinement = json.loads((tmp_path / "out" / "report.json").read_text())["extra_data"][
        "confinement"
    ]
    assert confinement["trusted"] is True
    assert not any(confinement["layers"].values())


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "graders", "grade", "solution", "--accept-missing", "selinux"],
        [sys.executable, "-m", "pytest", "spec/test_tanh.py", "--accept-missing=selinux"],
    ],
    ids=["graders", "pytest"],
)
def test_an_unknown_layer_is_a_usage_error(command: list[str]):
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode in (2, 4)  # argparse's and pytest's usage error
    assert "unknown confinement layers ['selinux']" in done.stdout + done.stderr


def test_no_section_is_handed_the_reference_of_the_files_it_grades(tmp_path: Path):
    """The harness hands a submission reference objects (correct neighbours for a layer under
    test), but never the reference's copy of a file that the section itself grades."""
    record = tmp_path / "record.json"
    command = [sys.executable, "-m", "pytest", "spec", "--isolated", f"--record={record}"]
    done = subprocess.run(
        [*command, "-q", "-p", "no:xdist"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    handed = json.loads(record.read_text())["reference"]
    sections = {}
    for module in (ROOT / "spec").glob("test_*.py"):
        found = re.search(r'pytest\.mark\.section\("(\w+)"\)', module.read_text())
        sections[found.group(1)] = f"spec/{module.name}"
    graded = {(m["section"], m["file"]) for m in mutants.load()}  # what each section grades
    assert len(graded) > 15
    for section, file in sorted(graded):
        own = "dl_reference." + file.removesuffix(".py").replace("/", ".")
        assert own not in handed.get(sections[section], []), (
            f"{section}'s workers were handed the reference's {file}"
        )


def test_the_readable_view_carves_the_harness_out_of_what_holds_it(tmp_path: Path):
    (tmp_path / "usr" / "lib").mkdir(parents=True)
    (tmp_path / "usr" / "src" / "harness" / "spec").mkdir(parents=True)
    (tmp_path / "usr" / "src" / "other").mkdir()
    harness = tmp_path / "usr" / "src" / "harness"
    (harness / ".venv").mkdir()  # nox's or a student's virtualenv inside the harness's folder
    roots = view.excluding([str(tmp_path / "usr"), str(harness / ".venv")], [str(harness)])
    assert sorted(roots) == sorted(
        [
            str(tmp_path / "usr" / "lib"),
            str(tmp_path / "usr" / "src" / "other"),
            str(harness / ".venv"),
        ]
    )
    readable = view.readable(tmp_path / "submission", [ROOT])
    assert not any(view.within(str(ROOT), path) for path in readable), readable


def test_refusing_names_every_missing_layer_and_its_risk():
    reasons = dict.fromkeys(LAYERS, "")
    reasons |= {"namespaces": "no bwrap", "landlock": "old kernel"}
    with pytest.raises(policy.ConfinementMissing) as refusal:
        policy.require(reasons, frozenset({"landlock"}))
    message = str(refusal.value)
    assert "namespaces: no bwrap" in message and "landlock" not in message.split("\n")[1]
    assert "--accept-missing namespaces" in message
    policy.require(reasons, frozenset({"landlock", "namespaces"}))  # accepted: no refusal


def busy_time_of(work: str, cpu: int | None = None) -> tuple[float, float]:
    """(busy, wall) seconds of a child doing `work`, read while it is still alive: it says
    "done" and waits for its standard input to close."""
    code = f"import sys, time\n{work}\nprint('done', flush=True)\nsys.stdin.read()"
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        if cpu is not None:
            os.sched_setaffinity(child.pid, {cpu})
        stopwatch = Stopwatch(os.open(f"/proc/{child.pid}/schedstat", os.O_RDONLY), limit=100.0)
        assert child.stdout.readline() == "done\n"
        busy, wall = stopwatch.busy(), time.monotonic() - stopwatch.started
    finally:
        child.communicate("")
    return busy, wall


SPIN = "end = time.process_time() + 1.0\nwhile time.process_time() < end: pass"


def test_busy_time_leaves_out_the_time_spent_waiting_for_a_cpu():
    """A process that computes for 1 s of CPU while another hogs its only core takes about 2 s
    of wall time; its busy time, what its limit counts, stays near 1 s. A sleeping process is
    busy the whole time: a call cannot hang in sleep for free."""
    cpu = min(os.sched_getaffinity(0))
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        os.sched_setaffinity(hog.pid, {cpu})
        busy, wall = busy_time_of(SPIN, cpu)
    finally:
        hog.kill()
        hog.wait()
    assert wall > 1.6, f"the hog did not share the core (wall {wall:.2f} s)"
    assert busy < 1.4, f"busy {busy:.2f} s of {wall:.2f} s wall"
    busy, wall = busy_time_of("time.sleep(1.0)")
    assert 0.9 < busy <= wall + 1e-3, f"a sleep of 1 s counted {busy:.2f} s"


def test_a_dead_workers_output_is_removed_with_it(tmp_path: Path):
    """What a worker printed (up to 64 MiB a file) is read for the failure message, then
    deleted: a submission that prints and crashes in every test cannot fill the grader's disk."""
    submission = mutants.copy_of_solution(tmp_path / "submission")
    mutants.edit(
        submission / "Layers" / "TanH.py",
        "        self.activation = np.tanh(input_tensor)\n",
        "        print('x' * (8 << 20)); import os; os._exit(3)\n",
    )
    backend = Isolated(submission)
    try:
        layer = Submission(backend).Layers.TanH.TanH()
        for _ in range(3):
            with pytest.raises(SubmissionDied, match="exit status 3"):
                layer.forward(np.ones((2, 2)))
            layer = Submission(backend).Layers.TanH.TanH()
        left = sorted(path.name for path in (backend.session / "private").iterdir())
    finally:
        backend.close()
    assert all(
        name == "zygote.log" or name.startswith(("worker-4.", "worker-5.")) for name in left
    ), left


def test_a_submission_that_has_used_up_its_time_gets_no_more(tmp_path: Path):
    """All calls of a submission together have a budget of busy time: once it is spent, every
    further call fails at once, saying so (a slow submission cannot hold the grader for long)."""
    submission = mutants.copy_of_solution(tmp_path / "submission")
    mutants.edit(
        submission / "Layers" / "TanH.py",
        "        self.activation = np.tanh(input_tensor)\n",
        "        import time; time.sleep(0.4)\n        self.activation = np.tanh(input_tensor)\n",
    )
    backend = Isolated(submission, Limits(submission_seconds=1.0))
    try:
        layer = Submission(backend).Layers.TanH.TanH()
        start = time.monotonic()
        for _ in range(3):  # 1.2 s of sleep: the budget is gone after the third
            layer.forward(np.ones((2, 2)))
        with pytest.raises(SubmissionTimedOut, match=r"used up its time \(1 s of computing"):
            layer.forward(np.ones((2, 2)))
        assert time.monotonic() - start < 2.5, "the refused call ran anyway"
    finally:
        backend.close()

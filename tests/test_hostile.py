"""Hostile submissions: whatever a submission does, grading finishes, the report is true, and
nothing outside a temporary folder changes.

Each case is the reference solution with Layers/TanH.py changed to misbehave in one way. It is
graded through the graders CLI (so in the sandboxed child process of spec/support/isolated.py)
with a rubric of two sections: TanH, where the hostile code lives, and ReLU, which it must not
disturb. The grader must end normally with its report written; every TanH test fails with the
reason named, except those the hostile code leaves honest; TanH earns no more than those honest
tests are worth; ReLU earns everything; and no file is left behind: not in the grader's
temporary folder, not where the hostile code tried to write, not in the submission, not in the
harness. A short time limit per call (DL_CALL_TIMEOUT) keeps the hanging cases quick.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.mutants import copy_of_solution

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solution"
CALL_SECONDS = 3
RUBRIC = """
[limits]
test_seconds = 60
run_seconds = 600

[exercise]
TanH = 50
ReLU = 50
"""
TANH_TESTS = (
    "test_is_a_plain_layer",
    "test_forward_is_elementwise_tanh",
    "test_backward_matches_finite_differences",
    "test_backward_uses_the_stored_activation",
)
FORWARD = "        self.activation = np.tanh(input_tensor)\n"  # first line of TanH.forward
TOP = "import numpy as np\n"  # first line of TanH.py


@dataclass
class Hostile:
    name: str
    code: str  # inserted before `before`; {sentinel} is a path outside every allowed folder
    reason: str  # a regular expression every failing TanH test's reason matches
    before: str = FORWARD
    honest: tuple[str, ...] = ("test_is_a_plain_layer",)  # TanH tests the code leaves passing


IMPORT_TIME = ()  # when TanH.py cannot be imported, no test of it is honest

CASES = [
    Hostile(
        "hang",
        "while True: pass",
        r"timed out after 3 s in Layers\.TanH\.TanH\(\.\.\.\)\."
        r"forward\(\.\.\.\) \(at Layers/TanH\.py:\d+ in forward\)",
    ),
    Hostile("sleep", "import time; time.sleep(3600)", r"timed out after 3 s .*Layers/TanH\.py"),
    Hostile(
        "memory",
        "import numpy; hog = [numpy.empty(10**8) for _ in range(40)]",
        r"exceeded the memory limit \(2 GiB\)",
    ),
    Hostile(
        "segfault",
        "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)",
        r"crashed with SIGSEGV .*at Layers/TanH\.py:\d+ in forward",
    ),
    Hostile(
        "ctypes", "import ctypes; ctypes.string_at(0)", r"refused: calling C code through ctypes"
    ),
    Hostile("sys_exit", "import sys; sys.exit(3)", r"it called sys\.exit\(3\)"),
    Hostile(
        "os_exit",
        "import os; os._exit(0)",
        r"ended its process with exit status 0 \(os\._exit\(0\)",
    ),
    Hostile(
        "os_exit_at_import",
        "import os; os._exit(0)\n",
        r"ended its process with exit status 0 .* while importing Layers/TanH\.py",
        before=TOP,
        honest=IMPORT_TIME,
    ),
    Hostile(
        "sys_exit_at_import",
        "import sys; sys.exit(0)\n",
        r"Layers/TanH\.py cannot be imported: it called sys\.exit\(0\)",
        before=TOP,
        honest=IMPORT_TIME,
    ),
    Hostile(
        "subprocess",
        "import subprocess; subprocess.run(['touch', '{sentinel}'])",
        r"refused: creating a process \(subprocess\.Popen\)",
    ),
    Hostile(
        "fork_bomb",
        "import os\n        while True: os.fork()",
        r"refused: creating a process \(os\.fork\)",
    ),
    # _posixsubprocess raises no audit event: the seccomp filter (or RLIMIT_NPROC) stops it
    Hostile(
        "fork_exec",
        "import _posixsubprocess, os; r, w = os.pipe(); "
        "_posixsubprocess.fork_exec([b'/usr/bin/touch', b'{sentinel}'], [b'/usr/bin/touch'], "
        "True, (w,), None, None, -1, -1, -1, -1, -1, -1, r, w, True, False, -1, None, None, "
        "None, -1, None, False)",
        r"Operation not permitted|Resource temporarily unavailable",
    ),
    Hostile(
        "kill_its_parent",
        "import os, signal; os.kill(os.getppid(), signal.SIGKILL)",
        r"refused: signalling another process",
    ),
    Hostile(
        "socket",
        "import socket; socket.socket().connect(('127.0.0.1', 9))",
        r"refused: network access \(socket\.",
    ),
    Hostile(
        "write_outside", "open('{sentinel}', 'w').write('owned')", r"refused: writing .* \(open\)"
    ),
    Hostile(
        "write_the_harness",
        "open('{root}/reference_data/README.md', 'a').write('owned')",
        r"refused: writing .*/reference_data/README\.md",
    ),
    Hostile(
        "write_own_folder",
        "open(__file__, 'a').write('# owned')",
        r"refused: writing .*Layers/TanH\.py",
    ),
    Hostile(
        "read_golden_data",
        "import numpy; numpy.load('{root}/reference_data/conv_1d_stride1.npz')",
        r"refused: reading .*/reference_data/conv_1d_stride1\.npz",
    ),
    Hostile(
        "read_the_spec",
        "open('{root}/spec/test_tanh.py').read()",
        r"refused: reading .*/spec/test_tanh\.py",
    ),
    Hostile(
        "borrow_the_reference",
        "from dl_reference.Layers.TanH import TanH as Reference",
        r"No module named 'dl_reference'",
    ),
    # assertions live in the grader: patching NumPy, pytest or the harness in the child changes
    # nothing but the child
    Hostile(
        "monkeypatch_numpy_and_pytest",
        "import numpy as np\n"
        "np.allclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "import pytest; pytest.approx = lambda *a, **k: a[0]\n"
        "import spec.support.checks as checks; checks.assert_close = lambda *a, **k: None\n"
        "np.tanh = lambda x: x * 0.0\n",
        r"values differ",
        before=TOP,
    ),
    Hostile(
        "monkeypatch_the_harness",  # every call of the spec's now answers 0.0
        "import __main__; __main__.Worker.op_call = lambda self, target, args, kwargs: 0.0\n",
        r"'float' object has no attribute",
        before=TOP,
        honest=IMPORT_TIME,
    ),
    Hostile(
        "lying_array",
        "class Liar:\n"
        "            def __eq__(self, other): return True\n"
        "            def __array__(self, *a, **k): return np.tanh(input_tensor)\n"
        "        return Liar()",
        r"should be a numeric array|no attribute 'activation'",
    ),
    Hostile(
        "lying_eq",
        "class Liar(np.ndarray):\n"
        "            def __eq__(self, other): return np.ones(np.shape(other), bool)\n"
        "        return np.zeros_like(input_tensor).view(Liar)",
        r"values differ|no attribute 'activation'",
    ),
    Hostile("skip_itself", "import pytest; pytest.skip('not my fault')", r"Skipped: not my fault"),
    Hostile(
        "fill_the_disk",
        "open('big.bin', 'wb').write(bytes(10**8))",
        r"exceeded the file size limit \(64 MiB\)",
    ),
    Hostile(
        "fake_report",
        "print('=' * 20, 'FAKE-REPORT: 257 passed', '=' * 20); "
        "print('\\x1b[2J'); return input_tensor",
        r"values differ|no attribute 'activation'",
    ),
]


def digest(folder: Path) -> str:
    """The names and contents of every file under `folder`."""
    hashed = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            hashed.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return hashed.hexdigest()


def processes_inside(folder: Path) -> list[str]:
    """Processes whose working folder is under `folder` (a leaked zygote or worker)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd.startswith(str(folder)):
            found.append(f"{entry.name}: {cwd}")
    return found


def grade(submission: Path, tmp: Path) -> tuple[subprocess.CompletedProcess, Path]:
    rubric, out = tmp / "rubric.toml", tmp / "report"
    rubric.write_text(RUBRIC)
    environment = {
        **os.environ,
        "TMPDIR": str(tmp / "grader-tmp"),
        "DL_CALL_TIMEOUT": str(CALL_SECONDS),
    }
    (tmp / "grader-tmp").mkdir()
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "graders",
            "grade",
            str(submission),
            "--rubric",
            str(rubric),
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return finished, out


def outcomes(report: Path) -> dict[str, dict]:
    """section -> {"earned": points, "tests": {name: reason or None when passed}}"""
    sections = {}
    for suite in ET.parse(report / "junit.xml").getroot():
        properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
        tests = {}
        for case in suite.iter("testcase"):
            problem = next(iter(case.findall("failure") + case.findall("error")), None)
            tests[case.get("name").split("[")[0]] = (
                None if problem is None else problem.get("message")
            )
        sections[suite.get("name")] = {"earned": float(properties["earned"]), "tests": tests}
    return sections


def test_there_is_a_case_for_every_behaviour_of_the_issue():
    assert len(CASES) >= 15
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_submission_is_graded_truthfully(case: Hostile, tmp_path: Path):
    sentinel = Path("/tmp") / f"dl-hostile-{case.name}-{uuid.uuid4().hex[:8]}"
    submission = copy_of_solution(tmp_path / "submission")
    tanh = submission / "Layers" / "TanH.py"
    source = tanh.read_text()
    assert source.count(case.before) == 1, f"{case.name} no longer applies to TanH.py"
    indent = "" if case.before == TOP else "        "
    code = case.code.format(sentinel=sentinel, root=ROOT)
    tanh.write_text(source.replace(case.before, f"{indent}{code}\n{case.before}"))
    before = {"submission": digest(submission), "reference_data": digest(ROOT / "reference_data")}

    finished, report = grade(submission, tmp_path)

    assert finished.returncode == 0, f"the grader failed:\n{finished.stdout}\n{finished.stderr}"
    assert json.loads((report / "report.json").read_text())["max_score"] == 100
    sections = outcomes(report)
    tanh_tests = sections["TanH"]["tests"]
    assert set(tanh_tests) == set(TANH_TESTS)
    for name, reason in tanh_tests.items():
        if name in case.honest:
            assert reason is None, f"{name} should pass: the hostile code leaves it honest"
        else:
            assert reason is not None, f"{name} passed despite the hostile code"
            assert re.search(case.reason, reason), f"{name}: {reason}"
    assert sections["TanH"]["earned"] <= 50 * len(case.honest) / len(TANH_TESTS) + 1e-9
    assert sections["ReLU"]["earned"] == 50, sections["ReLU"]
    assert (
        "FAKE-REPORT" not in finished.stdout + finished.stderr + (report / "report.md").read_text()
    )

    assert not list((tmp_path / "grader-tmp").iterdir()), "the grader left temporary files"
    assert not sentinel.exists(), f"the submission wrote {sentinel}"
    assert not processes_inside(tmp_path), "a child process outlived the grader"
    after = {"submission": digest(submission), "reference_data": digest(ROOT / "reference_data")}
    assert after["submission"] == before["submission"], "the submission changed its own files"
    assert after["reference_data"] == before["reference_data"], "reference_data/ changed"


def test_a_folder_with_a_link_to_the_harness_is_refused(tmp_path: Path):
    """A folder submission whose TanH.py links to the harness's own solution is not graded (the
    grader would otherwise copy the reference into it)."""
    submission = copy_of_solution(tmp_path / "submission")
    (submission / "Layers" / "TanH.py").unlink()
    (submission / "Layers" / "TanH.py").symlink_to(SOLUTION / "Layers" / "TanH.py")

    finished, report = grade(submission, tmp_path)

    assert finished.returncode == 0, finished.stderr
    summary = json.loads((report / "report.json").read_text())
    assert summary["score"] == 0
    assert "contains a link (Layers/TanH.py)" in summary["extra_data"]["problem"]


def test_a_broken_child_is_a_harness_failure_not_a_grade(tmp_path: Path):
    """When the child machinery itself fails (here: the child program is missing), pytest stops
    with exit status 3, which the graders report as a failure of the harness."""
    plugin = tmp_path / "break_the_child.py"
    plugin.write_text(
        "import spec.support.isolated as isolated\n"
        "isolated.CHILD = isolated.CHILD.with_name('missing.py')\n"
    )
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "spec/test_tanh.py",
            "--isolated",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "break_the_child",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}:{ROOT}", "TMPDIR": str(tmp_path)},
    )
    assert finished.returncode == 3, finished.stdout + finished.stderr
    assert "harness failure" in finished.stdout + finished.stderr

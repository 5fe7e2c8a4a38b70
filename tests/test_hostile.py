"""Hostile submissions: whatever a submission does, grading finishes, the report is true, and
nothing outside a temporary folder changes.

Each case is the reference solution with Layers/TanH.py changed to misbehave in one way. It is
graded through the graders CLI (so in a worker confined by spec/support/confinement/) with a
rubric of two sections: TanH, where the hostile code lives, and ReLU, which it must not
disturb. The grader must end normally with its report written; every TanH test fails with the
reason named, except those the hostile code leaves honest; TanH earns no more than those honest
tests are worth; ReLU earns everything; and no file is left behind: not in the grader's
temporary folder, not where the hostile code tried to write, not in the submission, not in the
harness. A short time limit per call (DL_CALL_TIMEOUT) keeps the hanging cases quick.

The kernel cases (KERNEL) attack as a student who knows the audit hook is no boundary would:
first they disarm it (through the frames of one of its refusals, as anyone can), then they go
for the reference, the golden data, the rubric, another grading, the harness's files, the
results, the grader's processes, the network or the disk. Each succeeds only by making TanH
pass, and each reports the errno the kernel answered: the test asserts both that no point was
forged and that the kernel, not Python, said no, and that the target is absent or unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy
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
TANH_TESTS = tuple(
    re.findall(r"^def (test_\w+)", (ROOT / "spec" / "test_tanh.py").read_text(), re.M)
)
FORWARD = "        self.activation = np.tanh(input_tensor)\n"  # first line of TanH.forward
TOP = "import numpy as np\n"  # first line of TanH.py


@dataclass
class Hostile:
    name: str
    code: str  # inserted before `before`; {sentinel} is a path outside every allowed folder
    reason: str  # a regular expression every failing TanH test's reason matches
    before: str = FORWARD
    honest: tuple[str, ...] = ("test_is_not_trainable",)  # TanH tests the code leaves passing


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
        "np.tanh = lambda x: x * 0.0\n",
        r"values differ",
        before=TOP,
    ),
    Hostile(
        "monkeypatch_the_harness",  # every call of the spec's now answers 0.0
        "import __main__; __main__.Worker.op_call = lambda self, target, args, kwargs: 0.0\n",
        r"'float' object has no attribute",
        before=TOP,
        # 0.0 has no `trainable`, which the contract reads as not trainable
        honest=("test_is_not_trainable",),
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


# -- the kernel cases ---------------------------------------------------------------------------

# Module-level code of every kernel case: how to disarm the audit hook, and how a refusal shows.
PRELUDE = """
import errno as _errno
import os


def disarm():
    \"\"\"Reach the audit hook's helpers through a refusal's traceback and neuter them; ctypes,
    refused by the hook before, must work afterwards.\"\"\"
    try:
        open("/etc/hostname")
    except OSError as error:
        trace = error.__traceback__
        while trace is not None:
            for value in list(trace.tb_frame.f_locals.values()):
                for cell in getattr(value, "__closure__", None) or ():
                    if getattr(cell.cell_contents, "__name__", "") == "refuse":
                        cell.cell_contents = lambda *args, **kwargs: None
            trace = trace.tb_next
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def refused(number):
    raise RuntimeError(f"kernel refused: {_errno.errorcode.get(number, number)}")


def honest(layer, x):
    layer.activation = np.tanh(x)
    return layer.activation

"""
ATTACK = "        return attack(self, input_tensor)\n"  # forward's new first line
KERNEL_REFUSED = r"kernel refused: E(NOENT|ACCES|PERM|ROFS)\b"
REFERENCE_TANH = "{root}/solution/Layers/TanH.py"


@dataclass
class Kernel:
    name: str
    attack: str  # `def attack(layer, x)`: the correct output if it got through, else refused()
    reason: str = KERNEL_REFUSED


KERNEL = [
    Kernel(
        "dir_fd_escape",  # the hook resolves the name against the working folder, the kernel
        # against dir_fd: no disarming needed
        """
def attack(layer, x):
    base = os.getcwd()
    deep = os.path.join(base, *["d"] * 40)
    os.makedirs(deep, exist_ok=True)
    os.chdir(deep)
    folder = os.open(base, os.O_RDONLY)
    name = "../" * 30 + "REFERENCE".lstrip("/")
    try:
        os.close(os.open(name, os.O_RDONLY, dir_fd=folder))
    except OSError as error:
        refused(error.errno)
    return honest(layer, x)
""".replace("REFERENCE", REFERENCE_TANH),
    ),
    Kernel(
        "raw_openat",
        """
def attack(layer, x):
    libc = disarm()
    if libc.syscall(257, -100, b"REFERENCE", 0) < 0:  # openat(AT_FDCWD, path, O_RDONLY)
        refused(__import__("ctypes").get_errno())
    return honest(layer, x)
""".replace("REFERENCE", REFERENCE_TANH),
    ),
    Kernel(
        "hook_replaced_then_open",
        """
def attack(layer, x):
    disarm()
    for path in ("REFERENCE", "{root}/spec/test_tanh.py", "/etc/passwd", "/root"):
        try:
            open(path).close()
        except OSError as error:
            if error.errno not in (_errno.ENOENT, _errno.EACCES):
                raise
        else:
            return honest(layer, x)
    refused(_errno.ENOENT)
""".replace("REFERENCE", REFERENCE_TANH),
    ),
    Kernel(
        "read_golden_rubric_and_another_grading",
        """
def attack(layer, x):
    disarm()
    stolen = []
    for path in ("{root}/reference_data/MANIFEST.json", "{rubric}", "{other}"):
        try:
            with open(path) as file:
                stolen.append(file.read())
        except OSError as error:
            last = error.errno
    if stolen:
        return honest(layer, x)
    refused(last)
""",
    ),
    Kernel(
        "write_the_harness_and_site_packages",
        """
def attack(layer, x):
    disarm()
    wrote = False
    for path in ("{root}/README.md", "{root}/graders/scoring.py", np.__file__):
        try:
            with open(path, "a") as file:
                file.write("# owned")
            wrote = True
        except OSError as error:
            last = error.errno
    if wrote:
        return honest(layer, x)
    refused(last)
""",
    ),
    Kernel(
        "plant_results_in_every_parent",
        """
def attack(layer, x):
    disarm()
    planted = False
    folder = os.getcwd()
    while folder != "/":
        folder = os.path.dirname(folder)
        for name in ("results.json", "report.json"):
            try:
                with open(os.path.join(folder, name), "w") as file:
                    file.write('{"tests": []}')
                planted = True
            except OSError as error:
                last = error.errno
        try:
            os.mkdir(os.path.join(folder, "results"))
            planted = True
        except OSError as error:
            last = error.errno
    if planted:
        return honest(layer, x)
    refused(last)
""",
    ),
    Kernel(
        "signal_the_grader",
        """
def attack(layer, x):
    libc = disarm()
    import ctypes, signal
    for pid in (-1, 1, 2, os.getppid()):
        if libc.kill(pid, signal.SIGKILL) == 0:
            return honest(layer, x)
    refused(ctypes.get_errno())
""",
    ),
    Kernel(
        "raw_fork",
        """
def attack(layer, x):
    libc = disarm()
    import ctypes
    pid = libc.syscall(57)  # fork
    if pid == 0:
        os._exit(0)
    if pid > 0:
        return honest(layer, x)
    refused(ctypes.get_errno())
""",
    ),
    Kernel(
        "connect_to_localhost",
        """
def attack(layer, x):
    disarm()
    import socket
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    except OSError as error:
        refused(error.errno)
    return honest(layer, x)
""",
    ),
    Kernel(
        "fill_the_scratch_disk",
        """
def attack(layer, x):
    chunk = bytes(60 << 20)  # under the 64 MiB limit of one file
    for number in range(20):  # 1.2 GB in all
        with open(f"big-{number}.bin", "wb") as file:
            file.write(chunk)
    return honest(layer, x)
""",
        reason=r"exceeded the scratch folder's quota \(256 MiB\)",
    ),
]


class Listener:
    """A server on 127.0.0.1 that counts the connections it got while a grading ran."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stopped.is_set():
            try:
                self.server.accept()[0].close()
                self.connections += 1
            except TimeoutError:
                continue

    def close(self) -> int:
        self.stopped.set()
        self.thread.join()
        self.server.close()
        return self.connections


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


CONTAINER = [sys.executable, str(ROOT / "tests" / "container.py")]  # no namespaces there


def grade(
    submission: Path, tmp: Path, container: bool = False
) -> tuple[subprocess.CompletedProcess, Path]:
    """Grade with the CLI; `container`: as inside Docker, which refuses new namespaces."""
    rubric, out = tmp / "rubric.toml", tmp / "report"
    rubric.write_text(RUBRIC)
    environment = {
        **os.environ,
        "TMPDIR": str(tmp / "grader-tmp"),
        "DL_CALL_TIMEOUT": str(CALL_SECONDS),
    }
    (tmp / "grader-tmp").mkdir(exist_ok=True)
    command = [sys.executable, "-m", "graders", "grade", str(submission), "--rubric", str(rubric)]
    command += ["--out", str(out), "--quiet"]
    if container:  # here Python lives under /root, which no other uid may enter
        command = [*CONTAINER, *command, "--accept-missing", "namespaces,uid"]
    finished = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600
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


def graded_truthfully(
    submission: Path,
    tmp: Path,
    reason: str,
    honest: tuple[str, ...],
    sentinel: Path,
    container: bool = False,
) -> tuple[subprocess.CompletedProcess, Path]:
    """Grade the hostile `submission` and check the verdict, what confined it and what it left
    behind."""
    watched = {
        "submission": submission,
        "reference_data": ROOT / "reference_data",
        "solution": ROOT / "solution",
        "graders": ROOT / "graders",
        "numpy": Path(numpy.__file__).parent,
    }
    before = {name: digest(folder) for name, folder in watched.items()}
    readme = (ROOT / "README.md").read_bytes()

    finished, report = grade(submission, tmp, container)

    assert finished.returncode == 0, f"the grader failed:\n{finished.stdout}\n{finished.stderr}"
    summary = json.loads((report / "report.json").read_text())
    assert summary["max_score"] == 100
    layers = summary["extra_data"]["confinement"]["layers"]
    assert all(layers[layer] for layer in ("landlock", "seccomp", "rlimits")), layers
    assert layers["namespaces"] is not container, layers
    sections = outcomes(report)
    tanh_tests = sections["TanH"]["tests"]
    assert set(tanh_tests) == set(TANH_TESTS)
    for name, why in tanh_tests.items():
        if name in honest:
            assert why is None, f"{name} should pass: the hostile code leaves it honest"
        else:
            assert why is not None, f"{name} passed despite the hostile code"
            assert re.search(reason, why), f"{name}: {why}"
    assert sections["TanH"]["earned"] <= 50 * len(honest) / len(TANH_TESTS) + 1e-9
    assert sections["ReLU"]["earned"] == 50, sections["ReLU"]
    assert (
        "FAKE-REPORT" not in finished.stdout + finished.stderr + (report / "report.md").read_text()
    )

    assert not list((tmp / "grader-tmp").iterdir()), "the grader left temporary files"
    assert not sentinel.exists(), f"the submission wrote {sentinel}"
    assert not processes_inside(tmp), "a child process outlived the grader"
    for name, folder in watched.items():
        assert digest(folder) == before[name], f"{name} changed"
    assert (ROOT / "README.md").read_bytes() == readme, "README.md changed"
    return finished, report


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

    graded_truthfully(submission, tmp_path, case.reason, case.honest, sentinel)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("container", [False, True], ids=["namespaces", "container"])
@pytest.mark.parametrize("case", KERNEL, ids=[case.name for case in KERNEL])
def test_the_kernel_refuses_what_the_hook_no_longer_stops(
    case: Kernel, container: bool, tmp_path: Path
):
    other = Path("/tmp") / f"dl-grade-other-{uuid.uuid4().hex[:8]}" / "submission" / "TanH.py"
    other.parent.mkdir(parents=True)
    other.write_text("# another student's work\n")
    listener = Listener()
    places = {
        "{root}": str(ROOT),
        "{rubric}": str(tmp_path / "rubric.toml"),
        "{other}": str(other),
        "{port}": str(listener.port),
    }
    attack = case.attack
    for place, value in places.items():
        attack = attack.replace(place, value)
    submission = copy_of_solution(tmp_path / "submission")
    tanh = submission / "Layers" / "TanH.py"
    source = tanh.read_text()
    source = source.replace(TOP, TOP + PRELUDE + attack + "\n", 1).replace(
        FORWARD, ATTACK + FORWARD
    )
    tanh.write_text(source)
    sentinel = tmp_path / "never-written"
    try:
        graded_truthfully(
            submission, tmp_path, case.reason, ("test_is_not_trainable",), sentinel, container
        )
    finally:
        connections = listener.close()
        other_text = other.read_text()
        shutil.rmtree(other.parents[1], ignore_errors=True)
    assert connections == 0, "the submission reached a server on 127.0.0.1"
    assert other_text == "# another student's work\n"


def test_files_pytest_would_load_are_never_run(tmp_path: Path):
    """conftest.py, pytest.ini, plugins, sitecustomize, .pth and __pycache__ in a submission are
    neither read by the grader's pytest nor run by the worker: TanH, a stub, earns nothing."""
    sentinel = tmp_path / "ran"
    marker = f"dl-constant-{uuid.uuid4().hex}"
    forge = (
        f"MARKER = {marker!r}\n"
        "import pathlib\n"
        f"pathlib.Path({str(sentinel)!r}).write_text(__file__)\n"
        "def pytest_runtest_makereport(item, call):\n"
        "    call.excinfo = None\n"
        "def pytest_collection_modifyitems(items):\n"
        "    items.clear()\n"
    )
    submission = copy_of_solution(tmp_path / "submission")
    (submission / "Layers" / "TanH.py").write_text(
        "from Layers.Base import BaseLayer\n\n\nclass TanH(BaseLayer):\n"
        "    def forward(self, input_tensor):\n        return input_tensor * 0\n\n"
        "    def backward(self, error_tensor):\n        return error_tensor * 0\n"
    )
    for name in (
        "conftest.py",
        "Layers/conftest.py",
        "sitecustomize.py",
        "usercustomize.py",
        "dl_forge.py",
    ):
        (submission / name).write_text(
            forge + ("pytest_plugins = ['dl_forge']\n" if name == "conftest.py" else "")
        )
    (submission / "pytest.ini").write_text("[pytest]\naddopts = -p dl_forge\n")
    (submission / "dl_forge.pth").write_text("import dl_forge\n")
    (submission / "Layers" / "__pycache__").mkdir()
    (submission / "Layers" / "__pycache__" / "TanH.cpython-311.pyc").write_bytes(b"\0" * 64)
    folder_zip = tmp_path / "submission.zip"
    with zipfile.ZipFile(folder_zip, "w") as archive:
        for path in sorted(submission.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(submission).as_posix())

    for handed_in in (submission, folder_zip):
        finished, report = grade(handed_in, tmp_path)
        assert finished.returncode == 0, finished.stdout + finished.stderr
        sections = outcomes(report)
        assert sections["TanH"]["earned"] < 50, "the stub TanH earned everything"
        assert sections["ReLU"]["earned"] == 50
        assert not sentinel.exists(), f"the submission's {sentinel.read_text()} ran"
        shutil.rmtree(report)
    hypothesis = ROOT / ".hypothesis"
    leaked = [
        path
        for path in (hypothesis.rglob("*") if hypothesis.exists() else [])
        if path.is_file() and marker.encode() in path.read_bytes()
    ]
    assert not leaked, f"the submission's constants reached the harness's {leaked}"


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
    """When the child machinery itself fails (here: the child program ends at once), pytest
    stops with exit status 3, which the graders report as a failure of the harness."""
    (tmp_path / "broken_child.py").write_text("import sys\nsys.exit(1)\n")
    plugin = tmp_path / "break_the_child.py"
    plugin.write_text(
        "import pathlib\n"
        "import spec.support.isolated as isolated\n"
        f"isolated.CHILD = pathlib.Path({str(tmp_path / 'broken_child.py')!r})\n"
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


def test_a_students_text_reaches_no_terminal_as_escape_sequences(tmp_path: Path):
    """A class named with terminal escapes (clear the screen, print a fake result in green) is
    quoted by a LeNet message; the table, report.md, junit.xml and report.json show it as
    plain text, and LeNet earns no points for it."""
    submission = copy_of_solution(tmp_path / "submission")
    lenet = submission / "Models" / "LeNet.py"
    lenet.write_text(
        lenet.read_text()
        + "\n\nFake = type('\\x1b[2J\\x1b[1;32mLeNet 10/10 passed\\x1b[0m', (), {})\n\n\n"
        "def build():\n    return Fake()\n"
    )
    rubric = tmp_path / "rubric.toml"
    rubric.write_text("[exercise]\nReLU = 100\n[bonus]\nLeNet = 10\n")
    out = tmp_path / "report"
    command = [sys.executable, "-m", "graders", "grade", str(submission), "--rubric", str(rubric)]
    finished = subprocess.run(
        [*command, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert finished.returncode == 0, finished.stderr
    texts = [finished.stdout, finished.stderr]
    texts += [(out / name).read_text() for name in ("report.md", "junit.xml", "report.json")]
    assert not any("\x1b" in text or "\\u001b" in text for text in texts)
    assert "2J" in (out / "report.md").read_text(), "the student's text is gone, not defused"
    assert json.loads((out / "report.json").read_text())["extra_data"]["bonus"] == 0

"""The isolated backend: the submission runs in a child process; the spec, every assertion and
every score stay in this one.

    sub = open_isolated("path/to/solution")          # what `pytest --isolated` uses

Each test module of the spec (one section of the exercise) gets a worker forked for it from a
zygote (child.py) that has NumPy loaded: a fresh submission in milliseconds, so that whatever
student code did in one section (a monkeypatched NumPy, a changed global) cannot leak into
another. Every request (import a module, read an attribute, call a method) goes to the worker
over a pipe and comes back as plain data (wire.py) or as a handle on an object that stays there.
Whatever the submission does, it does it in the worker, confined by the kernel (confinement/):
this side checks through /proc that every required layer holds before a worker gets work.

A request that outlives its time limit, a worker that crashes, exits or runs out of memory or
disk, an operation the kernel refuses, an exception of the student's: each fails the test at
hand with an AssertionError that says which and where in the student's files. After a failure
the next request gets a fresh worker, so a hang costs one test, not the run; and the function a
call hung in is not entered again in the same section: a later call that enters it fails at
once, with the same reason (a call that would not enter it, with other objects or arguments,
still runs).

Time is busy time, measured here: wall-clock time minus the time the worker waited for a CPU
(/proc/PID/schedstat). A loaded machine slows a call down without using up its limit, and a call
that sleeps uses it as one that computes. A call may take `call_multiple` times what the
reference solution took for the same call (calibration.json), at least `call_seconds`; all calls
of a submission together `submission_seconds`.

Why a worker per test module and not per test: measured on the bundled solution, a fresh worker
for each of the 257 tests made the isolated run take 22 to 24 s against 14 s per module (and 11 s
in process, on the same loaded machine): every fresh worker imports the submission and warms up
again.
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import errno
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from spec.support import layout, wire
from spec.support.confinement import LAYERS, Limits, namespaces, policy, view
from spec.support.confinement.limits import worker_uid
from spec.support.submission import (
    REFERENCE_DIR,
    REFERENCE_PACKAGE,
    Ref,
    Submission,
    SubmissionImportError,
)

HARNESS = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("child.py")
# The harness's modules a worker needs, sent to the zygote as text: none of the harness is on
# its filesystem. Packages whose __init__ a worker must not run travel empty.
RUNTIME = {
    "spec": "",
    "spec.support": "",
    "spec.support.confinement": None,
    "spec.support.confinement.audit": None,
    "spec.support.confinement.landlock": None,
    "spec.support.confinement.limits": None,
    "spec.support.confinement.seccomp": None,
    "spec.support.layout": None,
    "spec.support.wire": None,
    "spec.probes": None,
}
STARTUP_SECONDS = 60.0  # the zygote imports NumPy; a loaded machine takes its time
DUMP_SECONDS = 0.2  # for a hung worker to write its traceback before it is killed
CHECK_SECONDS = 0.25  # how often the scratch quota is counted where no tmpfs enforces it
DEFAULT_LIMITS = Limits()
# What the grader records of the confinement: a function giving report.json's part on it.
CONFINEMENT = pytest.StashKey[Any]()
REPORTED_OUTPUT = 300  # characters of a dead worker's output quoted in the reason


class SubmissionFailed(AssertionError):
    """Student code failed in the child process: the message says how and where."""


class SubmissionRaised(SubmissionFailed):
    """Student code raised an exception (`type_name` is its class's name)."""

    def __init__(self, message: str, type_name: str) -> None:
        super().__init__(message)
        self.type_name = type_name


class SubmissionAttributeError(SubmissionRaised, AttributeError):
    """Reading an attribute the object lacks: an AttributeError too, so that `hasattr` and
    NumPy's probing of `__array_interface__` work as they do in process."""


class SubmissionRefused(SubmissionRaised):
    """The confinement refused an operation of the submission."""


class SubmissionTimedOut(SubmissionFailed):
    """A request did not return within the time limit."""


class SubmissionDied(SubmissionFailed):
    """The worker crashed, exited or was killed while serving a request."""


class SubmissionRestarted(SubmissionFailed):
    """An object of an earlier worker (before a failure, or of another test module) is gone."""


class HarnessError(RuntimeError):
    """The child machinery itself failed: not the submission's fault."""


class ScratchFull(Exception):
    """The worker wrote more into its scratch folder than its quota (the parent's count)."""


# -- talking to a worker, with its time measured ----------------------------------------------


class Stopwatch:
    """A worker's busy time on one request: wall-clock time minus the time the kernel kept it
    waiting for a CPU (the second number of /proc/PID/schedstat, in nanoseconds)."""

    def __init__(self, schedstat: int | None, limit: float, check=None) -> None:
        self.schedstat, self.limit, self.check = schedstat, limit, check
        self.started, self.waited = time.monotonic(), self.queued()

    def queued(self) -> float:
        if self.schedstat is None:
            return 0.0
        try:
            return int(os.pread(self.schedstat, 128, 0).split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0  # the worker is gone: its time no longer grows

    def busy(self) -> float:
        return time.monotonic() - self.started - (self.queued() - self.waited)

    def remaining(self) -> float:
        """Wall seconds to wait before the limit could be reached; TimeoutError once it is."""
        if self.check is not None:
            self.check()
        left = self.limit - self.busy()
        if left <= 0:
            raise TimeoutError
        return left if self.check is None else min(left, CHECK_SECONDS)


def wait_for(fd: int, event: int, stopwatch: Stopwatch) -> None:
    poller = select.poll()
    poller.register(fd, event)
    while not poller.poll(stopwatch.remaining() * 1000):
        pass


def write_all(fd: int, data: bytes, stopwatch: Stopwatch) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:  # the pipe is full: the worker is not reading
            wait_for(fd, select.POLLOUT, stopwatch)


def receive(fd: int, stopwatch: Stopwatch) -> tuple[dict, bytes]:
    """One frame (wire.py). The worker sends nothing unasked, so the pipe holds at most this
    reply: read it in as few calls as it arrives in."""
    data, size = bytearray(), wire.FRAME.size
    wire.spin_until_readable(fd)
    while len(data) < size:
        wait_for(fd, select.POLLIN, stopwatch)
        chunk = os.read(fd, max(size - len(data), 1 << 16))
        if not chunk:
            raise EOFError
        data += chunk
        if size == wire.FRAME.size and len(data) >= size:
            header_size, payload_size = wire.FRAME.unpack_from(data)
            if header_size > wire.MAX_HEADER or payload_size > wire.MAX_PAYLOAD:
                raise wire.WireError(f"a reply of {header_size + payload_size} bytes is too large")
            size += header_size + payload_size
    if len(data) > size:
        raise wire.WireError("the worker sent more than its reply")
    header = wire.parse_header(bytes(data[wire.FRAME.size : size - payload_size]))
    return header, bytes(data[size - payload_size :])


# -- the zygote -------------------------------------------------------------------------------


def runtime_sources() -> dict[str, list]:
    """RUNTIME as the zygote's finder takes it: name -> [origin, text, is_package]."""
    sources = {}
    for name, text in RUNTIME.items():
        place = HARNESS.joinpath(*name.split("."))
        package = place.is_dir()
        origin = place / "__init__.py" if package else place.with_suffix(".py")
        sources[name] = [str(origin), origin.read_text() if text is None else text, package]
    return sources


class Zygote:
    """The child that forks workers; this side of the socket pair it listens on."""

    def __init__(self, confined: list[str], config: dict, log: Path) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.log = log
        environment = {
            "PATH": os.defpath,
            "LC_ALL": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        program = [sys.executable, "-I", "-B", "-c", CHILD.read_text(), str(theirs.fileno())]
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [*confined, *program],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=config["scratch"],
                env=environment,
                process_group=0,
            )
        theirs.close()
        self.socket = ours
        self.config: dict | None = config  # sent, and its answer awaited, by `ready`
        socket.send_fds(self.socket, [json.dumps(config).encode()], [])

    def ready(self) -> None:
        """Wait until the zygote has loaded what its workers need (once): it starts while
        pytest collects the spec."""
        if self.config is None:
            return
        self.config = None
        try:
            self.socket.settimeout(STARTUP_SECONDS)
            reply = self.socket.recv(1 << 20)
        except OSError as error:
            raise HarnessError(f"the zygote does not answer ({error})") from None
        if not reply:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise HarnessError(f"the zygote ended; its log:\n{tail}")
        if "error" in json.loads(reply):
            raise HarnessError(f"the child process cannot start:\n{json.loads(reply)['error']}")

    def ask(self, message: dict, fds: list[int] = (), timeout: float = 30.0) -> dict:
        reply, _ = self.ask_for_fds(message, fds, timeout)
        return reply

    def ask_for_fds(
        self, message: dict, fds: list[int] = (), timeout: float = 30.0
    ) -> tuple[dict, list[int]]:
        try:
            self.socket.settimeout(timeout)
            socket.send_fds(self.socket, [json.dumps(message).encode()], list(fds))
            reply, received, _, _ = socket.recv_fds(self.socket, 1 << 20, 1)
        except OSError as error:
            raise HarnessError(f"the zygote does not answer ({error})") from None
        if not reply:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise HarnessError(f"the zygote ended; its log:\n{tail}")
        return json.loads(reply), received

    def fork(self, name: str, output: int, faults: int) -> tuple[int, int, int, int]:
        """A new worker with scratch folder `name`: our ends of its two pipes, its pid in the
        zygote's namespace and a pidfd for it. It writes its output to `output` and `faults`."""
        self.ready()
        commands_read, commands_write = os.pipe()
        replies_read, replies_write = os.pipe()
        try:
            reply, handles = self.ask_for_fds(
                {"op": "fork", "name": name}, [commands_read, replies_write, output, faults]
            )
        finally:
            os.close(commands_read)
            os.close(replies_write)
        if len(handles) != 1 or type(reply.get("pid")) is not int:
            raise HarnessError("the zygote did not hand over the worker")
        for fd in (commands_write, replies_read):
            os.set_blocking(fd, False)
        return commands_write, replies_read, reply["pid"], handles[0]

    def reap(self, pid: int, answer: bool) -> int | None:
        """Have the zygote wait for a killed worker and remove its scratch folder; with
        `answer`, its exit code (negative: the signal that ended it). Without, the zygote does
        not reply and nobody waits."""
        message = {"op": "reap", "pid": pid, "answer": answer}
        if not answer:
            socket.send_fds(self.socket, [json.dumps(message).encode()], [])
            return None
        status = self.ask(message)["status"]
        return None if status is None else os.waitstatus_to_exitcode(status)

    def close(self) -> None:
        self.socket.close()  # the zygote kills its workers and ends
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- what the kernel says of a worker ---------------------------------------------------------


def host_pid(pidfd: int) -> int:
    """The pid, in this namespace, of the process a pidfd refers to."""
    info = Path(f"/proc/self/fdinfo/{pidfd}").read_text()
    return int(re.search(r"^Pid:\s*(-?\d+)", info, re.M).group(1))


def observed_layers(pid: int, claimed: dict) -> dict[str, bool]:
    """The layers in force in process `pid`, read from /proc, which the kernel writes; Landlock
    shows nowhere there, so its line is the worker's own word, given before it ran any student
    code."""
    status = Path(f"/proc/{pid}/status").read_text()
    field = dict(re.findall(r"^(\w+):\s*(.*)$", status, re.M))
    limits = Path(f"/proc/{pid}/limits").read_text()
    processes = re.search(r"^Max processes\s+(\S+)", limits, re.M)
    separate = all(
        os.readlink(f"/proc/{pid}/ns/{kind}") != os.readlink(f"/proc/self/ns/{kind}")
        for kind in ("mnt", "pid", "net", "ipc", "uts")
    )
    return {
        "namespaces": separate,
        "uid": all(uid != "0" for uid in field.get("Uid", "0").split()),
        "landlock": claimed.get("landlock") is True,
        "seccomp": field.get("Seccomp") == "2" and field.get("NoNewPrivs") == "1",
        "rlimits": processes is not None and processes.group(1) == "0",
    }


# -- the backend ------------------------------------------------------------------------------


@dataclass
class Worker:
    """This side's record of one worker."""

    serial: int
    test_file: str
    name: str  # of its scratch folder, and of its output files
    commands: int
    replies: int
    pid: int  # in the zygote's pid namespace
    pidfd: int
    host: int  # its pid in ours, for /proc
    schedstat: int | None = None  # /proc/PID/schedstat, open for the stopwatch
    alive: bool = True
    exit_code: int | None = None
    modules: dict[str, Ref] = field(default_factory=dict)
    callables: dict[int, frozenset] = field(default_factory=dict)  # see child.callables
    seed: int | None = None  # to send with the next request
    sent: set[str] = field(default_factory=set)  # reference modules it has the source of
    told_hung: int = 0  # how many of its section's hung functions it knows of


def current_test_file() -> str:
    """The spec module whose test is running now ('' outside pytest)."""
    return os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[0]


def current_test() -> str:
    """The node id of the test running now ('' outside pytest)."""
    return os.environ.get("PYTEST_CURRENT_TEST", "").rpartition(" ")[0]


class Isolated:
    """The backend: the interface of `InProcess`, served by a worker per test module.

    Its session folder holds `submission/` (the copy the worker reads), `scratch/` (the
    workers' folders: a tmpfs of its own where namespaces are in force) and `private/` (the
    workers' output, the zygote's log: nothing a worker can reach).
    """

    def __init__(
        self,
        folder: Path,
        limits: Limits = DEFAULT_LIMITS,
        accept_missing: frozenset[str] = frozenset(),
        calibration: dict[str, dict[str, float]] | None = None,
    ) -> None:
        self.limits = limits
        self.calibration = calibration or {}
        self.session = Path(tempfile.mkdtemp(prefix="dl-isolated-"))
        atexit.register(self.close)
        self.zygote: Zygote | None = None
        self.current: Worker | None = None
        self.spare: Worker | None = None
        self.serial = 0
        self.spent = 0.0  # busy seconds of all requests
        self.costs: dict[str, dict[str, float]] = {}  # test -> call -> most busy seconds it took
        self.handed: dict[str, set[str]] = {}  # test module -> reference modules its workers got
        self.stuck: dict[str, list[tuple[list[str], str]]] = {}  # test module -> [(code, why)]
        self.folder = layout.arrange_into(folder, self.session / "submission")
        private = self.session / "private"
        private.mkdir(mode=0o700)
        scratch = self.session / "scratch"
        scratch.mkdir()
        readable = view.readable(self.folder, [HARNESS, private])
        reasons = policy.available(readable)
        policy.require(reasons, accept_missing)
        self.expected = {layer: not reason for layer, reason in reasons.items()}
        self.uid = worker_uid(os.getpid()) if os.geteuid() == 0 and self.expected["uid"] else None
        self.share(scratch)
        self.confined = (
            namespaces.command(readable, str(self.folder), str(scratch), limits.scratch_bytes)
            if self.expected["namespaces"]
            else []
        )
        self.layers: dict[str, bool] = {}  # as observed in the first worker
        self.accepted = sorted(accept_missing & {k for k, v in self.expected.items() if not v})
        self.config = {
            "modules": runtime_sources(),
            "submission": str(self.folder),
            "scratch": str(scratch),
            "readable": readable,
            "limits": vars(limits),
            "uid": self.uid,
        }
        self.zygote = self.start_zygote()  # boots while pytest collects

    def share(self, scratch: Path) -> None:
        """Let the workers' uid (not root) read the submission and enter the scratch folder,
        and nobody else: the submission goes to the uid's group."""
        os.chmod(self.session, 0o711)
        os.chmod(scratch, 0o711)
        if self.uid is None:
            return
        for parent, _, files in os.walk(self.folder):
            os.chown(parent, 0, self.uid)
            os.chmod(parent, 0o750)
            for name in files:
                os.chown(os.path.join(parent, name), 0, self.uid)
                os.chmod(os.path.join(parent, name), 0o640)

    def close(self) -> None:
        for worker in (self.current, self.spare):
            if worker is not None:
                self.retire(worker, answer=False)
        self.current = self.spare = None
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        shutil.rmtree(self.session, ignore_errors=True)

    def confinement(self) -> dict[str, Any]:
        """What report.json says of the confinement: each layer as seen in the workers."""
        if not self.layers:
            self.worker()  # the first worker shows what holds
        return {"layers": dict(self.layers), "accepted_missing": self.accepted, "trusted": False}

    # workers
    def worker(self) -> Worker:
        """The worker of the test module running now: a fresh one for every module, and after a
        failure."""
        test_file = current_test_file()
        current = self.current
        if current is None or not current.alive or current.test_file != test_file:
            if current is not None:
                self.retire(current, answer=False)
            self.current = self.spare or self.start_worker()
            self.current.test_file = test_file
            self.spare = self.start_worker()  # the next one, starting while this one works
            self.await_ready(self.current)
        return self.current

    def start_worker(self) -> Worker:
        self.serial += 1
        name = f"worker-{self.serial}"
        private = self.session / "private"
        output = os.open(private / f"{name}.output", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        faults = os.open(private / f"{name}.faults", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            commands, replies, pid, pidfd = self.fork(name, output, faults)
        finally:
            os.close(output)
            os.close(faults)
        worker = Worker(self.serial, "", name, commands, replies, pid, pidfd, host_pid(pidfd))
        with contextlib.suppress(OSError):  # no scheduler statistics: busy time is wall time
            worker.schedstat = os.open(f"/proc/{worker.host}/schedstat", os.O_RDONLY)
        return worker

    def await_ready(self, worker: Worker) -> None:
        """A worker says it is ready once it has locked itself in; the kernel must agree."""
        try:
            ready, _ = receive(worker.replies, Stopwatch(None, STARTUP_SECONDS))
        except (EOFError, TimeoutError, OSError, wire.WireError):
            output = self.output(worker, "output", 2000)
            self.retire(worker)
            raise HarnessError(f"a worker could not start: {output}") from None
        try:
            layers = observed_layers(worker.host, ready.get("layers") or {})
        except (OSError, AttributeError, ValueError) as error:
            self.retire(worker)
            raise HarnessError(f"the worker's confinement cannot be read ({error})") from None
        absent = [layer for layer in LAYERS if self.expected[layer] and not layers[layer]]
        if absent:
            self.retire(worker)
            raise HarnessError(f"a worker is not confined as required: no {', '.join(absent)}")
        self.layers = self.layers or layers

    def fork(self, name: str, output: int, faults: int) -> tuple[int, int, int, int]:
        assert self.zygote is not None, "fork after close"
        try:
            return self.zygote.fork(name, output, faults)
        except HarnessError:  # the zygote died (it runs no student code): start another once
            self.zygote.close()
            self.zygote = self.start_zygote()
            return self.zygote.fork(name, output, faults)

    def start_zygote(self) -> Zygote:
        return Zygote(self.confined, self.config, self.session / "private" / "zygote.log")

    def retire(self, worker: Worker, answer: bool = True) -> int | None:
        """Stop a worker, have its scratch folder and its output removed; with `answer`, return
        its exit code."""
        if worker.alive:
            worker.alive = False
            for fd in (worker.commands, worker.replies, worker.schedstat):
                if fd is not None:
                    os.close(fd)
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(worker.pidfd, signal.SIGKILL)
            os.close(worker.pidfd)
            if self.zygote is not None:
                worker.exit_code = self.zygote.reap(worker.pid, answer)
            for kind in ("output", "faults"):  # read by now; each may hold 64 MiB
                (self.session / "private" / f"{worker.name}.{kind}").unlink(missing_ok=True)
        return worker.exit_code

    # one request
    def request(self, op: str, context: str, label: str = "", **arguments: Any) -> Any:
        """Send a request to the test's worker; its plain reply, or a Ref labelled `label`."""
        __tracebackhide__ = True
        worker = self.worker()
        if self.spent > self.limits.submission_seconds:
            raise SubmissionTimedOut(
                f"the submission has used up its time ({self.limits.submission_seconds:g} s "
                f"of computing for all tests together): not run {context}"
            )
        buffers: list[bytes] = []
        header: dict[str, Any] = {"op": op}
        if worker.seed is not None:
            header["seed"], worker.seed = worker.seed, None
        stuck = self.stuck.get(worker.test_file, [])
        if len(stuck) > worker.told_hung:
            header["hung"], worker.told_hung = [code for code, _ in stuck], len(stuck)
        for name, value in arguments.items():
            header[name] = wire.encode(value, buffers, lambda v: self.handle_in(v, worker))
        limit = self.limit_of(op, context)
        stopwatch = Stopwatch(worker.schedstat, limit, self.quota_check(worker))
        try:
            write_all(worker.commands, wire.frame(header, buffers), stopwatch)
            reply, payload = receive(worker.replies, stopwatch)
            busy = stopwatch.busy()
            self.spent += busy
            calls = self.costs.setdefault(current_test(), {})
            calls[context] = max(busy, calls.get(context, 0.0))
            if stopwatch.check is not None:
                stopwatch.check()
            value = (
                None
                if "error" in reply
                else wire.decode(
                    reply.get("value"),
                    payload,
                    lambda handle, _, names: self.ref(worker, handle, label, names),
                )
            )
        except TimeoutError:
            self.spent += limit
            error, code = self.timed_out(worker, context, limit)
            if code:
                self.stuck.setdefault(worker.test_file, []).append((code, str(error)))
            raise error from None
        except ScratchFull:
            self.retire(worker)
            raise SubmissionFailed(
                f"exceeded the scratch folder's quota ({self.limits.scratch_bytes >> 20} MiB) "
                f"{context}"
            ) from None
        except (EOFError, BrokenPipeError, ConnectionResetError):
            raise self.died(worker, context) from None
        except wire.WireError as error:
            self.retire(worker)
            raise SubmissionFailed(
                f"the submission's process sent a malformed reply {context} ({error})"
            ) from None
        except BaseException:  # e.g. pytest-timeout or Ctrl-C: the reply would come too late
            self.retire(worker)
            raise
        if "error" in reply:
            raise self.raised(reply["error"], op, context, stuck)
        return value

    def limit_of(self, op: str, context: str) -> float:
        """A call's limit: `call_multiple` times what the reference took for it, at least
        `call_seconds` (`import_seconds` for an import)."""
        cost = self.calibration.get(current_test(), {}).get(context, 0.0)
        floor = self.limits.import_seconds if op == "module" else self.limits.call_seconds
        return max(floor, self.limits.call_multiple * cost)

    def quota_check(self, worker: Worker):
        """Where no tmpfs caps the scratch folder, a count of its size, made while waiting."""
        if self.expected["namespaces"]:
            return None
        folder = self.session / "scratch" / worker.name

        def check() -> None:
            if disk_usage(folder) > self.limits.scratch_bytes:
                raise ScratchFull

        return check

    def ref(self, worker: Worker, handle: int, label: str, callables: list[str]) -> Ref:
        worker.callables[handle] = frozenset(callables)
        return Ref(self, (worker.serial, handle), label)

    def handle_in(self, value: Any, worker: Worker) -> list:
        """How an argument that is not plain data crosses: a Ref of this worker, as its handle
        (["ref", n], or ["method", n, name] for a method looked up without asking)."""
        if isinstance(value, Ref) and value._backend is self:
            serial, handle = value._handle
            if serial != worker.serial:
                raise SubmissionRestarted(
                    f"{value._label} is gone: the submission was restarted (for another test "
                    f"module, or after a failure), and objects made before do not survive"
                )
            return ["method", *handle] if isinstance(handle, tuple) else ["ref", handle]
        raise TypeError(
            f"the spec may hand the submission only plain data or its own objects, "
            f"not {type(value).__name__}"
        )

    # why a request failed, in words a student can act on
    def raised(
        self, error: Any, op: str, context: str, stuck: list[tuple[list[str], str]]
    ) -> AssertionError:
        error = error if isinstance(error, dict) else {}
        type_name = clean(error.get("type"), 80) or "Exception"
        message = clean(error.get("message"), 600)
        where = student_frame(error.get("trace"))
        if type_name == "HungEarlier" and message.isdigit() and int(message) < len(stuck):
            (path, function), earlier = stuck[int(message)]
            return SubmissionTimedOut(
                f"stopped {context}: it entered {function} ({os.path.relpath(path, self.folder)}),"
                f" which earlier in this section {earlier}"
            )
        if type_name == "Refused":
            reason, kind = message, SubmissionRefused
        elif type_name == "SystemExit":
            reason, kind = f"it called sys.exit({message})", SubmissionRaised
        elif type_name == "MemoryError":
            reason = f"exceeded the memory limit ({self.limits.memory_bytes / 2**30:g} GiB)"
            kind = SubmissionRaised
        elif message.startswith(f"[Errno {errno.EFBIG}]"):  # Python ignores SIGXFSZ
            reason = f"exceeded the file size limit ({self.limits.file_bytes >> 20} MiB)"
            kind = SubmissionRaised
        elif message.startswith(f"[Errno {errno.ENOSPC}]"):  # the tmpfs is full
            reason = f"exceeded the scratch folder's quota ({self.limits.scratch_bytes >> 20} MiB)"
            kind = SubmissionRaised
        else:
            reason, kind = f"{type_name}: {message}", SubmissionRaised
            if op == "getattr" and type_name == "AttributeError":
                kind = SubmissionAttributeError
        if op == "module":
            return SubmissionImportError(
                f"{context.removeprefix('while importing ')} cannot be imported: {reason}{where}"
            )
        return kind(f"{reason} ({context}{where})", type_name)

    def timed_out(
        self, worker: Worker, context: str, limit: float
    ) -> tuple[SubmissionTimedOut, list[str]]:
        """The failure, and the student's function it was stuck in ([file, name], or [])."""
        try:
            signal.pidfd_send_signal(worker.pidfd, signal.SIGUSR1)  # faulthandler: where it is
            time.sleep(DUMP_SECONDS)
        except ProcessLookupError:
            pass
        where, code = self.stuck_at(worker)
        self.retire(worker)
        return SubmissionTimedOut(f"timed out after {limit:g} s {context}{where}"), code

    def died(self, worker: Worker, context: str) -> SubmissionDied:
        where, printed = self.stuck_at(worker)[0], self.output(worker, "output")
        code = self.retire(worker)
        printed = f"; its last output: {printed}" if printed else ""
        return SubmissionDied(f"{self.death(code)} {context}{where}{printed}")

    def death(self, code: int | None) -> str:
        if code is None or code >= 0:
            return f"ended its process with exit status {code} (os._exit({code}) or similar)"
        number = -code
        if number == signal.SIGXCPU:
            return f"exceeded the CPU time limit ({self.limits.cpu_seconds} s)"
        if number == signal.SIGXFSZ:
            return f"exceeded the file size limit ({self.limits.file_bytes >> 20} MiB)"
        if number == signal.SIGKILL:
            return "was killed (SIGKILL; out of memory?)"
        if number == signal.SIGSEGV:
            return "crashed with SIGSEGV (segmentation fault)"
        if number == signal.SIGSYS:
            return "was killed for a forbidden system call (SIGSYS)"
        return f"crashed with {signal.Signals(number).name}"

    def output(self, worker: Worker, kind: str, limit: int = REPORTED_OUTPUT) -> str:
        """The end of what the worker wrote to its output or faults file, as one line."""
        path = self.session / "private" / f"{worker.name}.{kind}"
        try:
            with path.open("rb") as file:
                size = os.fstat(file.fileno()).st_size
                file.seek(max(0, size - 8 * limit))
                return clean(file.read(8 * limit).decode("utf-8", "replace"), limit, keep_end=True)
        except OSError:
            return ""

    def stuck_at(self, worker: Worker) -> tuple[str, list[str]]:
        """Where faulthandler saw the worker last (a crash or a timeout), in the student's
        files: ' (at Layers/TanH.py:12 in forward)', and that function as [file, name]."""
        dump = self.output(worker, "faults", 8000)
        for path, line, function in re.findall(r'File "([^"]+)", line (\d+) in (\S+)', dump):
            if view.within(os.path.normpath(path), str(self.folder)):
                relative = os.path.relpath(os.path.normpath(path), self.folder)
                return f" (at {relative}:{line} in {function})", [path, function]
        return "", []

    # the interface of InProcess
    def kind(self, dotted: str) -> str:
        if dotted == REFERENCE_PACKAGE or dotted.startswith(REFERENCE_PACKAGE + "."):
            return layout.kind_of(REFERENCE_DIR, dotted.split(".", 1)[1] if "." in dotted else "")
        return layout.kind_of(self.folder, dotted)

    def module(self, dotted: str) -> Ref:
        __tracebackhide__ = True
        worker = self.worker()
        if dotted not in worker.modules:
            sources = {}
            if dotted.startswith(REFERENCE_PACKAGE + "."):
                sources = {
                    name: source
                    for name, source in reference_sources(dotted).items()
                    if name not in worker.sent
                }
            ref = self.request(
                "module",
                f"while importing {layout.path_of(dotted)}",
                dotted,
                name=dotted,
                sources=sources,
            )
            worker.sent.update(sources)
            self.handed.setdefault(worker.test_file, set()).update(sources)
            worker.modules[dotted] = ref
        return worker.modules[dotted]

    def getattr(self, ref: Ref, name: str) -> Any:
        __tracebackhide__ = True
        label = f"{ref._label}.{name}"
        serial, handle = ref._handle
        worker = self.current
        if (
            worker is not None
            and serial == worker.serial
            and name in worker.callables.get(handle, ())
        ):
            # a method (or a module's class or function): looked up in the worker when used
            return Ref(self, (serial, (handle, name)), label)
        return self.request("getattr", f"reading {label}", label, target=ref, name=name)

    def setattr(self, ref: Ref, name: str, value: Any) -> None:
        __tracebackhide__ = True
        self.request("setattr", f"setting {ref._label}.{name}", target=ref, name=name, value=value)

    def call(self, ref: Ref, args: tuple, kwargs: dict) -> Any:
        __tracebackhide__ = True
        label = f"{ref._label}(...)"
        return self.request(
            "call", f"in {label}", label, target=ref, args=tuple(args), kwargs=dict(kwargs)
        )

    def len(self, ref: Ref) -> int:
        __tracebackhide__ = True
        length = self.request("len", f"in len({ref._label})", target=ref)
        if type(length) is not int:
            raise SubmissionFailed(f"len({ref._label}) is not a number")
        return length

    def getitem(self, ref: Ref, key: Any) -> Any:
        __tracebackhide__ = True
        label = f"{ref._label}[{key!r}]"
        return self.request("getitem", f"reading {label}", label, target=ref, key=key)

    def seed(self, value: int) -> None:
        self.worker().seed = int(value)  # travels with the next request: saves a round trip

    def type_name(self, ref: Ref) -> str:
        __tracebackhide__ = True
        return str(self.request("type_name", f"in type({ref._label})", target=ref))

    def same(self, a: Ref, b: Ref) -> bool:
        __tracebackhide__ = True
        return (
            self.request("same", f"comparing {a._label} and {b._label}", first=a, second=b) is True
        )

    def scratch(self, name: str) -> str:
        return str(self.session / "scratch" / self.worker().name / name)


def clean(text: Any, limit: int, keep_end: bool = False) -> str:
    """Text from the child made safe to show: one line of printable characters, at most `limit`
    (no terminal escapes, no fake report lines)."""
    text = " ".join("".join(c if c.isprintable() else " " for c in str(text or "")).split())
    if len(text) <= limit:
        return text
    return "…" + text[-limit + 1 :] if keep_end else text[: limit - 1] + "…"


def student_frame(trace: Any) -> str:
    """' (at Layers/RNN.py:42 in forward: h = ...)' for the innermost frame of the student's."""
    if not isinstance(trace, list) or not trace or not isinstance(trace[-1], list):
        return ""
    path, line, function, code = [*trace[-1], "", "", "", ""][:4]
    code = f": {clean(code, 120)}" if code else ""
    return f" at {clean(path, 120)}:{clean(line, 10)} in {clean(function, 60)}{code}"


@cache
def reference_sources(dotted: str) -> dict[str, list]:
    """The sources a worker needs to import `dotted` from the reference solution: the module,
    its packages, and what it imports relatively, transitively. name -> [path, text, package]."""
    sources: dict[str, list] = {}
    pending = [dotted]
    while pending:
        name = pending.pop()
        parts = name.split(".")
        if name in sources:
            continue
        pending += [".".join(parts[:i]) for i in range(1, len(parts))]
        place = REFERENCE_DIR.joinpath(*parts[1:])
        if place.is_dir():
            init = place / "__init__.py"
            path, text = init, init.read_text() if init.is_file() else ""
        elif place.with_suffix(".py").is_file():
            path = place.with_suffix(".py")
            text = path.read_text()
        else:
            continue  # missing: the import fails in the worker, as it would in process
        package = place.is_dir()
        sources[name] = [str(path), text, package]
        pending += relative_imports(name, text, package)
    return sources


def relative_imports(name: str, text: str, package: bool) -> list[str]:
    """The modules `from .X import y` and `from . import X` in a module's text may name."""
    base = name.split(".") if package else name.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.level:
            parent = base[: len(base) - node.level + 1]
            target = [*parent, *(node.module.split(".") if node.module else [])]
            found.append(".".join(target))
            found += [".".join([*target, alias.name]) for alias in node.names]
    return found


def disk_usage(folder: Path) -> int:
    """Bytes a folder's files occupy on disk (a sparse file counts what it holds)."""
    total = 0
    for parent, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(parent, name)).st_blocks * 512
            except OSError:
                continue
    return total


def open_isolated(
    folder: str | Path, limits: Limits = DEFAULT_LIMITS, **options: Any
) -> Submission:
    return Submission(Isolated(Path(folder), limits, **options))


__all__ = [
    "HarnessError",
    "Isolated",
    "Limits",
    "SubmissionAttributeError",
    "SubmissionDied",
    "SubmissionFailed",
    "SubmissionRaised",
    "SubmissionRefused",
    "SubmissionRestarted",
    "SubmissionTimedOut",
    "open_isolated",
]

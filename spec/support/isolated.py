"""The isolated backend: the submission runs in a child process; the spec, every assertion and
every score stay in this one.

    sub = open_isolated("path/to/solution")          # what `pytest --isolated` uses

Each test module of the spec (one section of the exercise) gets a worker forked for it from a
zygote (child.py) that has NumPy loaded: a fresh submission in milliseconds, so that whatever
student code did in one section (a monkeypatched NumPy, a changed global) cannot leak into
another. Every request (import a module, read an attribute, call a method) goes to the worker
over a pipe and comes back as plain data (wire.py) or as a handle on an object that stays there.
Whatever the submission does, it does it in the worker, locked in by sandbox.py: a request that
outlives its time limit, a worker that crashes, exits or runs out of memory, an operation the
sandbox refuses, an exception of the student's: each fails the test at hand with an
AssertionError that says which and where in the student's files. After a failure the next request
gets a fresh worker, so a hang costs one test, not the run.

Why a worker per test module and not per test: measured on the bundled solution, a fresh worker
for each of the 257 tests made the isolated run take 22 to 24 s against 14 s per module (and 11 s
in process, on the same loaded machine): every fresh worker imports the submission and warms up
again.
"""

from __future__ import annotations

import ast
import atexit
import errno
import json
import os
import re
import select
import shutil
import signal
import site
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from spec.support import layout, wire
from spec.support.sandbox import Limits
from spec.support.submission import (
    REFERENCE_DIR,
    REFERENCE_PACKAGE,
    Ref,
    Submission,
    SubmissionImportError,
)

HARNESS = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("child.py")
STARTUP_SECONDS = 60.0  # the zygote imports NumPy; a loaded machine takes its time
DUMP_SECONDS = 0.2  # for a hung worker to write its traceback before it is killed
DEFAULT_LIMITS = Limits()
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
    """The sandbox refused an operation of the submission."""


class SubmissionTimedOut(SubmissionFailed):
    """A request did not return within the time limit."""


class SubmissionDied(SubmissionFailed):
    """The worker crashed, exited or was killed while serving a request."""


class SubmissionRestarted(SubmissionFailed):
    """An object of an earlier worker (before a failure, or of another test module) is gone."""


class HarnessError(RuntimeError):
    """The child machinery itself failed: not the submission's fault."""


# -- talking to a worker with deadlines -------------------------------------------------------


def wait_for(fd: int, event: int, deadline: float) -> None:
    poller = select.poll()
    poller.register(fd, event)
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not poller.poll(remaining * 1000):
        raise TimeoutError


def write_all(fd: int, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:  # the pipe is full: the worker is not reading
            wait_for(fd, select.POLLOUT, deadline)


def receive(fd: int, deadline: float) -> tuple[dict, bytes]:
    """One frame (wire.py). The worker sends nothing unasked, so the pipe holds at most this
    reply: read it in as few calls as it arrives in."""
    data, size = bytearray(), wire.FRAME.size
    wire.spin_until_readable(fd)
    while len(data) < size:
        wait_for(fd, select.POLLIN, deadline)
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


def python_installation() -> list[str]:
    """Where the standard library and installed packages live: readable to a submission."""
    paths = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        *sysconfig.get_paths().values(),
        *site.getsitepackages(),
        *([site.getusersitepackages()] if site.ENABLE_USER_SITE else []),
    }
    return sorted(p for p in paths if os.path.isdir(p))


class Zygote:
    """The child that forks workers; this side of the socket pair it listens on."""

    def __init__(self, folder: Path, config: dict) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.log = folder / "zygote.log"
        environment = {
            "PATH": os.defpath,
            "LC_ALL": "C.UTF-8",
            "HOME": str(folder),
            "TMPDIR": str(folder),
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-B", str(CHILD), str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=folder,
                env=environment,
                process_group=0,
            )
        theirs.close()
        self.socket = ours
        reply = self.ask(config, timeout=STARTUP_SECONDS)
        if "error" in reply:
            raise HarnessError(f"the child process cannot start:\n{reply['error']}")

    def ask(self, message: dict, fds: list[int] = (), timeout: float = 30.0) -> dict:
        try:
            self.socket.settimeout(timeout)
            socket.send_fds(self.socket, [json.dumps(message).encode()], list(fds))
            reply = self.socket.recv(1 << 20)
        except OSError as error:
            raise HarnessError(f"the zygote does not answer ({error})") from None
        if not reply:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise HarnessError(f"the zygote ended; its log:\n{tail}")
        return json.loads(reply)

    def fork(self, folder: Path) -> tuple[int, int]:
        """A new worker in `folder`: our ends of its two pipes. The zygote does not answer (the
        worker's first message says it is ready, and its pid)."""
        commands_read, commands_write = os.pipe()
        replies_read, replies_write = os.pipe()
        try:
            message = json.dumps({"op": "fork", "folder": str(folder)}).encode()
            socket.send_fds(self.socket, [message], [commands_read, replies_write])
        except OSError as error:
            raise HarnessError(f"the zygote does not listen ({error})") from None
        finally:
            os.close(commands_read)
            os.close(replies_write)
        for fd in (commands_write, replies_read):
            os.set_blocking(fd, False)
        return commands_write, replies_read

    def reap(self, pid: int, answer: bool) -> int | None:
        """Have the zygote wait for a killed worker; with `answer`, its exit code (negative: the
        signal that ended it). Without, the zygote does not reply and nobody waits."""
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


# -- the backend ------------------------------------------------------------------------------


@dataclass
class Worker:
    """This side's record of one worker."""

    serial: int
    test_file: str
    folder: Path
    commands: int
    replies: int
    pid: int | None = None  # known once it is ready
    alive: bool = True
    exit_code: int | None = None
    modules: dict[str, Ref] = field(default_factory=dict)
    callables: dict[int, frozenset] = field(default_factory=dict)  # see child.callables
    seed: int | None = None  # to send with the next request
    sent: set[str] = field(default_factory=set)  # reference modules it has the source of


def current_test_file() -> str:
    """The spec module whose test is running now ('' outside pytest)."""
    return os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[0]


class Isolated:
    """The backend: the interface of `InProcess`, served by a worker per test module."""

    def __init__(self, folder: Path, limits: Limits = DEFAULT_LIMITS) -> None:
        self.folder = folder
        self.limits = limits
        self.session = Path(tempfile.mkdtemp(prefix="dl-isolated-"))
        self.config = {
            "sys_path": [str(HARNESS), *(p for p in sys.path if p and p != os.getcwd())],
            "submission": str(folder),
            "readable": python_installation(),
            "secret": [str(HARNESS), str(self.session)],  # the reference is in the harness
            "limits": vars(limits),
        }
        self.zygote: Zygote | None = None
        self.current: Worker | None = None
        self.spare: Worker | None = None
        self.serial = 0
        self.seccomp: bool | None = None  # whether the kernel filter is in place
        atexit.register(self.close)

    def close(self) -> None:
        for worker in (self.current, self.spare):
            if worker is not None:
                self.retire(worker, answer=False)
        self.current = self.spare = None
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        shutil.rmtree(self.session, ignore_errors=True)

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
        folder = self.session / f"worker-{self.serial}"
        folder.mkdir(mode=0o700)
        try:
            commands, replies = self.fork(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return Worker(self.serial, "", folder, commands, replies)

    def await_ready(self, worker: Worker) -> None:
        """A worker says it is ready once it has locked itself in."""
        try:
            ready, _ = receive(worker.replies, time.monotonic() + STARTUP_SECONDS)
        except (EOFError, TimeoutError, OSError, wire.WireError):
            output = self.output(worker, "output.txt", 2000)
            self.retire(worker)
            raise HarnessError(f"a worker could not start: {output}") from None
        worker.pid = ready.get("pid")
        self.seccomp = bool(ready.get("seccomp"))
        if type(worker.pid) is not int:
            self.retire(worker)
            raise HarnessError("a worker did not say its pid")

    def fork(self, folder: Path) -> tuple[int, int]:
        if self.zygote is None:
            self.zygote = Zygote(self.session, self.config)
        try:
            return self.zygote.fork(folder)
        except HarnessError:  # the zygote died (it runs no student code): start another once
            self.zygote.close()
            self.zygote = Zygote(self.session, self.config)
            return self.zygote.fork(folder)

    def retire(self, worker: Worker, answer: bool = True) -> int | None:
        """Stop a worker (and anything it started), delete its folder; with `answer`, return
        its exit code."""
        if worker.alive:
            worker.alive = False
            os.close(worker.commands)
            os.close(worker.replies)
            if worker.pid is not None:  # else it never started: the zygote ends it on close
                for kill in (os.killpg, os.kill):
                    try:
                        kill(worker.pid, signal.SIGKILL)
                        break
                    except (ProcessLookupError, PermissionError):
                        continue
                worker.exit_code = self.zygote.reap(worker.pid, answer)
            shutil.rmtree(worker.folder, ignore_errors=True)
        return worker.exit_code

    # one request
    def request(self, op: str, context: str, label: str = "", **arguments: Any) -> Any:
        """Send a request to the test's worker; its plain reply, or a Ref labelled `label`."""
        worker = self.worker()
        buffers: list[bytes] = []
        header = {"op": op}
        if worker.seed is not None:
            header["seed"], worker.seed = worker.seed, None
        for name, value in arguments.items():
            header[name] = wire.encode(value, buffers, lambda v: self.handle_in(v, worker))
        deadline = time.monotonic() + self.limits.call_seconds
        try:
            write_all(worker.commands, wire.frame(header, buffers), deadline)
            reply, payload = receive(worker.replies, deadline)
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
            raise self.timed_out(worker, context) from None
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
            raise self.raised(reply["error"], op, context)
        return value

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
    def raised(self, error: Any, op: str, context: str) -> AssertionError:
        error = error if isinstance(error, dict) else {}
        type_name = clean(error.get("type"), 80) or "Exception"
        message = clean(error.get("message"), 600)
        where = student_frame(error.get("trace"))
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
        else:
            reason, kind = f"{type_name}: {message}", SubmissionRaised
            if op == "getattr" and type_name == "AttributeError":
                kind = SubmissionAttributeError
        if op == "module":
            return SubmissionImportError(
                f"{context.removeprefix('while importing ')} cannot be imported: {reason}{where}"
            )
        return kind(f"{reason} ({context}{where})", type_name)

    def timed_out(self, worker: Worker, context: str) -> SubmissionTimedOut:
        try:
            os.kill(worker.pid, signal.SIGUSR1)  # faulthandler writes where it is stuck
            time.sleep(DUMP_SECONDS)
        except ProcessLookupError:
            pass
        where = self.stuck_at(worker)
        self.retire(worker)
        return SubmissionTimedOut(
            f"timed out after {self.limits.call_seconds:g} s {context}{where}"
        )

    def died(self, worker: Worker, context: str) -> SubmissionDied:
        where, printed = self.stuck_at(worker), self.output(worker, "output.txt")
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
        return f"crashed with {signal.Signals(number).name}"

    def output(self, worker: Worker, name: str, limit: int = REPORTED_OUTPUT) -> str:
        """The end of a file the worker wrote, as one printable line."""
        try:
            fd = os.open(worker.folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return ""
        with open(fd, "rb") as file:
            size = os.fstat(fd)
            if not stat.S_ISREG(size.st_mode):  # the student may have put a FIFO there
                return ""
            file.seek(max(0, size.st_size - 8 * limit))
            return clean(file.read(8 * limit).decode("utf-8", "replace"), limit, keep_end=True)

    def stuck_at(self, worker: Worker) -> str:
        """Where faulthandler saw the worker last (a crash or a timeout), in the student's files."""
        dump = self.output(worker, "faults.txt", 8000)
        for path, line, function in re.findall(r'File "([^"]+)", line (\d+) in (\S+)', dump):
            if os.path.realpath(path).startswith(os.path.realpath(self.folder) + os.sep):
                relative = os.path.relpath(os.path.realpath(path), os.path.realpath(self.folder))
                return f" (at {relative}:{line} in {function})"
        return ""

    # the interface of InProcess
    def kind(self, dotted: str) -> str:
        if dotted == REFERENCE_PACKAGE or dotted.startswith(REFERENCE_PACKAGE + "."):
            return layout.kind_of(REFERENCE_DIR, dotted.split(".", 1)[1] if "." in dotted else "")
        return layout.kind_of(self.folder, dotted)

    def module(self, dotted: str) -> Ref:
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
            worker.modules[dotted] = ref
        return worker.modules[dotted]

    def getattr(self, ref: Ref, name: str) -> Any:
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
        self.request("setattr", f"setting {ref._label}.{name}", target=ref, name=name, value=value)

    def call(self, ref: Ref, args: tuple, kwargs: dict) -> Any:
        label = f"{ref._label}(...)"
        return self.request(
            "call", f"in {label}", label, target=ref, args=tuple(args), kwargs=dict(kwargs)
        )

    def len(self, ref: Ref) -> int:
        length = self.request("len", f"in len({ref._label})", target=ref)
        if type(length) is not int:
            raise SubmissionFailed(f"len({ref._label}) is not a number")
        return length

    def getitem(self, ref: Ref, key: Any) -> Any:
        label = f"{ref._label}[{key!r}]"
        return self.request("getitem", f"reading {label}", label, target=ref, key=key)

    def seed(self, value: int) -> None:
        self.worker().seed = int(value)  # travels with the next request: saves a round trip

    def type_name(self, ref: Ref) -> str:
        return str(self.request("type_name", f"in type({ref._label})", target=ref))

    def same(self, a: Ref, b: Ref) -> bool:
        return (
            self.request("same", f"comparing {a._label} and {b._label}", first=a, second=b) is True
        )

    def scratch(self, name: str) -> str:
        return str(self.worker().folder / name)


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


def open_isolated(folder: str | Path, limits: Limits = DEFAULT_LIMITS) -> Submission:
    return Submission(Isolated(layout.arranged(Path(folder)), limits))


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

"""The child process that runs a submission for the grader (isolated.py is the grader's side).

It starts as a zygote, confined from its first instruction (confinement/namespaces.py): it
receives the harness's modules it needs as source text (none of the harness is on its
filesystem), imports NumPy and them once, then forks a worker on request, in milliseconds, so
that every test module of the spec (and every test after a failure) meets a fresh submission.

A worker sends its output to files the grader opened for it, moves into its own scratch folder,
locks itself in (confinement/) and only then imports the submission, as the spec asks for its
modules. It keeps every object in a table and answers the grader's requests, one at a time,
over two pipes: "import this module", "get this attribute", "call this with these arguments".
Only plain data goes back (wire.py); everything else stays here and goes back as a handle.

    python -I -B -c "<this file>" FD     FD: the zygote's end of a Unix socket pair to the grader
"""

from __future__ import annotations

import faulthandler
import functools
import importlib
import importlib.abc
import importlib.util
import inspect
import json
import os
import random
import shutil
import signal
import socket
import sys
import traceback
import types
from pathlib import Path

MAX_FRAMES = 6  # student frames kept in a traceback
MAX_MESSAGE = 2000


# -- the zygote -------------------------------------------------------------------------------


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    config = json.loads(control.recv(1 << 20))  # a SOCK_SEQPACKET datagram comes whole
    try:
        SOURCES.add(config["modules"])
        sys.meta_path.insert(0, SOURCES)
        preload()
    except BaseException:
        control.send(json.dumps({"error": traceback.format_exc()}).encode())
        return
    control.send(b'{"ready": true}')
    workers: dict[int, str] = {}  # pid -> its scratch folder
    while True:
        message, fds, _, _ = socket.recv_fds(control, 1 << 16, 4)
        if not message:  # the grader is gone: so are its workers
            for pid in workers:
                os.kill(pid, signal.SIGKILL)
            return
        request = json.loads(message)
        if request["op"] == "fork":
            folder = os.path.join(config["scratch"], request["name"])
            pid = os.fork()
            if pid == 0:
                control.close()
                run_worker(*fds, folder, config)
            for fd in fds:
                os.close(fd)
            workers[pid] = folder
            handle = os.pidfd_open(pid)  # the grader's handle on it, whatever its pid there
            socket.send_fds(control, [json.dumps({"pid": pid}).encode()], [handle])
            os.close(handle)
        elif request["op"] == "reap":  # after the grader killed it
            try:
                _, status = os.waitpid(request["pid"], 0)
            except ChildProcessError:
                status = None
            shutil.rmtree(workers.pop(request["pid"], ""), ignore_errors=True)
            if request["answer"]:
                control.send(json.dumps({"status": status}).encode())


def preload() -> None:
    """What every worker needs, imported once: never the submission, never the reference."""
    global numpy, layout, confinement, wire  # the worker's, once forked
    import copy  # noqa: F401  common in submissions: saves each worker the import
    import math  # noqa: F401
    import pickle  # noqa: F401

    import numpy
    import numpy.lib.stride_tricks
    import numpy.linalg
    import numpy.random

    import spec.probes  # noqa: F401
    from spec.support import confinement, layout, wire
    from spec.support.confinement import audit, landlock, limits, seccomp  # noqa: F401

    layout.restore_numpy_aliases()


# -- a worker ---------------------------------------------------------------------------------


def run_worker(commands: int, replies: int, output: int, faults: int, folder: str, config: dict):
    try:
        enter(output, faults, folder, config)
        keep = sorted({0, 1, 2, commands, replies, FAULTS.fileno()})
        for low, high in zip(keep, [*keep[1:], os.sysconf("SC_OPEN_MAX")], strict=True):
            os.closerange(low + 1, high)
        layers = lock(folder, config)
    except BaseException:
        traceback.print_exc()
        os._exit(70)
    try:
        Worker(Path(config["submission"])).serve(commands, replies, layers)
    finally:
        os._exit(0)


FAULTS = None  # the worker's file for faulthandler, open for its life


def enter(output: int, faults: int, folder: str, config: dict) -> None:
    """Send output to the grader's files, move into a scratch folder of its own."""
    global FAULTS
    os.setpgid(0, 0)  # the grader can kill the worker with anything it managed to start
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    FAULTS = os.fdopen(faults, "w")
    faulthandler.enable(FAULTS)  # a crash leaves its traceback there,
    faulthandler.register(signal.SIGUSR1, FAULTS)  # and so does a timeout
    os.mkdir(folder, 0o700)
    if config["uid"] is not None:
        os.chown(folder, config["uid"], config["uid"])
    os.chdir(folder)
    for name in ("HOME", "TMPDIR", "MPLCONFIGDIR"):
        os.environ[name] = folder


def lock(folder: str, config: dict) -> dict:
    """Make the submission importable (it is not imported yet), then lock in."""
    submission = config["submission"]
    sys.path[:0] = [str(path) for path in layout.import_roots(Path(submission))]
    sys.dont_write_bytecode = True
    layout.install_prefix_alias()
    limits = confinement.Limits(**config["limits"])
    return confinement.lock(folder, config["readable"], limits, config["uid"])


class Sources(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Modules compiled from source text the grader sends: the harness's own at start-up, and
    the reference solution, as the package `dl_reference`, with a request: only the modules a
    test asks for (and what they import) ever enter a worker, so a submission cannot borrow the
    reference for the part under test."""

    def __init__(self) -> None:
        self.sources: dict[str, list] = {}  # name -> [path, text, is_package]

    def add(self, sources: dict[str, list]) -> None:
        self.sources.update(sources)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.sources:
            return None
        origin, _, is_package = self.sources[fullname]
        spec = importlib.util.spec_from_loader(fullname, self, origin=origin, is_package=is_package)
        spec.has_location = True  # __file__ as the grader's: its modules find their folders
        return spec

    def exec_module(self, module) -> None:
        origin, text, _ = self.sources[module.__name__]
        exec(compile(text, origin, "exec"), module.__dict__)


SOURCES = Sources()


def callables(value) -> list[str]:
    """Names the grader may look up on `value` without asking, sending ["method", handle, name]
    when it uses them: saves a round trip for `layer.forward` before every `layer.forward(x)`,
    and for `module.Class` before every `module.Class(...)`. What the name is bound to is looked
    up here when it is used, as it would be in process."""
    if isinstance(value, types.ModuleType):
        return [
            name
            for name, member in vars(value).items()
            if isinstance(member, (type, types.FunctionType)) and not name.startswith("__")
        ]
    instance = getattr(value, "__dict__", None)
    instance = instance if isinstance(instance, dict) else {}
    return [name for name in methods_of(type(value)) if name not in instance]


class NotPlain(Exception):
    """A reply is not plain data: it stays here and goes back as a handle."""


class HungEarlier(Exception):
    """The call entered code that hung earlier in this section (its number in the list)."""


@functools.cache
def methods_of(cls: type) -> tuple[str, ...]:
    """The plain methods (functions defined in a class body) an instance of `cls` has. Classes
    that customize attribute lookup have none."""
    if cls.__getattribute__ is not object.__getattribute__ or isinstance(cls, type(sys)):
        return ()
    names = {
        name
        for klass in cls.__mro__
        for name, member in vars(klass).items()
        if isinstance(member, types.FunctionType) and not name.startswith("__")
    }
    shadowed = {
        name
        for name in names  # something before the function in the MRO wins
        if not isinstance(inspect.getattr_static(cls, name), types.FunctionType)
    }
    return tuple(sorted(names - shadowed))


class Worker:
    """The handle table, and one method per request of the grader."""

    def __init__(self, submission: Path) -> None:
        self.submission = submission
        self.root = os.path.realpath(submission)
        self.objects: dict[int, object] = {}
        self.hung: dict[tuple[str, str], int] = {}  # (file, function) -> its number

    def refuse_hung(self, frame, event, argument) -> None:
        """A profile function: entering a function that hung earlier fails the call at once
        (the grader words the reason). An error unsets a profile function: serve sets it again
        for every request."""
        if event == "call":
            number = self.hung.get((frame.f_code.co_filename, frame.f_code.co_name))
            if number is not None:
                raise HungEarlier(number)

    def serve(self, commands: int, replies: int, layers: dict) -> None:
        wire.send(replies, {"ready": True, "pid": os.getpid(), "layers": layers})
        requests = open(commands, "rb")  # noqa: SIM115  buffered: one read per request
        while True:
            try:
                request, payload = wire.receive(requests)
            except EOFError:
                return
            if "seed" in request:  # sent along with the request after `sub.seed(n)`
                self.op_seed(request.pop("seed"))
            if "hung" in request:  # code that timed out earlier in this section
                self.hung = {tuple(code): number for number, code in enumerate(request.pop("hung"))}
            buffers: list[bytes] = []
            try:
                operation = getattr(self, "op_" + request.pop("op"))
                arguments = {key: self.value(node, payload) for key, node in request.items()}
                if self.hung:
                    sys.setprofile(self.refuse_hung)
                try:
                    result = operation(**arguments)
                finally:
                    sys.setprofile(None)
                message = wire.frame({"value": self.reply(result, buffers)}, buffers)
            except BaseException as error:
                message = wire.frame({"error": self.describe(error)}, [])
            sys.stdout.flush()
            sys.stderr.flush()
            wire.write_all(replies, message)

    # crossing the boundary
    def value(self, node, payload):
        """A request's argument: plain data, with ["ref", n] standing for an object here and
        ["method", n, name] for the attribute `name` of one."""
        if type(node) is list and node and node[0] == "ref":
            return self.objects[node[1]]
        if type(node) is list and node and node[0] == "method":
            return getattr(self.objects[node[1]], node[2])
        if type(node) is list and node and node[0] in ("tuple", "list"):
            items = [self.value(item, payload) for item in node[1]]
            return tuple(items) if node[0] == "tuple" else items
        if type(node) is list and node and node[0] == "dict":
            return {key: self.value(item, payload) for key, item in node[1]}
        return wire.decode(node, payload)

    def reply(self, value, buffers: list[bytes]):
        try:
            return wire.encode(value, buffers, self.refuse_object)
        except NotPlain:
            buffers.clear()
        handle = len(self.objects)
        self.objects[handle] = value
        return ["ref", handle, type(value).__name__, callables(value)]

    @staticmethod
    def refuse_object(value):
        raise NotPlain

    def describe(self, error: BaseException) -> dict:
        """The exception as data: its type, message and the frames in the submission's files."""
        try:
            message = repr(error.code) if isinstance(error, SystemExit) else str(error)
        except BaseException:
            message = "(the exception cannot be printed)"
        frames = traceback.StackSummary.extract(
            traceback.walk_tb(error.__traceback__), lookup_lines=False
        )
        trace = [
            [
                os.path.relpath(os.path.realpath(frame.filename), self.root),
                frame.lineno,
                frame.name,
                (frame.line or "").strip()[:200],
            ]
            for frame in frames
            if self.is_student_file(frame.filename)
        ]
        return {
            "type": type(error).__name__,
            "message": message[:MAX_MESSAGE],
            "trace": trace[-MAX_FRAMES:],
        }

    def is_student_file(self, filename: str) -> bool:
        return os.path.realpath(filename).startswith(self.root + os.sep)

    # the requests
    def op_module(self, name: str, sources: dict):
        SOURCES.add(sources)
        if not name.startswith(("dl_reference", "spec.")):
            layout.import_parent_package(self.submission, name)
        return importlib.import_module(name)

    def op_getattr(self, target, name: str):
        return getattr(target, name)

    def op_setattr(self, target, name: str, value) -> None:
        setattr(target, name, value)

    def op_call(self, target, args: tuple, kwargs: dict):
        return target(*args, **kwargs)

    def op_len(self, target) -> int:
        return len(target)

    def op_getitem(self, target, key):
        return target[key]

    def op_seed(self, value: int) -> None:
        numpy.random.seed(value)
        random.seed(value)

    def op_type_name(self, target) -> str:
        return type(target).__name__

    def op_same(self, first, second) -> bool:
        return first is second


if __name__ == "__main__":
    main()

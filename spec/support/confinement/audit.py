"""Not a layer: PEP 578 audit hooks run inside the process they watch, and code in that process
can reach and disarm them (the hook's own frames are in every refusal's traceback). The kernel
layers stop what matters; this hook only turns their refusals into sentences a student can read
("refused: reading /etc/passwd (open) is not allowed in the grader") instead of a bare
"[Errno 13] Permission denied", and it stops the first try of most attacks a little earlier.
"""

from __future__ import annotations

import os


class Refused(PermissionError):
    """The harness refused an operation of the submission."""


PROCESS_EVENTS = {
    "os.fork",
    "os.forkpty",
    "os.posix_spawn",
    "os.spawn",
    "os.exec",
    "os.system",
    "os.startfile",
    "subprocess.Popen",
    "pty.spawn",
}
WRITE_EVENTS = {
    "os.remove",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.truncate",
    "os.utime",
    "os.setxattr",
    "os.removexattr",
    "os.mkfifo",
    "os.mknod",
    "os.chflags",
    "os.lchflags",
    "shutil.rmtree",
    "sqlite3.connect",
}
LIST_EVENTS = {"os.listdir", "os.scandir", "os.chdir"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
REFUSED_IMPORTS = {"_cffi_backend", "cffi"}


def within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def hook(folder: str, readable: list[str]):
    """The hook: reading within `readable` and `folder`, writing within `folder`."""
    pid = os.getpid()
    folder = os.path.realpath(folder)
    roots = tuple(os.path.realpath(p) for p in [folder, *readable])

    def resolved(path) -> str:
        return os.path.realpath(os.fsdecode(path))

    def may_read(path: str) -> bool:
        if path == os.devnull:
            return True
        return any(within(path, root) for root in roots)

    def may_write(path: str) -> bool:
        return path == os.devnull or within(path, folder)

    def refuse(what: str) -> None:
        raise Refused(f"refused: {what} is not allowed in the grader")

    def check_path(path, write: bool, event: str) -> None:
        if path is None or isinstance(path, int):
            return  # a file descriptor the process already holds, or the working folder
        path = resolved(path)
        if not (may_write(path) if write else may_read(path)):
            refuse(f"{'writing' if write else 'reading'} {path} ({event})")
        # A directory opened outside the folder would let os.open(name, dir_fd=...) resolve
        # relative names the hook never sees (its event carries no dir_fd).
        if event == "open" and not within(path, folder) and os.path.isdir(path):
            refuse(f"opening the directory {path}")

    def audit(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            check_path(
                path, bool(flags & WRITE_FLAGS) or any(c in (mode or "") for c in "wax+"), "open"
            )
        elif event in LIST_EVENTS:
            check_path(args[0] if args else None, False, event)
        elif event in WRITE_EVENTS:
            check_path(args[0], True, event)
        elif event == "os.rename":
            check_path(args[0], True, event)
            check_path(args[1], True, event)
        elif event in PROCESS_EVENTS:
            refuse(f"creating a process ({event})")
        elif event == "os.kill":
            if args[0] != pid:
                refuse(f"signalling another process ({event})")
        elif event in (
            "os.killpg",
            "os.link",
            "os.symlink",
            "resource.setrlimit",
            "resource.prlimit",
            "gc.get_objects",
            "gc.get_referrers",
            "gc.get_referents",
        ):
            refuse(event)
        elif event.startswith("socket."):
            refuse(f"network access ({event})")
        elif event.startswith("ctypes."):
            refuse(f"calling C code through ctypes ({event})")
        elif event == "import" and args[0] in REFUSED_IMPORTS:
            refuse(f"calling C code through {args[0]}")

    return audit

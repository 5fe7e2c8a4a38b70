"""What a worker may do once it runs student code, locked in from inside before it does.

Three layers, each covering what the one above cannot see:

1. Resource limits (the kernel): address space, CPU time, file size, no core files, and no new
   processes (RLIMIT_NPROC = 0; the kernel does not apply it to root).
2. A seccomp filter (the kernel; Linux on x86-64): no fork or exec, no sockets, no signals to
   other processes, no raising of the limits above, whoever asks: root, a C extension, or Python
   code that bypasses the audit hooks (`_posixsubprocess.fork_exec` raises no audit event).
3. An audit hook (PEP 578; once installed it cannot be removed): refuses, with a message a
   student can read, process creation, sockets, ctypes and cffi, signals to other processes,
   writing outside the worker's folder, and reading outside the submission, the worker's folder
   and the Python installation. The harness's own folders (spec/, reference_data/, tests/,
   solution/, ...) are not readable, so a submission cannot copy answers from them.
"""

from __future__ import annotations

import errno
import os
import resource
import struct
import sys
from dataclasses import dataclass


class Refused(PermissionError):
    """The harness refused an operation of the submission."""


@dataclass(frozen=True)
class Limits:
    call_seconds: float = 20.0  # wall-clock time for one call into the submission
    memory_bytes: int = 2 << 30  # address space of the worker
    cpu_seconds: int = 300  # CPU time of one worker (one test)
    file_bytes: int = 64 << 20  # size of any one file it writes


def lock(folder: str, readable: list[str], secret: list[str], limits: Limits) -> bool:
    """Lock this process in; returns whether the seccomp layer could be installed."""
    set_resource_limits(limits)
    filtered = install_seccomp_filter()
    sys.addaudithook(audit_hook(folder, readable, secret))
    return filtered


# -- 1. resource limits -----------------------------------------------------------------------


def set_resource_limits(limits: Limits) -> None:
    for name, value in (
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_FSIZE, limits.file_bytes),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NPROC, 0),
    ):
        resource.setrlimit(name, (value, value))


# -- 2. seccomp -------------------------------------------------------------------------------

# struct seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8 i (low word first on x86-64)
AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
CLONE_THREAD = 0x00010000
ALLOW, KILL = 0x7FFF0000, 0x80000000
EPERM, ENOSYS = 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
LOAD, JEQ, JSET, RETURN = 0x20, 0x15, 0x45, 0x06  # BPF_LD|W|ABS, JMP|JEQ|K, JMP|JSET|K, RET|K

# x86-64 system call numbers
DENIED = {
    "fork": 57,
    "vfork": 58,
    "execve": 59,
    "execveat": 322,
    "socket": 41,
    "ptrace": 101,
    "setrlimit": 160,
    "tkill": 200,
    "pidfd_open": 434,
    "pidfd_send_signal": 424,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "io_uring_setup": 425,
    "open_by_handle_at": 304,
}
SIGNALS = {"kill": 62, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297}
CLONE, CLONE3, PRLIMIT64 = 56, 435, 302


def instruction(code: int, k: int, jump_true: int = 0, jump_false: int = 0) -> bytes:
    return struct.pack("HBBI", code, jump_true, jump_false, k)


def argument(index: int, high: bool = False) -> bytes:
    return instruction(LOAD, 16 + 8 * index + (4 if high else 0))


def when(number: int, block: list[bytes]) -> list[bytes]:
    """If the call is `number`, run `block` (which always returns); otherwise skip it."""
    return [instruction(JEQ, number, 0, len(block)), *block]


def seccomp_program(pid: int) -> list[bytes]:
    program = [
        instruction(LOAD, 4),
        instruction(JEQ, AUDIT_ARCH_X86_64, 1, 0),
        instruction(RETURN, KILL),  # another ABI (int 0x80) would renumber the calls
        instruction(LOAD, 0),
        instruction(JSET, X32_SYSCALL_BIT, 0, 1),
        instruction(RETURN, EPERM),
    ]
    for number in DENIED.values():
        program += when(number, [instruction(RETURN, EPERM)])
    # glibc creates threads with clone3 and falls back to clone, whose flags seccomp can read:
    # a thread is allowed, a new process is not.
    program += when(CLONE3, [instruction(RETURN, ENOSYS)])
    program += when(
        CLONE,
        [
            argument(0),
            instruction(JSET, CLONE_THREAD, 0, 1),
            instruction(RETURN, ALLOW),
            instruction(RETURN, EPERM),
        ],
    )
    for number in SIGNALS.values():  # the target (pid or thread group) must be this process
        program += when(
            number,
            [
                argument(0),
                instruction(JEQ, pid, 0, 1),
                instruction(RETURN, ALLOW),
                instruction(RETURN, EPERM),
            ],
        )
    # prlimit64 may read limits (new_limit == NULL) but not set them
    program += when(
        PRLIMIT64,
        [
            argument(2),
            instruction(JEQ, 0, 0, 3),
            argument(2, high=True),
            instruction(JEQ, 0, 0, 1),
            instruction(RETURN, ALLOW),
            instruction(RETURN, EPERM),
        ],
    )
    return [*program, instruction(RETURN, ALLOW)]


def install_seccomp_filter() -> bool:
    if not sys.platform.startswith("linux") or os.uname().machine != "x86_64":
        return False
    import ctypes

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    instructions = seccomp_program(os.getpid())
    program = Program(len(instructions), b"".join(instructions))
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    return (
        libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) == 0
        and libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(program), 0, 0) == 0
    )


# -- 3. the audit hook ------------------------------------------------------------------------

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


def audit_hook(folder: str, readable: list[str], secret: list[str]):
    """The hook, with its rules frozen into a closure of immutable values: once installed, it
    is reachable from nowhere a student could change it (the gc introspection that could
    find it is refused too)."""
    pid = os.getpid()
    folder = os.path.realpath(folder)
    # The most specific root that contains a path decides: the submission may sit inside the
    # harness (when grading the bundled solution), the harness inside a Python prefix.
    roots = tuple(
        sorted(
            [(os.path.realpath(p), True) for p in [folder, *readable]]
            + [(os.path.realpath(p), False) for p in secret],
            key=lambda root: (-len(root[0]), root[1]),  # on a tie, the refusal
        )
    )

    def resolved(path) -> str:
        return os.path.realpath(os.fsdecode(path))

    def may_read(path: str) -> bool:
        if path == os.devnull:
            return True
        return next((allowed for root, allowed in roots if within(path, root)), False)

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

    def hook(event: str, args: tuple) -> None:
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

    return hook

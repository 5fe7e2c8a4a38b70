"""What a worker may see of the filesystem: the Python installation (read-only), the submission's
copy (read-only) and its scratch folder. The mount namespace shows it exactly this, Landlock
allows exactly this, and the audit hook names refusals by it: one list, three layers.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from pathlib import Path

# Where the dynamic loader finds the C libraries Python and NumPy link against.
SYSTEM = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/etc/ld.so.cache")
DEVICES_READ = ("/dev/urandom",)


def python_installation() -> list[str]:
    """Where the standard library and installed packages live."""
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


def within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def excluding(roots: list[str], hidden: list[str]) -> list[str]:
    """`roots` with every hidden path carved out: a root holding one is replaced by its
    entries, recursively, except the hidden path and its ancestors (an allow-list cannot say
    "all of /usr but /usr/src/harness"). A root inside a hidden path stays: a virtualenv in
    the harness's folder (nox's, say) is the Python installation, not the harness."""
    kept: set[str] = set()
    pending = [os.path.realpath(root) for root in roots if os.path.exists(root)]
    hidden = [os.path.realpath(path) for path in hidden]
    while pending:
        root = pending.pop()
        if root in hidden:
            continue
        if not any(within(secret, root) for secret in hidden):
            kept.add(root)
            continue
        with os.scandir(root) as entries:
            pending += [entry.path for entry in entries]
    # a root inside another is covered by it
    ordered = sorted(kept)
    return [
        path
        for path in ordered
        if not any(within(path, other) for other in ordered if other != path)
    ]


def readable(submission: Path, hidden: list[Path]) -> list[str]:
    """Everything a worker may read, `hidden` (the harness, the grader's own folders) carved out."""
    roots = [*python_installation(), *SYSTEM, *DEVICES_READ]
    return [*excluding(roots, [str(path) for path in hidden]), str(submission)]

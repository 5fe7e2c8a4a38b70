"""Fail closed: which layers this machine offers, which the grader requires, and the refusal.

Every layer is required unless the person grading accepts its absence by name
(`--accept-missing namespaces`, e.g. inside a Docker container that is itself the boundary and
refuses new namespaces), or trusts the submission altogether (`--trust-submission`: in-process,
no confinement, for code you wrote yourself). Grading does not start without them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from spec.support.confinement import LAYERS, landlock, namespaces, seccomp, view
from spec.support.confinement.limits import UID_BASE

HARNESS = Path(__file__).resolve().parents[3]

CAP_SETUID = 7
RISKS = {
    "namespaces": "the submission could see the rest of the filesystem that other layers leave "
    "readable, other processes, and the network interfaces",
    "uid": "a worker would run as root, where only the seccomp filter keeps it from signalling "
    "or tracing the grader",
    "landlock": "file access would rest on the mount namespace alone",
    "seccomp": "new processes, sockets and signals would rest on the other layers alone",
    "rlimits": "a worker could exhaust memory or the disk",
}


class ConfinementMissing(RuntimeError):
    """A layer the grader requires is not available: grading must not start."""


def parse(names: str | None) -> frozenset[str]:
    """'namespaces,uid' -> the layer names; unknown names are an error."""
    chosen = frozenset(name.strip() for name in (names or "").split(",") if name.strip())
    unknown = chosen - set(LAYERS)
    if unknown:
        raise ValueError(
            f"unknown confinement layers {sorted(unknown)}; known: {', '.join(LAYERS)}"
        )
    return chosen


def capable_of_setuid() -> bool:
    status = Path("/proc/self/status").read_text()
    effective = int(re.search(r"CapEff:\s*([0-9a-f]+)", status).group(1), 16)
    return bool(effective >> CAP_SETUID & 1)


def unreachable_by_others(paths: list[str]) -> str:
    """The first folder on the way to one of `paths` that a user other than its owner cannot
    enter ('' if none): without namespaces a worker's uid must reach them itself."""
    for path in paths:
        for folder in [*reversed(Path(path).parents), Path(path)]:
            if folder.is_dir() and not folder.stat().st_mode & 0o001:
                return str(folder)
    return ""


def available(readable: list[str]) -> dict[str, str]:
    """Layer -> why it is unavailable here ('' when it is available)."""
    reasons = dict.fromkeys(LAYERS, "")
    reasons["namespaces"] = namespaces.unavailable()
    if not landlock.abi_version():
        reasons["landlock"] = "the kernel has no Landlock (Linux >= 5.13, enabled in its lsm= list)"
    if not seccomp.supported():
        reasons["seccomp"] = f"the filter is written for x86-64 Linux, not {os.uname().machine}"
    if os.geteuid() == 0:
        if not capable_of_setuid():
            reasons["uid"] = "the grader runs as root without CAP_SETUID"
        elif reasons["namespaces"]:
            blocked = unreachable_by_others(readable)
            if blocked:
                reasons["uid"] = (
                    f"without namespaces an unprivileged uid ({UID_BASE}+) cannot enter {blocked}"
                )
    return reasons


def require(reasons: dict[str, str], accepted: frozenset[str]) -> None:
    """Raise ConfinementMissing naming each missing layer the grader was not told to accept."""
    missing = {layer: why for layer, why in reasons.items() if why and layer not in accepted}
    if not missing:
        return
    lines = [f"  {layer}: {why}; without it, {RISKS[layer]}" for layer, why in missing.items()]
    names = ",".join(missing)
    raise ConfinementMissing(
        "cannot confine the submission, missing:\n"
        + "\n".join(lines)
        + f"\nTo grade anyway, accept the risk: --accept-missing {names}"
        " (or, for code you trust, grade it unconfined: the graders' --trust-submission,"
        " pytest without --isolated)"
    )


def check(accepted: frozenset[str], submission: Path) -> None:
    """Before anything starts: refuse a machine that cannot confine `submission` as required."""
    require(available(view.readable(submission, [HARNESS])), accepted)

"""How student code is confined: the one place that says it.

A submission's code runs only in a worker process (spec/support/child.py), never in the grader's
processes: pytest, the assertions, the scoring and the reports stay outside and see only plain
data (spec/support/wire.py). The grader assumes the code is hostile: that it tries to read the
reference solution, the golden data, the rubric or other students' work; to write its own
results; to signal, trace or outlive the grader; to reach the network; to fill the disk or hang.
Each layer below is enforced by the kernel, and each would hold if the ones before it failed:

1. namespaces (namespaces.py, bubblewrap): the zygote that forks the workers starts in new mount,
   pid, network, IPC and UTS namespaces. Its filesystem holds the Python installation
   (read-only), the submission's copy (read-only) and a size-capped tmpfs for scratch; the
   harness (spec/, graders/, solution/, reference_data/, tests/), the rubric, the grader's
   results, other gradings and home folders do not exist there. It sees only its own processes
   and has no network but a loopback that is down.
2. uid (limits.py): a grader running as root drops each worker to an unprivileged uid of its
   own, so the worker cannot signal or trace the grader and RLIMIT_NPROC binds.
3. landlock (landlock.py): the worker may read only the Python installation and the submission,
   write only its scratch folder, make no TCP connection and signal no process outside itself,
   whatever path, file descriptor or system call it uses.
4. seccomp (seccomp.py): no new processes, exec, sockets, signals to others, tracing, raised
   limits, namespaces or mounts, whoever asks.
5. rlimits (limits.py): address space, CPU time, file size, no core files, no processes.

The grader checks from outside which layers hold for every worker (through /proc, which the
kernel writes) and refuses to grade when one it requires is missing (policy.py). Time limits
are the grader's too: it measures each call's busy time and stops a worker that overruns.
The audit hook (audit.py) stops nothing the layers above do not stop; it turns the refusals a
student would otherwise see as bare errno messages into sentences.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

LAYERS = ("namespaces", "uid", "landlock", "seccomp", "rlimits")


@dataclass(frozen=True)
class Limits:
    call_seconds: float = 5.0  # floor of a call's time limit (busy seconds; see isolated.py)
    call_multiple: float = 500.0  # a call may take this many times what the reference took
    import_seconds: float = 30.0  # floor for importing a module (SciPy, scikit-learn, ...)
    submission_seconds: float = 600.0  # busy seconds of all calls of a submission together
    memory_bytes: int = 2 << 30  # address space of a worker
    cpu_seconds: int = 600  # CPU time of one worker, a backstop behind the limits above
    file_bytes: int = 64 << 20  # size of any one file it writes
    scratch_bytes: int = 256 << 20  # all files of a worker together


def lock(scratch: str, readable: list[str], limits: Limits, uid: int | None) -> dict[str, bool]:
    """Lock this worker in before it runs student code; the layers now in force. `readable`:
    what it may read (the Python installation and the submission); `scratch`: its folder."""
    from spec.support.confinement import audit, landlock, seccomp
    from spec.support.confinement import limits as resource_limits

    resource_limits.set_resource_limits(limits)
    if uid is not None:
        resource_limits.drop_privileges(uid)
    resource_limits.no_new_privileges()
    layers = {"rlimits": True, "uid": os.getuid() != 0}
    layers |= landlock.restrict(readable, [scratch, os.devnull])
    layers["seccomp"] = seccomp.install()
    sys.addaudithook(audit.hook(scratch, readable))
    return layers

"""Layer: a seccomp filter (Linux on x86-64), system calls the kernel refuses whoever asks.

Root, a C extension, or Python that bypasses the audit hook (`_posixsubprocess.fork_exec` raises
no audit event) meet the same filter: no new processes (a thread is fine), no exec, no sockets,
no signals to other processes, no tracing or reading another process's memory, no raising of
the resource limits, no namespaces, mounts or chroot, no io_uring (its operations would pass the
filter), no kernel keyrings, BPF or perf events. The filter is inherited and cannot be removed.
"""

from __future__ import annotations

import errno
import os
import struct
import sys

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
    "pidfd_getfd": 438,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "process_madvise": 440,
    "kcmp": 312,
    "io_uring_setup": 425,
    "open_by_handle_at": 304,
    "unshare": 272,
    "setns": 308,
    "mount": 165,
    "umount2": 166,
    "pivot_root": 155,
    "chroot": 161,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
    "bpf": 321,
    "perf_event_open": 298,
    "userfaultfd": 323,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
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


def program(pid: int) -> list[bytes]:
    instructions = [
        instruction(LOAD, 4),
        instruction(JEQ, AUDIT_ARCH_X86_64, 1, 0),
        instruction(RETURN, KILL),  # another ABI (int 0x80) would renumber the calls
        instruction(LOAD, 0),
        instruction(JSET, X32_SYSCALL_BIT, 0, 1),
        instruction(RETURN, EPERM),
    ]
    for number in DENIED.values():
        instructions += when(number, [instruction(RETURN, EPERM)])
    # glibc creates threads with clone3 and falls back to clone, whose flags seccomp can read:
    # a thread is allowed, a new process is not.
    instructions += when(CLONE3, [instruction(RETURN, ENOSYS)])
    instructions += when(
        CLONE,
        [
            argument(0),
            instruction(JSET, CLONE_THREAD, 0, 1),
            instruction(RETURN, ALLOW),
            instruction(RETURN, EPERM),
        ],
    )
    for number in SIGNALS.values():  # the target (pid or thread group) must be this process
        instructions += when(
            number,
            [
                argument(0),
                instruction(JEQ, pid, 0, 1),
                instruction(RETURN, ALLOW),
                instruction(RETURN, EPERM),
            ],
        )
    # prlimit64 may read limits (new_limit == NULL) but not set them
    instructions += when(
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
    return [*instructions, instruction(RETURN, ALLOW)]


def supported() -> bool:
    """The filter is written for x86-64 Linux (system call numbers differ elsewhere)."""
    return sys.platform.startswith("linux") and os.uname().machine == "x86_64"


def install() -> bool:
    """Install the filter on this process; False where it cannot be (not x86-64 Linux)."""
    return supported() and load(program(os.getpid()))


def load(instructions: list[bytes]) -> bool:
    """Set no_new_privs and install a BPF program as this process's seccomp filter."""
    import ctypes

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    filter_program = Program(len(instructions), b"".join(instructions))
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    return (
        libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) == 0
        and libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(filter_program), 0, 0) == 0
    )

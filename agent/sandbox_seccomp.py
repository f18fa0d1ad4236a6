"""The sandbox's seccomp filters: which system calls a model-written program may make.

Two classic-BPF programs, compiled by libseccomp (through ``pyseccomp``) in the parent and
handed to the child as bytes:

- ``startup_filter`` is what bubblewrap installs (``bwrap --seccomp FD``) before it starts the
  interpreter: a deny-list, since Python's start needs most ordinary calls. It refuses what no
  run ever needs: device nodes, sockets, tracing, mounts, keyrings, namespaces, io_uring (which
  would bypass seccomp), kernel modules.
- ``program_filter`` is what the runner installs itself (``agent/sandbox_child.py``), in both
  isolation modes, after the modules are loaded and root is dropped and just before the
  program runs: an allow-list. A program can compute and print; it cannot open a file, make a
  node, start a process or a thread, send a signal, or talk to anything. Writes go only to
  fds 1 and 2, and ``exit``/``exit_group`` only with a status below 128, so that an exit
  status above 128 under bubblewrap (which reports a signal N as 128+N) always means the
  kernel killed the program: how the child ended is the kernel's word, not the program's.

A refused call fails with EPERM (the program sees ``PermissionError``); it does not kill the
program, so a refused path reads as an ordinary error in the trace.
"""

from __future__ import annotations

import errno
import functools
import logging
import tempfile
from typing import Any

__all__ = ["program_filter", "seccomp_problem", "startup_filter"]

logger = logging.getLogger(__name__)

# Refused from the interpreter's first instruction (bubblewrap mode).
_NEVER = (
    *("mknod", "mknodat", "socket", "socketpair", "ptrace", "process_vm_readv"),
    *("process_vm_writev", "mount", "umount2", "pivot_root", "chroot", "move_mount"),
    *("open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr"),
    *("keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd"),
    *("unshare", "setns", "kexec_load", "kexec_file_load", "init_module"),
    *("finit_module", "delete_module", "swapon", "swapoff", "reboot", "acct"),
    *("quotactl", "open_by_handle_at", "name_to_handle_at", "fanotify_init"),
    *("io_uring_setup", "io_uring_enter", "io_uring_register", "personality"),
    *("syslog", "vhangup", "lookup_dcookie", "iopl", "ioperm", "settimeofday"),
    *("clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname"),
)
# All a running program may do besides write(1|2) and exit(<128): compute, allocate, read the
# clock and its already-open stdin, sleep (the wall limit still holds).
_PROGRAM_MAY = (
    *("read", "close", "fstat", "mmap", "munmap", "mremap", "mprotect", "brk", "madvise"),
    *("rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "futex"),
    *("getrandom", "clock_gettime", "clock_getres", "gettimeofday", "time"),
    *("clock_nanosleep", "nanosleep", "sched_yield", "getpid", "gettid", "restart_syscall"),
    *("getuid", "geteuid", "getgid", "getegid"),
)
_EXIT_SIGNAL_BIT = 0x80  # statuses 128-255 are how bubblewrap reports signals


def seccomp_problem() -> str | None:
    """Why no filter can be built here (libseccomp missing), or None when one can."""
    try:
        _library()
    except (ImportError, OSError) as ex:
        return f"libseccomp is not available: {ex}"
    return None


@functools.cache
def startup_filter() -> bytes:
    """The deny-list bubblewrap installs before the interpreter starts."""
    sc = _library()
    f = sc.SyscallFilter(sc.ALLOW)
    for name in _NEVER:
        _add(sc, f, sc.ERRNO(errno.EPERM), name)
    # clone3 passes its flags in memory, out of a filter's sight: ENOSYS makes libc use clone,
    # whose flags it can see; no new user namespace (the start of most container escapes).
    _add(sc, f, sc.ERRNO(errno.ENOSYS), "clone3")
    new_user = 0x10000000  # CLONE_NEWUSER
    _add(sc, f, sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, new_user, new_user))
    tiocsti = 0x5412  # push characters into a terminal's input
    _add(sc, f, sc.ERRNO(errno.EPERM), "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, tiocsti))
    return _export(f)


@functools.cache
def program_filter() -> bytes:
    """The allow-list the runner installs just before the program runs."""
    sc = _library()
    f = sc.SyscallFilter(sc.ERRNO(errno.EPERM))
    for name in _PROGRAM_MAY:
        _add(sc, f, sc.ALLOW, name)
    for fd in (1, 2):
        _add(sc, f, sc.ALLOW, "write", sc.Arg(0, sc.EQ, fd))
    for name in ("exit", "exit_group"):
        _add(sc, f, sc.ALLOW, name, sc.Arg(0, sc.MASKED_EQ, _EXIT_SIGNAL_BIT, 0))
    return _export(f)


@functools.cache
def _library() -> Any:
    # Imported lazily: pyseccomp loads libseccomp.so.2 through ctypes at import.
    import pyseccomp

    return pyseccomp


def _add(sc: Any, f: Any, action: int, name: str, *args: Any) -> None:
    """Add one rule; a call this architecture does not have is skipped (nothing to refuse)."""
    if sc.resolve_syscall(sc.system_arch(), name) < 0:
        logger.debug("seccomp: no system call %r on this architecture", name)
        return
    f.add_rule(action, name, *args)


def _export(f: Any) -> bytes:
    with tempfile.TemporaryFile() as out:
        f.export_bpf(out)
        out.seek(0)
        return out.read()

"""The sandbox's child side: what runs inside the fresh interpreter before the program.

``RUNNER_SOURCE`` is the ``-c`` script ``agent/sandbox.py`` starts: the source of the
functions below, then the call. It is read once, when this module is imported, so a running
service never pairs old line numbers with an edited file. Each function imports what it needs
itself, since it runs in an interpreter that has imported nothing of this project.
See ``agent/sandbox.py`` for the layers and docs/sandbox.md for what they guarantee.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the child never evaluates them
    from collections.abc import Mapping, Sequence
    from types import ModuleType


def _runner(argv: list[str]) -> None:
    """The child's side: load, limit, drop root, install seccomp and the guards, run.

    Runs as ``python -I -S -B -c SOURCE cpu memory program allowed preload filter`` where
    ``allowed`` and ``preload`` are comma-separated module names and ``filter`` is the path of
    the seccomp program to install (empty: none). Exit codes: 0 ok, 1 the program raised (its
    last line on stderr), 3 MemoryError, 4 the sandbox itself could not be set up. The filter
    refuses any exit status of 128 or more, so those always mean a signal.
    """
    import _imp
    import _signal
    import os
    import posix
    import resource
    import sys
    import traceback

    out: Any = sys.stdout  # a TextIOWrapper (reconfigure); a local annotation is never evaluated
    err, exit_now = sys.stderr, os._exit

    def finish(status: int, line: str | None) -> None:
        try:
            out.flush()
            if line:
                err.write(f"\n{line}\n")
            err.flush()
        finally:
            exit_now(status)

    try:
        out.reconfigure(encoding="utf-8", errors="backslashreplace")
        with open(argv[3], encoding="utf-8") as source:
            code = compile(source.read(), "<program>", "exec")
        bpf = b""
        if argv[6]:
            with open(argv[6], "rb") as compiled:
                bpf = compiled.read()
        for name in filter(None, argv[5].split(",")):
            __import__(name)
        install_filter = _seccomp_installer() if bpf else None
        cpu, memory = int(argv[1]), int(argv[2])
        for limit, soft, hard in (
            (resource.RLIMIT_CORE, 0, 0),
            (resource.RLIMIT_FSIZE, 0, 0),
            (resource.RLIMIT_NOFILE, 16, 16),
            (resource.RLIMIT_NPROC, 0, 0),
            (resource.RLIMIT_AS, memory, memory),
            (resource.RLIMIT_CPU, cpu, cpu + 1),  # SIGXCPU at soft, SIGKILL at hard
        ):
            current = resource.getrlimit(limit)[1]
            if current != resource.RLIM_INFINITY:  # never ask for more than we have
                hard = min(hard, current)
            resource.setrlimit(limit, (min(soft, hard), hard))
        if os.geteuid() == 0:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        if install_filter is not None:
            install_filter(bpf)
    except SyntaxError as ex:
        finish(1, traceback.format_exception_only(type(ex), ex)[-1].strip())
    except (ImportError, OSError, ValueError) as ex:
        finish(4, f"sandbox setup failed: {type(ex).__name__}: {ex}")
    # Second layer, for a host without seccomp: calls that act outside the process without an
    # audit event go from their modules (the kernel filter refuses them in any case).
    for module, names in (
        (posix, ("mkfifo", "mknod", "memfd_create", "pidfd_open")),
        (os, ("mkfifo", "mknod", "memfd_create", "pidfd_open")),
        (_signal, ("pidfd_send_signal",)),
        (sys.modules.get("signal"), ("pidfd_send_signal",)),
        (_imp, ("create_builtin",)),
    ):
        for name in names if module is not None else ():
            vars(module).pop(name, None)
    for name in [n for n in sys.modules if n == "ctypes" or n.startswith(("ctypes.", "_ctypes"))]:
        del sys.modules[name]
    sys.pycache_prefix = "/nonexistent-sandbox-pycache"  # later imports compile from source
    importable = frozenset(argv[4].split(",") + argv[5].split(","))
    hook, refused = _audit_hook()
    sys.addaudithook(hook)
    del hook  # the program can read this frame's locals; the hook's cells stay out of reach
    import_refused, safe_builtins = _import_guard(importable)
    try:
        exec(code, {"__name__": "__main__", "__builtins__": safe_builtins})
    except SystemExit as ex:
        if ex.code is None or ex.code == 0:
            finish(0, None)
        finish(1, f"SystemExit: {ex}")
    except MemoryError:
        finish(3, "MemoryError")
    except (refused, import_refused) as ex:
        finish(1, str(ex))
    except BaseException as ex:  # the program's own exception: report its last line
        try:
            line = traceback.format_exception_only(type(ex), ex)[-1].strip()
        except BaseException:
            line = type(ex).__name__
        finish(1, line)
    finish(0, None)


def _seccomp_installer() -> Any:
    """A function that installs a classic-BPF seccomp program on this process for good.

    Built before root is dropped and the limits set: ctypes loads a native module. No new
    privileges first, as the kernel requires of a process without CAP_SYS_ADMIN.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2

    def install(bpf: bytes) -> None:
        buf = ctypes.create_string_buffer(bpf, len(bpf))
        prog = SockFprog(len(bpf) // 8, ctypes.addressof(buf))
        for args in (
            (pr_set_no_new_privs, 1, 0, 0, 0),
            (pr_set_seccomp, seccomp_mode_filter, ctypes.byref(prog), 0, 0),
        ):
            if libc.prctl(*args) != 0:
                raise OSError(ctypes.get_errno(), "prctl failed: seccomp not installed")

    return install


def _audit_hook() -> tuple[Any, type[Exception]]:
    """The PEP 578 hook, and the class of its refusals: no open, no event that acts outside.

    Built in a scope of its own: its closure cells are shared with no function the program
    can reach (the import guard has its own), and they hold only immutable values bound
    before the program runs. CPython keeps the hook where Python cannot reach it.
    """

    class Refused(PermissionError):
        """An operation the sandbox does not allow."""

    denied = (
        *("os.", "socket.", "subprocess.", "ctypes.", "shutil.", "pty.", "fcntl."),
        *("mmap.", "resource.", "signal.", "syslog.", "sqlite3.", "urllib.", "http."),
        *("ftplib.", "smtplib.", "poplib.", "imaplib.", "nntplib.", "telnetlib."),
        *("webbrowser.", "tempfile.", "glob.", "gc.", "marshal.", "pickle.", "winreg."),
        *("msvcrt.", "_winapi.", "code.__new__", "function.__new__", "sys.settrace"),
        *("sys.setprofile", "pdb.", "sys._current_frames", "sys._current_exceptions"),
        *("builtins.input", "builtins.breakpoint", "cpython.remote_debugger"),
        *("sys.remote_exec", "sys.addaudithook"),
    )
    # Bound here, never looked up at call time: the runner's globals and builtins are the
    # program's to change.
    starts, type_, str_ = str.startswith, type, str

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path = args[0] if type_(args[0]) is str_ else "a file descriptor or path object"
            raise Refused(f"open({path!r}) is not allowed")
        if event == "import" and args[1] is not None:  # a native module: _imp.create_dynamic
            raise Refused("loading a native module is not allowed")
        if starts(event, denied):
            raise Refused(f"{event} is not allowed")

    return audit, Refused


def _import_guard(allowed: frozenset[str]) -> tuple[type[Exception], dict[str, Any]]:
    """Install the import guard; return the class of its refusals and the program's builtins.

    A convenience, not a boundary (``collections._sys.modules`` reaches every loaded module):
    it gives a program that imports what it may not a clear one-line error.
    """
    import builtins
    import sys

    class ImportRefused(ImportError):
        """An import the sandbox does not allow."""

    trusted = frozenset(id(vars(m)) for n, m in list(sys.modules.items()) if n != "__main__" and m)
    real_import, str_, type_, id_, frame_ = builtins.__import__, str, type, id, sys._getframe

    def guarded_import(
        name: str,
        globals: Mapping[str, object] | None = None,
        locals: Mapping[str, object] | None = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> ModuleType:
        # Module code (the stdlib's lazy imports) imports freely; program code only `allowed`.
        if id_(frame_(1).f_globals) not in trusted:
            top = name.partition(".")[0] if type_(name) is str_ else None
            if level != 0 or top not in allowed:
                raise ImportRefused(f"import of {name!r} is not allowed")
        return real_import(name, globals, locals, fromlist, level)

    safe = dict(vars(builtins))
    for name in ("open", "input", "breakpoint", "help", "exit", "quit", "copyright", "credits"):
        safe.pop(name, None)
    safe["__import__"] = builtins.__import__ = guarded_import
    return ImportRefused, safe


def _runner_source() -> str:
    """The child's ``-c`` script: the functions above, then the call."""
    functions = (_runner, _seccomp_installer, _audit_hook, _import_guard)
    source = "\n\n".join(inspect.getsource(f) for f in functions)
    return f"from __future__ import annotations\nimport sys\n\n{source}\n_runner(sys.argv)\n"


RUNNER_SOURCE = _runner_source()

"""The sandbox's child side: what runs inside the fresh interpreter before the program.

``RUNNER_SOURCE`` is the ``-c`` script ``agent/sandbox.py`` starts: the source of
``_runner`` and ``_install_guards`` below, then the call. It is read once, when this module
is imported, so a running service never pairs old line numbers with an edited file. Both
functions import what they need themselves, since they run in an interpreter that has
imported nothing of this project.
See ``agent/sandbox.py`` for the layers and docs/sandbox.md for what they guarantee.
"""

from __future__ import annotations

import inspect
from typing import Any


def _runner(argv: list[str]) -> None:
    """The child's side: load, limit, drop root, install the guards, run the program.

    Runs as ``python -I -S -B -c SOURCE cpu memory program allowed preload`` where the last
    two are comma-separated module names. Exit codes: 0 ok, 1 the program raised (its last
    line on stderr), 3 MemoryError, 4 the sandbox itself could not be set up.
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
        with open(argv[3], encoding="utf-8") as f:
            code = compile(f.read(), "<program>", "exec")
        for name in filter(None, argv[5].split(",")):
            __import__(name)
        roots = tuple(p.rstrip("/") + "/" for p in sys.path if os.path.isdir(p))
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
    except SyntaxError as ex:
        finish(1, traceback.format_exception_only(type(ex), ex)[-1].strip())
    except (ImportError, OSError, ValueError) as ex:
        finish(4, f"sandbox setup failed: {type(ex).__name__}: {ex}")
    for module, names in (
        (posix, ("mkfifo", "mknod", "memfd_create", "pidfd_open")),
        (os, ("mkfifo", "mknod", "memfd_create", "pidfd_open")),
        (_signal, ("pidfd_send_signal",)),
        (sys.modules.get("signal"), ("pidfd_send_signal",)),
        (_imp, ("create_builtin",)),
    ):
        for name in names if module is not None else ():
            vars(module).pop(name, None)
    sys.pycache_prefix = "/nonexistent-sandbox-pycache"  # later imports compile from source
    importable = frozenset(argv[4].split(",") + argv[5].split(","))
    refused, safe_builtins = _install_guards(importable, roots)
    try:
        exec(code, {"__name__": "__main__", "__builtins__": safe_builtins})
    except SystemExit as ex:
        if ex.code is None or ex.code == 0:
            finish(0, None)
        finish(1, f"SystemExit: {ex}")
    except MemoryError:
        finish(3, "MemoryError")
    except refused as ex:
        finish(1, str(ex))
    except BaseException as ex:  # the program's own exception: report its last line
        try:
            line = traceback.format_exception_only(type(ex), ex)[-1].strip()
        except BaseException:
            line = type(ex).__name__
        finish(1, line)
    finish(0, None)


def _install_guards(allowed: frozenset[str], roots: tuple[str, ...]) -> tuple[Any, dict]:
    """Install the audit hook and the import guard; return the refusal classes and builtins.

    The hook reads only values bound here, before the program runs: builtins such as ``type``
    can be replaced by the program through the ``builtins`` module, these closure cells
    cannot, since once this returns only the interpreter holds the hook.
    """
    import builtins
    import os
    import sys

    class Refused(PermissionError):
        """An operation the sandbox does not allow (import machinery treats it as absent)."""

    class ImportRefused(ImportError):
        """An import the sandbox does not allow."""

    denied = (
        *("os.", "socket.", "subprocess.", "ctypes.", "shutil.", "pty.", "fcntl.", "mmap."),
        *("resource.", "signal.", "syslog.", "sqlite3.", "urllib.", "http.", "ftplib."),
        *("smtplib.", "poplib.", "imaplib.", "nntplib.", "telnetlib.", "webbrowser."),
        *("tempfile.", "glob.", "gc.", "marshal.", "pickle.", "winreg.", "msvcrt.", "_winapi."),
        *("code.__new__", "function.__new__", "sys.settrace", "sys.setprofile", "pdb."),
        *("sys._current_frames", "sys._current_exceptions", "builtins.input"),
        *("builtins.breakpoint", "cpython.remote_debugger", "sys.remote_exec"),
    )
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    write_modes = frozenset("wax+")
    str_, int_, type_, id_, frame_ = str, int, type, id, sys._getframe

    def audit(event, args):
        if event == "open":
            path, mode, flags = args
            if type_(path) is not str_:
                raise Refused("open of a file descriptor or path object is not allowed")
            if (
                not path.startswith(roots)
                or "/.." in path
                or "/site-packages/" in path
                or "/dist-packages/" in path
                or (
                    mode is not None
                    and (type_(mode) is not str_ or not write_modes.isdisjoint(mode))
                )
                or type_(flags) is not int_
                or flags & writes
            ):
                raise Refused(f"open({path!r}) is not allowed")
        elif event == "import" and args[1] is not None:  # a native module: _imp.create_dynamic
            name = args[0] if type_(args[0]) is str_ else "?"
            raise ImportRefused(f"loading the native module {name!r} is not allowed")
        elif event.startswith(denied):
            raise Refused(f"{event} is not allowed")

    trusted = frozenset(id(vars(m)) for n, m in list(sys.modules.items()) if n != "__main__" and m)
    real_import = builtins.__import__

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
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
    sys.addaudithook(audit)
    return (Refused, ImportRefused), safe


def _runner_source() -> str:
    """The child's ``-c`` script: ``_runner`` and ``_install_guards``, then the call."""
    functions = "\n\n".join(inspect.getsource(f) for f in (_runner, _install_guards))
    return f"from __future__ import annotations\nimport sys\n\n{functions}\n_runner(sys.argv)\n"


RUNNER_SOURCE = _runner_source()

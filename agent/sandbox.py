"""Run model-written Python programs: hostile input, contained by the kernel first.

A program path's answer is what its program prints, so every program the model writes is run;
and what the model writes follows what users type, so the program is hostile input. Each run
is a fresh interpreter behind these layers (docs/sandbox.md has the threat model and what each
layer guarantees):

1. **Process.** A new ``tempfile.mkdtemp()`` per run holds the program and the seccomp filter
   and is HOME and TMPDIR, removed afterwards. The interpreter's real file (``realpath`` of
   ``sys.executable``: a virtualenv is only a link to it) runs ``-I -S -B`` (no ``PYTHON*``
   variables, no site, no bytecode writes) with the child side (``agent/sandbox_child.py``),
   a minimal environment and stdin ``/dev/null``, in a new session so that its whole group can
   be killed.
2. **bubblewrap**, when it works here: new pid, network, ipc, uts and cgroup namespaces, an
   empty root holding only the interpreter's files (``agent/sandbox_view.py``: the standard
   library, the shared libraries it maps, its loader; no ``/etc``, no ``/proc``, no project),
   a private ``/tmp`` and ``/dev``, the run's directory read-only, killed with its parent, and
   a seccomp deny-list from the first instruction (``--seccomp``). ``auto`` falls back to the
   rlimit mode with a WARNING; ``describe()`` says which layers hold, for /readyz and traces.
3. **Kernel limits**, set by the runner before the program runs: RLIMIT_CPU (SIGXCPU, then
   SIGKILL one second later), RLIMIT_AS, RLIMIT_FSIZE 0, RLIMIT_NOFILE 16, RLIMIT_CORE 0,
   RLIMIT_NPROC 0; a runner started as root drops to uid/gid 65534 (nobody).
4. **seccomp**, in both modes (``agent/sandbox_seccomp.py``): the runner installs an allow-list
   just before the program runs. The program can compute, allocate and write to stdout and
   stderr; every other system call (open, mknod, socket, clone, execve, kill...) fails with
   EPERM, and exit statuses of 128 and above are refused, so that how the run ended (a signal
   or an exit status) is the kernel's report, never a status the program chose.
5. **Audit hook and import guard** (PEP 578), a second layer that turns refusals into clear
   one-line errors: no ``open``, no new native module, no ``os.*``, ``socket.*``,
   ``subprocess.*``... event; builtins without ``open`` and an ``__import__`` that allows only
   the configured modules. The hook shares no state with anything the program can reach.
6. **Parent.** Output comes through pipes, read up to ``output_bytes + 1`` bytes (more kills
   the group: ``output_limit``); past ``wall_seconds`` the group is killed (``timeout``). The
   group is always killed, and the pipes read to EOF, before the run returns. ``run`` never
   raises: a failure of the sandbox itself is a failed path with its reason.

Spawn cost: the median run of the 1,747 cached programs on the 2-core development VM
(2026-12-02, ``benchmarks.sandbox_corpus``) is 28 ms in rlimit mode and 31 ms under bwrap. A
program takes 2-5 s to generate, so a run's spawn is about 1 % of a program path, under the 5 %
at which a warm pool of interpreters would pay for the state it shares between programs: no
pool.
"""

from __future__ import annotations

import logging
import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.errors import ConfigError
from agent.sandbox_child import RUNNER_SOURCE
from agent.sandbox_seccomp import program_filter, seccomp_problem, startup_filter
from agent.sandbox_view import ViewError, interpreter_view, real_interpreter

__all__ = ["ProgramRun", "Sandbox", "SandboxLimits", "run_program"]

logger = logging.getLogger(__name__)

RunStatus = Literal["ok", "error", "timeout", "memory", "output_limit", "no_output"]

# Modules that allowed modules import inside functions. They are pre-imported with them: the
# runner, as nobody, may no longer read the standard library, and imports after the audit hook
# compile from source (marshal is refused), which is slow.
_LAZY_IMPORTS = {
    "collections": ("heapq", "copy"),
    "datetime": ("_strptime",),
    "functools": ("types", "weakref"),
}
# No --unshare-all: as root it adds a user namespace that maps only uid 0, in which the runner
# could not drop to nobody and RLIMIT_NPROC would not count. No --proc: a program has no
# business with processes, its own or others'. The root is empty but for what
# agent/sandbox_view.py binds (the interpreter's files) and the run's directory, read-only.
_BWRAP_FLAGS = (
    *("--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"),
    *("--unshare-cgroup-try", "--die-with-parent", "--new-session"),
    *("--tmpfs", "/tmp", "--dev", "/dev"),
)
_ROOT_CAPS = ("--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID")
_EXIT_MEMORY = 3  # the runner's exit code after a MemoryError
_MAX_ERROR_CHARS = 300
_DRAIN_SECONDS = 2.0  # how long killed processes may take to go


class SandboxLimits(BaseModel):
    """Limits of one program run: the ``sandbox`` section of the settings."""

    model_config = ConfigDict(frozen=True)

    cpu_seconds: float = Field(2.0, gt=0, description="CPU time limit (RLIMIT_CPU)")
    wall_seconds: float = Field(5.0, gt=0, description="Wall-clock limit; then the group dies")
    memory_mb: int = Field(256, ge=64, description="Address-space limit (RLIMIT_AS) in MiB")
    output_bytes: int = Field(
        65536, ge=1, description="stdout+stderr kept; more fails the run with output_limit"
    )
    modules: tuple[str, ...] = Field(
        ("math", "fractions", "decimal", "itertools", "functools")
        + ("statistics", "datetime", "collections", "re"),
        description="Top-level modules a program may import",
    )
    extra_modules: tuple[str, ...] = Field((), description='More of them, e.g. ["random"]')
    isolation: Literal["auto", "bwrap", "rlimit"] = Field(
        "auto", description="auto: bubblewrap when it works here, else rlimits and audit hooks"
    )

    @field_validator("modules", "extra_modules")
    @classmethod
    def _top_level_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if not name.isidentifier():
                raise ValueError(f"not a top-level module name: {name!r}")
        return names

    @property
    def allowed(self) -> tuple[str, ...]:
        """Every module a program may import, sorted."""
        return tuple(sorted({*self.modules, *self.extra_modules}))


@dataclass(frozen=True)
class ProgramRun:
    """What running one program gave.

    Attributes:
        stdout: What the program printed (truncated to the output limit).
        error: One short line when the run failed: the exception's last line, "CPU limit",
            "memory limit", "timed out after 5.0 s", "printed nothing"...; None when ok.
        status: ``ok``, ``error``, ``timeout``, ``memory``, ``output_limit`` or ``no_output``.
        seconds: Wall time of the run, spawn included.
        isolation: The layer that ran it: ``bwrap`` or ``rlimit``.
    """

    stdout: str
    error: str | None
    status: RunStatus
    seconds: float
    isolation: str

    @property
    def ok(self) -> bool:
        """True when the program exited cleanly and printed something."""
        return self.status == "ok"


class Sandbox:
    """Runs programs under ``SandboxLimits``; one instance serves many threads."""

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        """Resolve the isolation layer once, so that every run uses the same one.

        Raises:
            ConfigError: ``isolation="bwrap"`` and bubblewrap does not work here.
        """
        self.limits = limits or SandboxLimits()
        lazy = (m for name in self.limits.allowed for m in _LAZY_IMPORTS.get(name, ()))
        self._preload = ",".join(sorted({*self.limits.allowed, *lazy}))
        self._python = real_interpreter(sys.executable)
        self.seccomp_problem = seccomp_problem()
        if self.seccomp_problem is not None:
            logger.warning(
                "sandbox: %s; programs run WITHOUT a seccomp filter (install libseccomp2)",
                self.seccomp_problem,
            )
        self.isolation_problem: str | None = None
        self._isolation = self._resolve()

    @property
    def isolation(self) -> str:
        """The layer that runs programs: ``bwrap`` or ``rlimit``."""
        return self._isolation

    @property
    def seccomp(self) -> bool:
        """True when every program runs under the seccomp filters."""
        return self.seccomp_problem is None

    def describe(self) -> str:
        """One line for people: the layers in force, and why one is missing."""
        layers = self._isolation + ("+seccomp" if self.seccomp else "")
        missing = [p for p in (self.isolation_problem, self.seccomp_problem) if p]
        return layers + (f" ({'; '.join(missing)})" if missing else "")

    def run(self, code: str) -> ProgramRun:
        """Run ``code``; report what it printed. Never raises: a failure is a failed run."""
        start = time.monotonic()
        try:
            status, stdout, error = self._run_as(self._isolation, code, start)
        except Exception as ex:  # a broken sandbox fails one path, not the question
            logger.exception("sandbox: the run itself failed")
            status, stdout, error = "error", "", f"sandbox failure: {type(ex).__name__}: {ex}"
        seconds = time.monotonic() - start
        logger.debug("sandbox %s in %.3f s: %s", status, seconds, error)
        return ProgramRun(stdout, error, status, seconds, self._isolation)

    def _resolve(self) -> str:
        wanted = self.limits.isolation
        if wanted == "rlimit":
            return "rlimit"
        self.isolation_problem = self._bwrap_problem()
        if self.isolation_problem is None:
            return "bwrap"
        if wanted == "bwrap":
            raise ConfigError(
                f"sandbox isolation 'bwrap' does not work here: {self.isolation_problem}; "
                "install bubblewrap (apt-get install bubblewrap) or set "
                "REASON_SANDBOX__ISOLATION=rlimit"
            )
        logger.warning(
            "sandbox: bubblewrap does not work here (%s): programs run WITHOUT namespaces or "
            "a private filesystem, under rlimits, seccomp and audit hooks only; set "
            "REASON_SANDBOX__ISOLATION=bwrap to refuse to start instead",
            self.isolation_problem,
        )
        return "rlimit"

    def _bwrap_problem(self) -> str | None:
        """Why bubblewrap cannot run a program here, or None when it can (checked once)."""
        if shutil.which("bwrap") is None:
            return "bwrap is not installed"
        key = (self._python, self._preload, self.seccomp)
        with _PROBE_LOCK:
            if key not in _BWRAP_PROBLEMS:
                try:
                    status, stdout, error = self._run_as("bwrap", "print(7)", time.monotonic())
                    ok = status == "ok" and stdout.strip() == "7"
                    _BWRAP_PROBLEMS[key] = None if ok else f"a test program gave {error!r}"
                except (OSError, ViewError) as ex:
                    _BWRAP_PROBLEMS[key] = f"bwrap failed: {ex}"
            return _BWRAP_PROBLEMS[key]

    def _run_as(self, isolation: str, code: str, start: float) -> tuple[RunStatus, str, str | None]:
        workdir = tempfile.mkdtemp(prefix="sandbox-")
        try:
            program = os.path.join(workdir, "program.py")
            with open(program, "w", encoding="utf-8", errors="backslashreplace") as f:
                f.write(code)
            bpf = ""
            if self.seccomp:
                bpf = os.path.join(workdir, "program.bpf")
                with open(bpf, "wb") as f:
                    f.write(program_filter())
            return self._execute(isolation, workdir, program, bpf, start)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _execute(
        self, isolation: str, workdir: str, program: str, bpf: str, start: float
    ) -> tuple[RunStatus, str, str | None]:
        lim = self.limits
        argv = [str(math.ceil(lim.cpu_seconds)), str(lim.memory_mb * 1024 * 1024)]
        argv += [program, ",".join(lim.allowed), self._preload, bpf]
        command = [self._python, "-I", "-S", "-B", "-c", RUNNER_SOURCE, *argv]
        env = {
            **{"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir},
            **{"LC_ALL": "C.UTF-8", "TZ": "UTC"},  # TZ: glibc reads no /etc/localtime
        }
        deadline = start + lim.wall_seconds
        pass_fds: tuple[int, ...] = ()
        try:
            if isolation == "bwrap":
                startup = _filter_pipe(startup_filter()) if self.seccomp else None
                pass_fds = (startup,) if startup is not None else ()
                command = _bwrap_command(self._python, self._preload, workdir, startup) + command
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=workdir,
                env=env,
                start_new_session=True,
                pass_fds=pass_fds,
            )
        finally:
            for fd in pass_fds:
                os.close(fd)
        with proc:
            try:
                out, err, over = _read_capped(proc, lim.output_bytes, deadline)
                exited = not over and _wait_exit(proc.pid, deadline)
            finally:
                # Kill before reaping: the group id cannot be reused while the leader is unreaped.
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                # bwrap's inner processes die with it, asynchronously: the pipes reach EOF once
                # every process that could write to them has exited.
                if not _drain(proc, time.monotonic() + _DRAIN_SECONDS):
                    logger.warning(
                        "sandbox: processes outlived their run by %.0f s", _DRAIN_SECONDS
                    )
        stdout = out[: lim.output_bytes].decode("utf-8", errors="replace")
        if over:
            return "output_limit", stdout, f"output over {lim.output_bytes} bytes"
        if not exited:
            return "timeout", stdout, f"timed out after {lim.wall_seconds:g} s"
        exit_code, killed_by = _ending(proc.returncode, isolation)
        return _classify(exit_code, killed_by, stdout, err.decode("utf-8", errors="replace"))


def run_program(code: str, limits: SandboxLimits | None = None) -> ProgramRun:
    """Run one program in a new ``Sandbox``: for scripts and one-off checks."""
    return Sandbox(limits).run(code)


_PROBE_LOCK = threading.Lock()
_BWRAP_PROBLEMS: dict[tuple[str, str, bool], str | None] = {}


def _bwrap_command(python: str, preload: str, workdir: str, seccomp_fd: int | None) -> list[str]:
    """bwrap's arguments: namespaces, an empty root with only the interpreter's files in it."""
    caps = _ROOT_CAPS if os.geteuid() == 0 else ()
    seccomp = ("--seccomp", str(seccomp_fd)) if seccomp_fd is not None else ()
    view = interpreter_view(python, preload)
    return [
        *("bwrap", *_BWRAP_FLAGS, *caps, *seccomp, *view),
        *("--ro-bind", workdir, workdir, "--chdir", workdir, "--"),
    ]


def _filter_pipe(bpf: bytes) -> int:
    """A pipe's read end holding ``bpf``: how bwrap takes a seccomp program (--seccomp FD)."""
    read, write = os.pipe()
    try:
        os.write(write, bpf)  # a few hundred bytes: well under the pipe's buffer
    finally:
        os.close(write)
    return read


def _chunks(
    proc: subprocess.Popen[bytes], deadline: float
) -> Generator[tuple[int, bytes], None, None]:
    """(fd, bytes) read from stdout and stderr until both reach EOF or the deadline passes."""
    with selectors.DefaultSelector() as sel:
        for stream in (proc.stdout, proc.stderr):
            assert stream is not None  # both are pipes
            sel.register(stream, selectors.EVENT_READ)
        while sel.get_map() and (remaining := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(remaining):
                if chunk := os.read(key.fd, 65536):
                    yield key.fd, chunk
                else:
                    sel.unregister(key.fileobj)


def _read_capped(
    proc: subprocess.Popen[bytes], limit: int, deadline: float
) -> tuple[bytes, bytes, bool]:
    """stdout and stderr until both close, the deadline passes, or together they pass limit.

    Keeps at most ``limit + 1`` bytes in all: a program that prints gigabytes costs the parent
    nothing. The third value is True when the output went over the limit.
    """
    assert proc.stdout is not None and proc.stderr is not None  # both are pipes
    bufs = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    total = 0
    chunks = _chunks(proc, deadline)
    for fd, chunk in chunks:
        bufs[fd] += chunk[: limit + 1 - total]
        total += len(chunk)
        if total > limit:
            chunks.close()
            break
    return bytes(bufs[proc.stdout.fileno()]), bytes(bufs[proc.stderr.fileno()]), total > limit


def _drain(proc: subprocess.Popen[bytes], deadline: float) -> bool:
    """Read both pipes to EOF, discarding; False when the deadline passes first."""
    for _ in _chunks(proc, deadline):
        pass
    return time.monotonic() < deadline


def _wait_exit(pid: int, deadline: float) -> bool:
    """Wait for the child to exit, without reaping it; False when the deadline passes first."""
    delay = 0.001
    try:
        while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
    except ChildProcessError:  # reaped by someone else's waitpid(-1): it has exited
        pass
    return True


def _ending(returncode: int, isolation: str) -> tuple[int | None, int | None]:
    """(exit status, None) or (None, signal number), as the kernel reported the end.

    Under bwrap the child is bwrap, which exits 128+N when the program died of signal N. The
    program filter refuses exit statuses of 128 and above, so such a status is always a signal.
    """
    if returncode < 0:
        return None, -returncode
    if isolation == "bwrap" and returncode > 128:
        return None, returncode - 128
    return returncode, None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal has no name
        return f"signal {number}"


def _classify(
    code: int | None, killed_by: int | None, stdout: str, stderr: str
) -> tuple[RunStatus, str, str | None]:
    """Status and one-line error from how the runner ended and its last stderr line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1][:_MAX_ERROR_CHARS] if lines else None
    if killed_by is not None:
        # The program cannot send signals (the filter refuses kill, tkill, tgkill): SIGXCPU
        # and SIGKILL come from RLIMIT_CPU's soft and hard limits.
        if killed_by in (signal.SIGXCPU, signal.SIGKILL):
            return "timeout", stdout, "CPU limit"
        return "error", stdout, f"killed by {_signal_name(killed_by)}"
    if code == 0:
        return ("ok", stdout, None) if stdout.strip() else ("no_output", stdout, "printed nothing")
    if code == _EXIT_MEMORY:
        return "memory", stdout, "memory limit"
    return "error", stdout, last or f"exit status {code}"

"""Run model-written Python programs: hostile input, contained by OS mechanisms first.

A program path's answer is what its program prints, so every program the model writes is run;
and model-written code is hostile input. Each run is a fresh interpreter behind these layers
(docs/sandbox.md says what each one guarantees and what none of them does):

1. **Process.** A new ``tempfile.mkdtemp()`` per run is the working directory, HOME and
   TMPDIR, removed afterwards. ``sys.executable -I -S -B`` (no user site, no ``PYTHON*``
   variables, no site import, no bytecode writes) runs the child side
   (``agent/sandbox_child.py``) with a minimal environment in a new session
   (``start_new_session``), so that its whole group can be killed.
2. **Kernel limits**, set by the runner before the program runs: RLIMIT_CPU (SIGXCPU, then
   SIGKILL one second later), RLIMIT_AS, RLIMIT_FSIZE 0 (no file can grow), RLIMIT_NOFILE 16,
   RLIMIT_CORE 0 and RLIMIT_NPROC 0. A runner that starts as root drops to uid/gid 65534
   (nobody) once the modules are loaded: root ignores RLIMIT_NPROC and may write anywhere.
   Functions that reach the kernel without an audit event and act outside the process
   (``os.mkfifo``, ``os.mknod``, ``os.memfd_create``, ``os.pidfd_open``,
   ``signal.pidfd_send_signal``, ``_imp.create_builtin``) are deleted from their modules.
3. **Audit hook and import guard** (PEP 578), installed after the allowed modules are
   pre-imported: ``open`` only to read files of the standard library, no new native module,
   and every ``os.*``, ``socket.*``, ``subprocess.*``, ``ctypes.*``, ``marshal.*``,
   ``code.__new__``, ``gc.*``... event refused. User code gets builtins without ``open``,
   ``input`` and ``breakpoint``, and an ``__import__`` that allows only the configured
   top-level modules. The guard is a convenience (``().__class__.__base__.__subclasses__()``
   reaches ``os``); the audit hook, unreachable from Python once installed, stops the effects.
4. **bubblewrap**, when it works here: new pid, network, ipc, uts and cgroup namespaces, the
   root filesystem read-only, a private ``/tmp``, fresh ``/proc`` and ``/dev``, killed with its
   parent. Whatever the program starts dies with the pid namespace.
5. **Parent.** Output comes through pipes, read up to ``output_bytes + 1`` bytes (more kills
   the group: ``output_limit``); past ``wall_seconds`` the group is killed (``timeout``). The
   group is always killed, and the pipes read to EOF, before the run returns: no process that
   could write to them outlives its run.

Spawn cost of ``print(1)`` on the 2-core development VM (Python 3.11.7, default modules),
fastest / median of 30 runs while a model evaluation kept both cores busy: rlimit 44 / 61-75
ms, bwrap 67 / 75 ms (a bare ``python -I -S`` is 11-19 ms; pre-importing the modules and the
traceback machinery is ~30 ms). A program takes 2-5 s to generate, so a run's spawn is 1.5-4 %
of a program path, under the 5 % at which a warm pool of interpreters would pay for the state
it shares between programs: no pool.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.errors import ConfigError
from agent.sandbox_child import RUNNER_SOURCE

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
# could not drop to nobody and RLIMIT_NPROC would not count.
_BWRAP_FLAGS = (
    *("--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"),
    *("--unshare-cgroup-try", "--die-with-parent", "--new-session"),
    *("--ro-bind", "/", "/", "--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev"),
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
        self._isolation = _resolve(self.limits.isolation)
        lazy = (m for name in self.limits.allowed for m in _LAZY_IMPORTS.get(name, ()))
        self._preload = ",".join(sorted({*self.limits.allowed, *lazy}))

    @property
    def isolation(self) -> str:
        """The layer that runs programs: ``bwrap`` or ``rlimit``."""
        return self._isolation

    def run(self, code: str) -> ProgramRun:
        """Run ``code``; report what it printed. Never raises for what the program does."""
        start = time.monotonic()
        workdir = tempfile.mkdtemp(prefix="sandbox-")
        try:
            program = os.path.join(workdir, "program.py")
            with open(program, "w", encoding="utf-8", errors="backslashreplace") as f:
                f.write(code)
            status, stdout, error = self._execute(workdir, start)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        seconds = time.monotonic() - start
        logger.debug("sandbox %s in %.3f s: %s", status, seconds, error)
        return ProgramRun(stdout, error, status, seconds, self._isolation)

    def _execute(self, workdir: str, start: float) -> tuple[RunStatus, str, str | None]:
        lim = self.limits
        argv = [str(math.ceil(lim.cpu_seconds)), str(lim.memory_mb * 1024 * 1024)]
        argv += [os.path.join(workdir, "program.py"), ",".join(lim.allowed), self._preload]
        command = [sys.executable, "-I", "-S", "-B", "-c", RUNNER_SOURCE, *argv]
        if self._isolation == "bwrap":
            command = _bwrap_command(workdir) + command
        env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LC_ALL": "C.UTF-8"}
        deadline = start + lim.wall_seconds
        with subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=workdir,
            env=env,
            start_new_session=True,
        ) as proc:
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
        code = proc.returncode
        if self._isolation == "bwrap" and code > 128:  # bwrap exits 128+N after signal N
            code = 128 - code
        return _classify(code, stdout, err.decode("utf-8", errors="replace"))


def run_program(code: str, limits: SandboxLimits | None = None) -> ProgramRun:
    """Run one program in a new ``Sandbox``: for scripts and one-off checks."""
    return Sandbox(limits).run(code)


def _resolve(isolation: str) -> str:
    if isolation == "rlimit":
        return "rlimit"
    problem = _bwrap_problem()
    if problem is None:
        return "bwrap"
    if isolation == "bwrap":
        raise ConfigError(
            f"sandbox isolation 'bwrap' does not work here: {problem}; install bubblewrap "
            "(apt-get install bubblewrap) or set REASON_SANDBOX__ISOLATION=rlimit"
        )
    logger.info("sandbox: %s; programs run under rlimits and audit hooks only", problem)
    return "rlimit"


@functools.cache
def _bwrap_problem() -> str | None:
    """Why bubblewrap cannot run the interpreter here, or None when it can (checked once)."""
    if shutil.which("bwrap") is None:
        return "bwrap is not installed"
    workdir = tempfile.mkdtemp(prefix="sandbox-probe-")
    try:
        done = subprocess.run(
            [*_bwrap_command(workdir), sys.executable, "-I", "-S", "-B", "-c", "pass"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as ex:
        return f"bwrap failed: {ex}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
        return f"bwrap exited with {done.returncode}: {lines[-1]}"
    return None


def _bwrap_command(workdir: str) -> list[str]:
    caps = _ROOT_CAPS if os.geteuid() == 0 else ()
    return ["bwrap", *_BWRAP_FLAGS, *caps, "--bind", workdir, workdir, "--chdir", workdir, "--"]


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


def _classify(code: int, stdout: str, stderr: str) -> tuple[RunStatus, str, str | None]:
    """Status and one-line error from the runner's exit code and its last stderr line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1][:_MAX_ERROR_CHARS] if lines else None
    if code == 0:
        return ("ok", stdout, None) if stdout.strip() else ("no_output", stdout, "printed nothing")
    if code == _EXIT_MEMORY:
        return "memory", stdout, "memory limit"
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        return "timeout", stdout, "CPU limit"
    if code < 0:
        return "error", stdout, f"killed by {signal.Signals(-code).name}"
    return "error", stdout, last or f"exit status {code}"

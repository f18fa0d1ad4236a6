"""The sandbox against hostile programs: real interpreters, each isolation layer this host has.

Every hostile program must fail and do nothing else: the call returns within the wall limit,
no file appears outside the run's directory, no process outlives the run, no connection
reaches a socket the test listens on. Runs go to a per-test temporary directory, so that a
surviving process is found by that directory in its command line.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pydantic
import pytest

from agent.errors import ConfigError
from agent.sandbox import Sandbox, SandboxLimits, run_program

WALL = 2.0  # seconds; CPU limit 1 s
SLACK = 2.0  # spawn, kill and cleanup on a loaded 2-core machine
BWRAP_PROBLEM = Sandbox(SandboxLimits(isolation="auto")).isolation_problem
MODES = [
    "rlimit",
    pytest.param(
        "bwrap", marks=pytest.mark.skipif(BWRAP_PROBLEM is not None, reason=str(BWRAP_PROBLEM))
    ),
]
# os's module globals, reached without any import: the classic escape from restricted builtins.
OS = (
    "[c for c in ().__class__.__base__.__subclasses__()"
    " if c.__name__ == '_wrap_close'][0].__init__.__globals__"
)
# sys.modules through an allowed module's attribute, and the import system behind the guard.
MODULES = "import collections\nM = collections._sys.modules\n"
LOADER = MODULES + "L = M['_frozen_importlib']\n"

# (program, expected status). ESCAPE, CWD_FILE, REL_NAME and PORT are filled in per test.
HOSTILE = {
    "infinite_loop": ("while True: pass", "timeout"),
    # 256 MiB of list slots take about the CPU limit to fill: whichever limit comes first.
    "self_append_loop": ("x = []\nwhile True:\n    x.append(x)", ("timeout", "memory")),
    "memory_growth": ("x = []\nwhile True:\n    x.append('a' * 10**6)", "memory"),
    "ten_gigabytes": ("bytearray(10 * 1024**3)", "memory"),
    "sleep_past_wall": (MODULES + "M['time'].sleep(60)", "timeout"),
    "no_flush_then_loop": ("print('7', end='')\nwhile True: pass", "timeout"),
    "print_100_mb": ("print('x' * 10**8)", "output_limit"),
    "fork_bomb_import": ("import os\nwhile True:\n    os.fork()", "error"),
    "fork_bomb_dunder_import": ("while True:\n    __import__('os').fork()", "error"),
    "fork_bomb_subclass_walk": (f"F = {OS}['fork']\nwhile True:\n    F()", "error"),
    "read_passwd": ("print(open('/etc/passwd').read())", "error"),
    "read_passwd_real_open": (
        f"print({OS}['__builtins__']['open']('/etc/passwd').read())",
        "error",
    ),
    "write_test_cwd": ("open('CWD_FILE', 'w').write('x')", "error"),
    "write_tmp_real_open": (f"{OS}['__builtins__']['open']('ESCAPE', 'w').write('x')", "error"),
    "write_relative": (f"{OS}['__builtins__']['open']('REL_NAME', 'w').write('x')", "error"),
    "write_os_open": (f"{OS}['open']('ESCAPE', {OS}['O_WRONLY'] | {OS}['O_CREAT'])", "error"),
    "mkfifo": (f"{OS}['mkfifo']('ESCAPE')", "error"),
    "import_os": ("import os", "error"),
    "import_subprocess": ("import subprocess\nsubprocess.run(['touch', 'ESCAPE'])", "error"),
    "import_socket": ("import socket\nsocket.create_connection(('127.0.0.1', PORT))", "error"),
    "import_ctypes": ("import ctypes", "error"),
    "loader_socket": (
        LOADER + "L._gcd_import('socket').create_connection(('127.0.0.1', PORT))",
        "error",
    ),
    "loader_ctypes": (LOADER + "print(L._gcd_import('ctypes'))", "error"),
    "dunder_import_system": ("__import__('os').system('touch ESCAPE')", "error"),
    "getattr_builtins_import": (
        "getattr(__builtins__, '__import__')('os').system('touch ESCAPE')",
        "error",
    ),
    "real_import_system": (LOADER + "L.__import__('os').system('touch ESCAPE')", "error"),
    "subclass_walk_system": (f"{OS}['system']('touch ESCAPE')", "error"),
    "subclass_walk_popen": (
        "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen'][0]"
        "(['touch', 'ESCAPE'])",
        "error",
    ),
    "kill_parent": (f"{OS}['kill']({OS}['getppid'](), 9)", "error"),
    "raise_cpu_limit": (
        MODULES + "R = M['resource']\nR.setrlimit(R.RLIMIT_CPU, (99, 99))",
        "error",
    ),
    "crafted_bytecode": ("def f(): pass\nf.__code__.replace(co_code=b'')", "error"),
}
# The exact error line where it names the layer that stopped the program.
ERRORS: dict[str, str | tuple[str, ...]] = {
    # The CPU limit (1 s) comes first on an idle machine; on one whose cores are busy the
    # loop gets less than half a core and the wall limit (2 s) ends it first.
    "infinite_loop": ("CPU limit", f"timed out after {WALL:g} s"),
    "sleep_past_wall": f"timed out after {WALL:g} s",
    "memory_growth": "memory limit",
    "print_100_mb": "output over 65536 bytes",
    "read_passwd_real_open": "open('/etc/passwd') is not allowed",
    "write_tmp_real_open": "open('ESCAPE') is not allowed",
    "import_os": "import of 'os' is not allowed",
    "import_subprocess": "import of 'subprocess' is not allowed",
    "import_socket": "import of 'socket' is not allowed",
    "import_ctypes": "import of 'ctypes' is not allowed",
    "fork_bomb_subclass_walk": "os.fork is not allowed",
    "write_os_open": "open('ESCAPE') is not allowed",
    "subclass_walk_system": "os.system is not allowed",
    "real_import_system": "os.system is not allowed",
    "kill_parent": "os.kill is not allowed",
    "raise_cpu_limit": "resource.setrlimit is not allowed",
    "crafted_bytecode": "code.__new__ is not allowed",
}


@pytest.fixture
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where this test's runs make their directories (tempfile.mkdtemp's default dir)."""
    runs = tmp_path / "runs"
    runs.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(runs))
    return runs


@pytest.fixture(params=MODES)
def box(request: pytest.FixtureRequest, runs_dir: Path) -> Sandbox:
    """A sandbox with short limits, once per isolation layer."""
    return Sandbox(SandboxLimits(isolation=request.param, cpu_seconds=1, wall_seconds=WALL))


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A socket listening on localhost that no program may reach."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        yield server


def survivors(marker: str) -> list[int]:
    """Pids of processes (not this one) whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # exited meanwhile
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_program_fails_and_leaves_nothing(
    box: Sandbox, runs_dir: Path, listener: socket.socket, case: str
) -> None:
    program, status = HOSTILE[case]
    tag = uuid.uuid4().hex
    escape = Path(f"/tmp/sandbox-escape-{tag}")
    cwd_file = Path.cwd() / f"escape-{tag}.txt"
    rel_name = f"escape-rel-{tag}.txt"

    def fill(text: str) -> str:
        return (
            text.replace("ESCAPE", str(escape))
            .replace("CWD_FILE", str(cwd_file))
            .replace("REL_NAME", rel_name)
            .replace("PORT", str(listener.getsockname()[1]))
        )

    started = time.monotonic()
    run = box.run(fill(program))

    assert time.monotonic() - started < WALL + SLACK
    assert not run.ok
    assert run.status in ((status,) if isinstance(status, str) else status), run.error
    assert run.error
    expected = ERRORS.get(case, run.error)
    assert run.error in tuple(map(fill, expected if isinstance(expected, tuple) else (expected,)))
    assert run.isolation == box.isolation
    assert not escape.exists()
    assert not cwd_file.exists()
    assert not (Path.cwd() / rel_name).exists()
    assert survivors(str(runs_dir)) == []
    assert list(runs_dir.iterdir()) == []  # the run's directory is gone too
    with pytest.raises(BlockingIOError):
        listener.accept()


def test_output_over_the_limit_is_truncated(runs_dir: Path) -> None:
    box = Sandbox(SandboxLimits(isolation="rlimit", output_bytes=1000))

    run = box.run("for i in range(10**6):\n    print(i)")

    assert run.status == "output_limit"
    assert run.error == "output over 1000 bytes"
    assert run.stdout.startswith("0\n1\n2\n")
    assert len(run.stdout) == 1000


@pytest.mark.parametrize(
    ("program", "printed"),
    [
        ("print(3*7)", "21"),
        ("from fractions import Fraction\nprint(Fraction(1, 3) + Fraction(1, 6))", "1/2"),
        ("import math\nprint(math.comb(5, 2))", "10"),
        (
            "def area(w, h):\n    return w * h\n\ntotal = 0\nfor i in range(1, 4):\n"
            "    total += area(i, 2)\nprint(total)",
            "12",
        ),  # fmt: skip
        ("from collections import Counter\nprint(Counter('abca').most_common(1)[0][0])", "a"),
        ("import datetime\nprint(datetime.datetime.strptime('2024-03-01', '%Y-%m-%d').day)", "1"),
        ("import statistics\nprint(statistics.median([3, 1, 2]))", "2"),
        ("from decimal import Decimal\nprint(Decimal('1.10') + Decimal('2.20'))", "3.30"),
        ("print(eval('2 + 3'))", "5"),
        ("print(5)\nraise SystemExit(0)", "5"),
    ],
    ids=[
        "arithmetic",
        "fractions",
        "math",
        "def_and_loop",
        "counter",
        "strptime",
        "statistics",
        "decimal",
        "eval",
        "clean_exit",
    ],
)
def test_math_program_prints_its_answer(box: Sandbox, program: str, printed: str) -> None:
    run = box.run(program)

    assert run.ok, run.error
    assert (run.status, run.error, run.stdout.strip()) == ("ok", None, printed)
    assert run.isolation == box.isolation


def test_program_that_prints_nothing_has_no_output(box: Sandbox) -> None:
    run = box.run("print()")

    assert (run.ok, run.status, run.error) == (False, "no_output", "printed nothing")


def test_exception_gives_its_last_line(box: Sandbox) -> None:
    run = box.run("x = 1\n1/0")

    assert (run.status, run.error) == ("error", "ZeroDivisionError: division by zero")


def test_syntax_error_is_an_error(box: Sandbox) -> None:
    run = box.run("print(")

    assert run.status == "error"
    assert run.error is not None and run.error.startswith("SyntaxError")


def test_extra_modules_extend_the_allowlist(runs_dir: Path) -> None:
    program = "import random\nrandom.seed(1)\nprint(random.randint(1, 6))"

    refused = run_program(program, SandboxLimits(isolation="rlimit"))
    allowed = run_program(program, SandboxLimits(isolation="rlimit", extra_modules=("random",)))

    assert refused.error == "import of 'random' is not allowed"
    assert allowed.ok, allowed.error


def test_runs_from_several_threads_stay_apart(box: Sandbox) -> None:
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(box.run, [f"print({i} * 11)" for i in range(8)]))

    assert [run.stdout.strip() for run in runs] == [str(i * 11) for i in range(8)]


@pytest.mark.skipif(os.geteuid() != 0, reason="the runner drops privileges only as root")
def test_runner_started_as_root_runs_the_program_as_nobody(box: Sandbox) -> None:
    run = box.run(f"print({OS}['getuid']())")

    assert run.stdout.strip() == "65534"


@pytest.mark.skipif(BWRAP_PROBLEM is not None, reason=str(BWRAP_PROBLEM))
def test_bwrap_runs_the_program_in_its_own_pid_namespace(runs_dir: Path) -> None:
    run = run_program(f"print({OS}['getpid']())", SandboxLimits(isolation="bwrap"))

    assert run.isolation == "bwrap"
    assert int(run.stdout) < 10


def test_bwrap_required_but_missing_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Sandbox, "_bwrap_problem", lambda self: "bwrap is not installed")

    with pytest.raises(ConfigError, match="bwrap is not installed.*ISOLATION=rlimit"):
        Sandbox(SandboxLimits(isolation="bwrap"))
    assert Sandbox(SandboxLimits(isolation="auto")).isolation == "rlimit"


def test_module_names_must_be_top_level_names() -> None:
    with pytest.raises(pydantic.ValidationError):
        SandboxLimits(extra_modules=("os,sys",))


# The issue-24 reproducers and one program per escape family tried against the kernel
# boundary. Each must fail, leave nothing, and never make run() raise. SECRET_FILE is a
# world-readable file outside the sandbox; its contents must never come back.
ESCAPES = {
    # 1. the guard's closure cell rewritten, then the real open of any path
    "closure_cell_open": (
        "c = dict(zip(__import__.__code__.co_freevars, __import__.__closure__))\n"
        "T = type\n"
        "class P(str):\n"
        "    def startswith(self, *a): return True\n"
        "    def __contains__(self, x): return False\n"
        "c['type_'].cell_contents = lambda o: str if T(o) is P else T(o)\n"
        "print(print.__self__.open(P('SECRET_FILE')).read())"
    ),
    # 3. a signal with no name, SIGKILL raised by the program, an exit status above 128
    "raise_signal_40": (MODULES + "M['_signal'].raise_signal(40)"),
    "raise_signal_9": (MODULES + "M['_signal'].raise_signal(9)"),
    "exit_200": (MODULES + "M['os']._exit(200)"),
    "exit_minus_one": (MODULES + "M['os']._exit(-1)"),
    # 4. node creation through os.supports_dir_fd (the functions deleted from os live on)
    "mknod_supports_dir_fd": (
        MODULES + "f = [f for f in M['os'].supports_dir_fd if f.__name__ == 'mknod'][0]\n"
        "f('ESCAPE')"
    ),
    "mkfifo_supports_dir_fd": (
        MODULES + "f = [f for f in M['os'].supports_dir_fd if f.__name__ == 'mkfifo'][0]\n"
        "f('ESCAPE')"
    ),
    # file reads: io, codecs, _io.FileIO, loaders, linecache, posix.open, stat, listdir
    "io_open": (MODULES + "print(M['io'].open('SECRET_FILE').read())"),
    "fileio": (MODULES + "print(M['_io'].FileIO('SECRET_FILE').read())"),
    "codecs_open": (MODULES + "print(M['codecs'].open('SECRET_FILE').read())"),
    "loader_get_data": (
        MODULES + "E = M['_frozen_importlib_external']\n"
        "print(E.FileLoader('x', 'SECRET_FILE').get_data('SECRET_FILE'))"
    ),
    # linecache swallows the refusal and returns no lines
    "linecache": (
        MODULES + "L = M['linecache'].getlines('SECRET_FILE')\nassert L, 'read nothing'\nprint(L)"
    ),
    "posix_open_read": (MODULES + "P = M['posix']\nprint(P.read(P.open('SECRET_FILE', 0), 100))"),
    "stat_leak": (MODULES + "print(M['posix'].stat('SECRET_FILE'))"),
    "listdir_root": (MODULES + "print(M['posix'].listdir('/'))"),
    # import-guard bypasses: frames, the runner's globals, the builtins module
    "runner_frame_builtins": (
        "import sys\nB = sys._getframe(1).f_globals['__builtins__']\n"
        "print(B.open('SECRET_FILE').read())"
    ),
    "traceback_frame_builtins": (
        "try:\n    1/0\nexcept Exception as e:\n    f = e.__traceback__.tb_frame\n"
        "B = f.f_globals['__builtins__']\nprint(B['open']('SECRET_FILE').read())"
    ),
    "builtins_module_open": (MODULES + "print(M['builtins'].open('SECRET_FILE').read())"),
    # audit-hook bypasses: ctypes left behind by the runner, a new native module
    "ctypes_left_in_modules": (
        MODULES + "C = [m for n, m in M.items() if 'ctypes' in n]\nprint(C[0].CDLL(None))"
    ),
    "create_dynamic": (
        MODULES + "I = M['_imp']\nprint(I.create_dynamic(type('S', (), {'name': '_socket',"
        " 'origin': '/nonexistent.so'})()))"
    ),
    # processes and threads, past the hook (posix functions reached directly)
    "posix_fork": (MODULES + "print(M['posix'].fork())"),
    "posix_execv": (MODULES + "M['posix'].execv('/bin/sh', ['sh', '-c', 'touch ESCAPE'])"),
    "thread": (MODULES + "M['_thread'].start_new_thread(print, (1,))\nM['time'].sleep(0.2)"),
    # signals, past the hook (networking is in HOSTILE: no socket module can be loaded)
    "posix_kill_parent": (MODULES + "M['posix'].kill(M['posix'].getppid(), 9)"),
}
# What a family may still print: nothing of the secret, and for the stat/listdir leaks nothing
# at all; the errors are the kernel's or the hook's, whichever comes first.
SECRET = "sandbox-secret-7f3a"


@pytest.fixture
def secret_file() -> Iterator[Path]:
    """A world-readable file outside every run's directory, holding SECRET."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", dir="/var/tmp", delete=False) as f:
        f.write(SECRET)
    os.chmod(f.name, 0o644)
    yield Path(f.name)
    os.unlink(f.name)


@pytest.mark.parametrize("case", ESCAPES)
def test_escape_family_reads_creates_and_breaks_nothing(
    box: Sandbox, runs_dir: Path, secret_file: Path, case: str
) -> None:
    escape = Path(f"/tmp/sandbox-escape-{uuid.uuid4().hex}")
    program = ESCAPES[case].replace("SECRET_FILE", str(secret_file))
    program = program.replace("ESCAPE", str(escape))

    run = box.run(program)  # must not raise, whatever the program does

    assert not run.ok, (run.stdout, run.error)
    assert run.status == "error", run.error
    assert SECRET not in run.stdout and SECRET not in (run.error or "")
    assert "st_size" not in run.stdout and "etc" not in run.stdout
    assert run.error != "CPU limit"  # a signal the program raised is never read as a limit
    assert not escape.exists()
    assert survivors(str(runs_dir)) == []


def test_no_frame_the_program_reaches_holds_the_audit_hook(box: Sandbox) -> None:
    # With the hook function, a program could rewrite its closure cells (cell_contents is
    # writable) and switch the second layer off; only the interpreter may hold it.
    program = (
        MODULES + "found = []\nf = M['sys']._getframe()\nwhile f is not None:\n"
        "    found += [k for k, v in f.f_locals.items() if getattr(v, '__name__', '') == 'audit']\n"
        "    f = f.f_back\nprint(found)"
    )

    run = box.run(program)

    assert (run.status, run.stdout.strip()) == ("ok", "[]")


def test_a_program_cannot_forge_how_it_ended(box: Sandbox) -> None:
    # SIGKILL and SIGXCPU raised by the program itself: refused, so never "CPU limit".
    for sig in (9, 24):
        run = box.run(MODULES + f"M['_signal'].raise_signal({sig})")
        assert (run.status, run.error) == (
            "error",
            "PermissionError: [Errno 1] Operation not permitted",
        )
    # An exit status of 128+N would read as signal N under bwrap: the filter refuses it, and
    # libc's _exit then stops the process with a fault the kernel reports.
    run = box.run(MODULES + "M['os']._exit(137)")
    assert (run.status, run.error) == ("error", "killed by SIGSEGV")


def test_run_never_raises_even_when_the_sandbox_breaks(runs_dir: Path) -> None:
    box = Sandbox(SandboxLimits(isolation="rlimit"))
    box._python = "/nonexistent/python"  # the interpreter vanished under a running service

    run = box.run("print(1)")

    assert run.status == "error"
    assert run.error is not None and run.error.startswith("sandbox failure: FileNotFoundError")


def test_both_layers_are_described(box: Sandbox) -> None:
    assert box.seccomp and box.seccomp_problem is None
    assert box.describe() == f"{box.isolation}+seccomp"


@pytest.mark.skipif(BWRAP_PROBLEM is not None, reason=str(BWRAP_PROBLEM))
def test_bwrap_view_holds_only_the_interpreter(tmp_path: Path) -> None:
    from agent.sandbox_view import interpreter_view, real_interpreter

    python = real_interpreter(sys.executable)
    view = interpreter_view(python, "math")
    listing = (
        "import os, sys\nfor top in sorted(os.listdir('/')):\n    print(top)\n"
        "print('etc' if os.path.exists('/etc/passwd') else '-')\n"
        "print('proc' if os.path.exists('/proc/1') else '-')\n"
        f"print('project' if os.path.exists({str(Path.cwd())!r}) else '-')\n"
        f"print('venv' if os.path.exists({sys.prefix!r}) else '-')\n"
    )
    done = subprocess.run(
        ["bwrap", "--unshare-pid", "--tmpfs", "/tmp", "--dev", "/dev", *view, "--"]
        + [python, "-I", "-S", "-c", listing],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = done.stdout.split()
    assert lines[-4:] == ["-", "-", "-", "-"], done.stdout
    assert set(lines[:-4]) <= {"dev", "tmp", "usr", "lib", "lib64", "bin", "root", "opt"}


@pytest.mark.skipif(BWRAP_PROBLEM is not None, reason=str(BWRAP_PROBLEM))
def test_bwrap_works_with_the_interpreter_reached_through_tmp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A virtualenv under /tmp: its python is a link there, and bwrap's private /tmp hides it.
    venv = Path(tempfile.mkdtemp(prefix="venv-", dir="/tmp"))
    try:
        (venv / "bin").mkdir()
        (venv / "bin" / "python").symlink_to(sys.executable)
        monkeypatch.setattr(sys, "executable", str(venv / "bin" / "python"))

        box = Sandbox(SandboxLimits(isolation="bwrap"))  # ConfigError if the probe fails

        assert box.isolation == "bwrap"
        assert box.run("print(6 * 7)").stdout.strip() == "42"
    finally:
        shutil.rmtree(venv)


def test_auto_falling_back_says_so_at_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(Sandbox, "_bwrap_problem", lambda self: "bwrap exited with 1: no")

    with caplog.at_level("WARNING", logger="agent.sandbox"):
        box = Sandbox(SandboxLimits(isolation="auto"))

    assert box.isolation == "rlimit"
    assert box.describe() == "rlimit+seccomp (bwrap exited with 1: no)"
    assert any("WITHOUT namespaces" in r.getMessage() for r in caplog.records)


UNPRIVILEGED_PYTHON = "/usr/bin/python3.11"  # Debian's: readable by every user, unlike /root


@pytest.mark.skipif(os.geteuid() != 0, reason="switches to an unprivileged user with setpriv")
@pytest.mark.skipif(
    not (os.access(UNPRIVILEGED_PYTHON, os.X_OK) and shutil.which("setpriv")),
    reason=f"needs {UNPRIVILEGED_PYTHON} and setpriv",
)
def test_an_unprivileged_service_gets_bwrap_through_user_namespaces(tmp_path: Path) -> None:
    # The sandbox as a service running as nobody would make it: bwrap without privileges
    # (a user namespace), the runner never root. The project's packages from this venv.
    site = next(Path(sys.prefix, "lib").glob("python3.*/site-packages"))
    script = (
        "import json\nfrom agent.sandbox import Sandbox, SandboxLimits\n"
        "box = Sandbox(SandboxLimits(isolation='auto', cpu_seconds=1, wall_seconds=3))\n"
        "runs = [box.run(p) for p in ("
        "'print(6 * 7)', "
        f"{ESCAPES['closure_cell_open']!r}.replace('SECRET_FILE', '/etc/passwd'), "
        f"{ESCAPES['mknod_supports_dir_fd']!r}.replace('ESCAPE', '/tmp/unpriv-node'), "
        "'while True: pass')]\n"
        "print(json.dumps([box.describe(), [(r.status, r.stdout, r.error) for r in runs]]))"
    )
    os.chmod(tmp_path, 0o777)
    done = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        + [UNPRIVILEGED_PYTHON, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": f"{Path.cwd()}:{site}", "PATH": os.environ["PATH"]},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    describe, runs = json.loads(done.stdout.strip().splitlines()[-1])
    if describe.startswith("rlimit"):
        pytest.skip(f"no unprivileged bwrap on this host: {describe}")
    assert describe == "bwrap+seccomp"
    assert runs[0] == ["ok", "42\n", None]
    assert runs[1][0] == "error" and "root:" not in runs[1][1]
    assert runs[2][0] == "error" and not Path("/tmp/unpriv-node").exists()
    assert runs[3][:1] == ["timeout"] and runs[3][2] == "CPU limit"

"""The sandbox against hostile programs: real interpreters, each isolation layer this host has.

Every hostile program must fail and do nothing else: the call returns within the wall limit,
no file appears outside the run's directory, no process outlives the run, no connection
reaches a socket the test listens on. Runs go to a per-test temporary directory, so that a
surviving process is found by that directory in its command line.
"""

from __future__ import annotations

import os
import socket
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
ERRORS = {
    "infinite_loop": "CPU limit",
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
    assert run.error == fill(ERRORS.get(case, run.error))
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

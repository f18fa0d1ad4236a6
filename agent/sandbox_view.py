"""The filesystem a sandboxed program sees under bubblewrap: the interpreter and nothing else.

bubblewrap starts from an empty root. ``interpreter_view`` lists the bind mounts that make the
interpreter start and load the sandbox's modules there, found by asking the interpreter itself
(``_PROBE``, run once per interpreter and module list):

- the standard library directory (``os.__file__``'s), read-only, with its ``site-packages``
  hidden under an empty tmpfs;
- every file the process has mapped once the modules are loaded (the interpreter, libpython,
  libc, libm, libffi, the C.UTF-8 locale...), each bound read-only at its real path, with the
  symbolic links in its directory that point at it (``libz.so.1 -> libz.so.1.2.13``, the names
  the dynamic loader asks for);
- the program interpreter of the executable (``PT_INTERP``, e.g. ``/lib64/ld-linux-x86-64.so.2``)
  with each symbolic link on its way recreated.

Nothing else: no ``/etc``, no ``/proc``, no home, no project tree, no virtualenv. Paths are
resolved with ``realpath`` on this side, so a virtualenv or an interpreter under ``/tmp`` (which
the sandbox replaces with a private tmpfs) or behind a symbolic link is found all the same.
"""

from __future__ import annotations

import functools
import json
import os
import struct
import subprocess

__all__ = ["ViewError", "interpreter_view", "real_interpreter"]

# Run by the interpreter itself (no site, no user paths): load what the runner loads, then say
# which files are mapped and where the standard library is.
_PROBE = """
import json, os, sys
for name in filter(None, sys.argv[1].split(",")):
    __import__(name)
import ctypes
files = set()
with open("/proc/self/maps") as maps:
    for line in maps:
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].startswith("/"):
            files.add(fields[5].rstrip("\\n").removesuffix(" (deleted)"))
print(json.dumps({"stdlib": os.path.dirname(os.__file__), "files": sorted(files)}))
"""
_PT_INTERP = 3


class ViewError(RuntimeError):
    """The interpreter's view could not be worked out (the probe failed)."""


def real_interpreter(executable: str) -> str:
    """The interpreter file itself: a virtualenv's ``bin/python`` is a link to it."""
    return os.path.realpath(executable)


@functools.cache
def interpreter_view(executable: str, preload: str) -> tuple[str, ...]:
    """bwrap arguments exposing what ``executable`` needs to start and import ``preload``.

    Args:
        executable: The interpreter, as it will be run (a real path: ``real_interpreter``).
        preload: Comma-separated modules the runner imports before the program.

    Raises:
        ViewError: The probe did not run.
    """
    try:
        done = subprocess.run(
            [executable, "-I", "-S", "-B", "-c", _PROBE, preload],
            capture_output=True,
            timeout=60,
            check=True,
            env={"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"},
        )
        probed = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as ex:
        raise ViewError(f"could not probe {executable}: {ex}") from ex
    stdlib = os.path.realpath(probed["stdlib"])
    args = ["--ro-bind", stdlib, stdlib]
    site = os.path.join(stdlib, "site-packages")
    if os.path.isdir(site):
        args += ["--tmpfs", site, "--remount-ro", site]
    seen: set[str] = set()
    for path in [executable, *_program_interpreter(executable), *probed["files"]]:
        real = os.path.realpath(path)
        if real.startswith(stdlib + os.sep):
            continue  # under the bound standard library already
        _expose(path, args, seen)
        for link in _links_to(real):
            _expose(link, args, seen)
    return tuple(args)


def _expose(path: str, args: list[str], seen: set[str]) -> None:
    """Append what makes ``path`` resolve inside as it does here: links recreated, file bound."""
    parts = [p for p in path.split("/") if p]
    current = "/"
    for i, part in enumerate(parts):
        step = os.path.join(current, part)
        if os.path.islink(step):
            target = os.readlink(step)
            if step not in seen:
                seen.add(step)
                args += ["--symlink", target, step]
            rest = os.path.join(os.path.dirname(step), target, *parts[i + 1 :])
            _expose(os.path.normpath(rest), args, seen)
            return
        current = step
    if current not in seen:
        seen.add(current)
        args += ["--ro-bind", current, current]


@functools.cache
def _links_by_target(directory: str) -> dict[str, tuple[str, ...]]:
    """The symbolic links in ``directory``, grouped by the real path they lead to."""
    links: dict[str, list[str]] = {}
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return {}
    for entry in entries:
        if entry.is_symlink():
            links.setdefault(os.path.realpath(entry.path), []).append(entry.path)
    return {target: tuple(sorted(paths)) for target, paths in links.items()}


def _links_to(real: str) -> tuple[str, ...]:
    return _links_by_target(os.path.dirname(real)).get(real, ())


def _program_interpreter(executable: str) -> list[str]:
    """The ELF ``PT_INTERP`` path of ``executable`` (its dynamic loader), if it has one."""
    try:
        with open(executable, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit ELF only; else no loader bound
                return []
            order = "<" if head[5] == 1 else ">"
            (phoff,) = struct.unpack_from(order + "Q", head, 32)
            phentsize, phnum = struct.unpack_from(order + "HH", head, 54)
            for i in range(phnum):
                f.seek(phoff + i * phentsize)
                kind, _, offset, _, _, size = struct.unpack(order + "IIQQQQ", f.read(40))
                if kind == _PT_INTERP:
                    f.seek(offset)
                    return [f.read(size).rstrip(b"\0").decode()]
    except (OSError, struct.error, UnicodeDecodeError):
        pass
    return []

"""Starting untrusted code: a memory limit, its own namespaces where Linux allows them, and nothing it
starts outliving it.

Each process that runs a submission's code (the notebook's kernel, the worker that defines and calls
the student's functions) is started by `spawn`:
- `RLIMIT_DATA` caps its memory. Not `RLIMIT_AS`: importing torch alone maps about 3.5 GB of address
  space that it never uses, so an address-space limit low enough to matter stops `import torch`;
  RLIMIT_DATA counts the heap and private writable mappings, which is where tensors live.
  `RLIMIT_FSIZE` caps any file it writes at the same size; no core dumps.
- where unprivileged user namespaces work (`unshare`), it runs in new user, PID, mount and network
  namespaces: it sees no other process (so it cannot signal or trace the grader), has no network, and
  when its namespace's first process dies, the kernel kills everything else inside.
- it dies with the process that started it (`PR_SET_PDEATHSIG`), and in its own session, which `kill`
  ends as a whole.
The grader's own processes call `make_private()`: other processes of the same user can then neither
trace them nor read their memory or open their files through /proc.
"""
from __future__ import annotations

import ctypes
import functools
import os
import re
import resource
import shutil
import signal
import subprocess

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here, not in a preexec_fn (which must not import)
NAMESPACES = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--kill-child", "--mount-proc", "--net"]
_UNITS = {"": 1, "k": 2 ** 10, "m": 2 ** 20, "g": 2 ** 30, "t": 2 ** 40}


def parse_memory(text: str | int | None) -> int | None:
    """'4G', '512M', '1.5GiB' or a number of bytes -> bytes; '0' or 'none' -> None (no limit)."""
    if text is None or str(text).strip().lower() in {"0", "none", "unlimited"}:
        return None
    m = re.fullmatch(r"\s*([0-9.]+)\s*([kmgt]?)(?:i?b)?\s*", str(text).lower())
    if not m:
        raise ValueError(f"memory limit {text!r}: expected a size such as 4G, 512M or 2.5GiB")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def describe_memory(limit: int | None) -> str:
    if limit is None:
        return "no limit"
    for unit in "TGMk":
        if limit >= _UNITS[unit.lower()]:
            return f"{limit / _UNITS[unit.lower()]:g}{unit}"
    return f"{limit} bytes"


@functools.lru_cache(maxsize=None)
def namespaces_available() -> bool:
    """True where `unshare` can make the namespaces without privileges (not in every container)."""
    if shutil.which(NAMESPACES[0]) is None:
        return False
    try:
        return subprocess.run([*NAMESPACES, "true"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def make_private() -> None:
    """This process: not traceable, its memory and /proc entries closed to other processes of this user."""
    _LIBC.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def _limits(memory: int | None):
    def apply():  # runs in the child between fork and exec: system calls only
        if memory:
            resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
            resource.setrlimit(resource.RLIMIT_FSIZE, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return apply


def command(cmd: list[str], isolate: bool) -> list[str]:
    """`cmd`, inside fresh namespaces when `isolate`."""
    return [*NAMESPACES, *cmd] if isolate else list(cmd)


def popen_options(memory: int | None) -> dict:
    """What Popen needs to start a process with the limits above, in its own session."""
    return {"preexec_fn": _limits(memory), "start_new_session": True}


def spawn(cmd: list[str], *, memory: int | None, isolate: bool, **kwargs) -> subprocess.Popen:
    """Start `cmd` with the memory limit, in its own session (and namespaces when `isolate`)."""
    return subprocess.Popen(command(cmd, isolate), **popen_options(memory), **kwargs)


def kill(proc: subprocess.Popen | None) -> None:
    """End `proc`'s whole session now (its namespace with it), and reap it."""
    if proc is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
        proc.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        pass

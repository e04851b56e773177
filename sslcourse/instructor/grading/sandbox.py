"""Starting untrusted code: in a bubblewrap sandbox, in its submission's cgroup, with per-process limits,
and nothing it starts outliving it.

Each process that runs a submission's code (the notebook's kernel, the worker that defines and calls
the student's functions) is started by `spawn` or `command`, with a `box` (a plain dict, see `box`):
- bubblewrap (`bwrap`, Debian's `bubblewrap`) gives it its own user, PID, network, IPC, UTS and cgroup
  namespaces: no network, no other process in sight (it cannot signal or trace the grader or a sibling),
  and when it ends the kernel kills everything it started, a detached daemon included
  (`--die-with-parent` when its parent goes). Its view of the files: the kernel sees the system and the
  course read-only, the grader's scratch folders (its siblings' copies), the submissions and the sheet
  hidden, and writes only to private memory-backed folders (its working folder, `/tmp`, `/dev/shm`),
  each no larger than its memory limit; the worker sees only the system, Python's packages and a copy
  of `sslcourse` in which the graded exercises' references and the checkers are stubs (`view`).
- the submission's cgroup (`cgroup.Group`) caps the memory of all its processes together, shared memory
  and those memory-backed files included, and their number (no fork bomb); `Group.end` kills them all,
  and a submission that ran into either limit (`Group.exceeded`) scores 0 (`scored_zero` says why).
- `RLIMIT_DATA` caps each process's heap (a clear MemoryError before the cgroup's kill; not `RLIMIT_AS`:
  importing torch alone maps about 3.5 GB of address space it never uses); `RLIMIT_FSIZE` any file it
  writes; no core dumps; `PR_SET_PDEATHSIG`: it dies with the process that started it.
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
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
LINUX = sys.platform.startswith("linux")
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here, not in a preexec_fn (which must not import)
DISK_WITHOUT_MEMORY_LIMIT = 2 << 30  # the size of each private folder when --memory 0
_SYSTEM = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/sys"]
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}

UNISOLATED = (
    "NOT ISOLATED (--isolation none): the submissions ran with your rights, files and network; "
    "use it only for submissions you trust"
)


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


def over_limit(hit) -> str:
    """One limit (a `cgroup.Exceeded`) a submission's processes ran into, in words: which, its value, what
    the kernel did about it."""
    if hit.limit == "memory":
        return (
            f"its memory limit ({describe_memory(hit.value)} for all its processes together, shared memory and "
            f"files in its memory-backed folders included): the out-of-memory killer ended {hit.times} of them"
        )
    return (
        f"its process limit ({hit.value} processes and threads at once): {hit.times} of its attempts to start "
        "another failed"
    )


def scored_zero(hits: list) -> str:
    """The row's note for a submission that ran into its limits, which scores it 0 (a fork bomb or a memory
    flood is an attack on the grader, and what it earned before does not count)."""
    note = f"scored 0 because it exceeded {'; and '.join(map(over_limit, hits))}"
    if any(h.limit == "memory" for h in hits):
        note += "; if the submission is honest, grade it again with a larger --memory"
    return note


@functools.cache
def problem() -> str | None:
    """Why submissions cannot be isolated here (None: they can), and what to do about it."""
    from sslcourse.instructor.grading import cgroup

    if not LINUX:
        return (
            f"isolating submissions needs Linux (bubblewrap, cgroups); this is {sys.platform}. Grade on a Linux "
            "machine, or pass --isolation none for submissions you trust"
        )
    if shutil.which("bwrap") is None:
        return (
            "bubblewrap is not installed (the `bwrap` command): `sudo apt-get install bubblewrap` (Debian, "
            "Ubuntu) or `sudo dnf install bubblewrap` (Fedora); or pass --isolation none for submissions you trust"
        )
    try:
        test = subprocess.run(
            ["bwrap", *_common(2 << 20), "--ro-bind", "/", "/", "true"], capture_output=True, text=True, timeout=30
        )
        why = test.stderr.strip().splitlines()[-1] if test.returncode else None
    except (OSError, subprocess.SubprocessError) as err:
        why = str(err)
    if why:
        return (
            f"bubblewrap cannot make a sandbox here ({why}): unprivileged user namespaces may be disabled "
            "(e.g. sysctl kernel.unprivileged_userns_clone=0, or an AppArmor rule); allow them, or pass "
            "--isolation none for submissions you trust"
        )
    missing = cgroup.problem()
    return f"{missing}; or pass --isolation none for submissions you trust" if missing else None


def _common(size: int) -> list[str]:
    """What every sandbox has: its own namespaces (no network), fresh /dev, /proc, /tmp and /dev/shm."""
    return [
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--size",
        str(size),
        "--tmpfs",
        "/tmp",
        "--size",
        str(size),
        "--tmpfs",
        "/dev/shm",
    ]


def _python_paths(package: Path) -> list[Path]:
    """The folders the worker's Python needs: its prefixes and its import path, except the checkout itself."""
    found = [Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parent.parent]
    for entry in sys.path:
        p = Path(entry or ".").absolute()
        if p.is_dir() and not (package == p or package.is_relative_to(p)):
            found.append(p)
    return list(dict.fromkeys(found))


_PRIVATE = [Path("/tmp"), Path("/dev/shm")]  # the folders every sandbox gets fresh (see _common)


def _editable_targets() -> list[Path]:
    """Where the packages installed in editable mode live (PEP 610's direct_url.json)."""
    import importlib.metadata
    import json
    from urllib.parse import unquote, urlparse

    found = []
    for dist in importlib.metadata.distributions():
        try:
            url = json.loads(dist.read_text("direct_url.json") or "{}")
        except (ValueError, OSError):
            continue
        if url.get("dir_info", {}).get("editable") and url.get("url", "").startswith("file:"):
            found.append(Path(unquote(urlparse(url["url"]).path)))
    return found


def kernel_paths(course: list[Path]) -> list[str]:
    """What the kernel must see that its fresh /tmp and /dev/shm would hide: the interpreter (its prefixes, its
    import path, the real folders behind them, editable installs) and `course` (the checkout, its data), when
    any of them lives under one of those folders. The kernel's sandbox binds them read-only over its fresh
    folders (the worker's binds its Python the same way; the submission still writes only to its own /tmp)."""
    wanted = [*_python_paths(Path("/nonexistent")), *_editable_targets(), *course]
    found = []
    for p in wanted:
        for q in (p.absolute(), Path(os.path.realpath(p))):
            if q.exists() and any(q == d or q.is_relative_to(d) for d in _PRIVATE) and q not in _PRIVATE:
                found.append(str(q))
    return list(dict.fromkeys(found))


def bwrap(cmd: list[str], box: dict, *, role: str, chdir: str, writable: tuple = ()) -> list[str]:
    """`cmd` inside bubblewrap. role 'kernel': the system and the course read-only, the scratch folders, the
    submissions and the sheet hidden, `chdir` a private memory-backed folder; 'worker': only the system, Python
    and the stubbed package view, in /tmp. `writable`: folders bound read-write (the kernel's sockets)."""
    size = box["memory"] or DISK_WITHOUT_MEMORY_LIMIT
    package = Path(box["package"])
    if role == "kernel":
        args = ["--ro-bind", "/", "/", *_common(size)]
        for p in box.get("shown", ()):  # a venv or checkout under /tmp: shown again, read-only (`kernel_paths`)
            args += ["--ro-bind", p, p]
        args += ["--tmpfs", box["scratch_root"]]
        for hidden in box["hide"]:
            if os.path.isfile(hidden):
                args += ["--ro-bind", "/dev/null", hidden]
        args += ["--size", str(size), "--tmpfs", chdir]
        args += ["--unsetenv", "JPY_PARENT_PID"]  # its parent here is the sandbox's init: ipykernel would quit
    else:
        args = [a for d in _SYSTEM for a in ("--ro-bind-try", d, d)] + _common(size)
        for p in _python_paths(package):
            args += ["--ro-bind", str(p), str(p)]
            if (p / package.name).is_dir() and p / package.name != package:  # an installed copy: the view too
                args += ["--ro-bind", box["view"], str(p / package.name)]
        args += ["--ro-bind", box["view"], str(package)]
    for folder in writable:
        args += ["--bind", folder, folder]
    return ["bwrap", *args, "--chdir", chdir, "--", *cmd]


def make_private() -> None:
    """This process: not traceable, its memory and /proc entries closed to other processes of this user."""
    if LINUX:
        _LIBC.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def _limits(memory: int | None, group):
    def apply():  # runs in the child between fork and exec: system calls only
        if group is not None:
            group.enter()
        if memory:
            resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
            resource.setrlimit(resource.RLIMIT_FSIZE, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if LINUX:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return apply


def popen_options(box: dict | None, memory: int | None) -> dict:
    """What Popen needs to start a process with the limits above, in its submission's cgroup, in its own session."""
    return {"preexec_fn": _limits(memory, box and box.get("group")), "start_new_session": True}


def spawn(cmd: list[str], *, memory: int | None, box: dict | None, **kwargs) -> subprocess.Popen:
    """Start the worker `cmd` with the limits, in its own session, sandboxed when `box` (None: no isolation)."""
    if box is not None:
        cmd = bwrap(cmd, box, role="worker", chdir="/tmp")
    return subprocess.Popen(cmd, **popen_options(box, memory), **kwargs)


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

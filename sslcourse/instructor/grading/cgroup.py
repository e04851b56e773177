"""One control group per submission: a limit on the memory of all its processes together and on how many
there are, a way to end every one of them, and the kernel's word on whether they ran into those limits.

The kernel counts against a cgroup's memory what its processes use, shared memory (`/dev/shm`, `memfd`,
shared mappings) and files in memory-backed folders (the sandbox's tmpfs) included, which per-process
limits (`RLIMIT_DATA`) never see; its process limit stops a fork bomb; and listing its members finds every
process a submission started, however it detached itself. Both cgroup versions:
- v2 (one hierarchy at /sys/fs/cgroup): the groups go below this process's own cgroup when it is delegated
  to it (`systemd-run --user --scope -p Delegate=yes ...`: this process alone in it, the memory and pids
  controllers available), this process moving into a leaf of its own first (a cgroup with processes
  cannot hand controllers down); else, for root, below the hierarchy's root;
- v1 (the `memory` and `pids` hierarchies, writable by root): one group in each, below this process's own.

Which limit a group ran into (`Group.exceeded`), from its counters: the out-of-memory killer ended one of
its processes while the group was at its own memory limit (v2 `memory.events`: oom_kill and oom; v1
`memory.oom_control`'s oom_kill, Linux 4.13 and later, with the peak usage at the limit: recent kernels
leave v1's `memory.failcnt` at 0), or starting a process failed at its process limit (`pids.events`: max).
A process killed because the whole machine ran out of memory, the group below its limit, is not the
submission's doing and is not counted.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
SELF = Path("/proc/self/cgroup")  # which cgroup this process is in, per hierarchy
PIDS_MAX = 512  # threads count too: a kernel and a worker with torch's threads use about 60
_CONTROLLERS = ("memory", "pids")
_NEAR = 16 << 20  # v1: a peak this close to the limit reached it (the charge that failed was a page, or 2M)
_HOW_TO = (
    "run the grader as root, or in a cgroup v2 delegated to it "
    "(`systemd-run --user --scope -p Delegate=yes python -m sslcourse grade ...`)"
)


def _new_cgroup(path: Path) -> None:
    """Create a cgroup: in cgroupfs, mkdir (the kernel fills the folder with its interface files)."""
    path.mkdir()


def _remove_cgroup(path: Path) -> None:
    """Remove an empty cgroup: in cgroupfs, rmdir (its interface files go with it)."""
    path.rmdir()


def _own(hierarchy: str) -> Path | None:
    """This process's cgroup in `hierarchy` ('' for v2, else a v1 controller name), from /proc/self/cgroup."""
    try:
        lines = SELF.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if hierarchy in controllers.split(",") if hierarchy else controllers == "":
            base = ROOT if not hierarchy else ROOT / hierarchy
            return base / path.lstrip("/")
    return None


def _words(path: Path) -> set[str]:
    try:
        return set(path.read_text().split())
    except OSError:
        return set()


@functools.cache
def _v2() -> tuple[Path | None, str]:
    """(a v2 cgroup whose children get the memory and pids controllers, '') or (None, why there is none).
    Decided once: it may move this process into a leaf below its own cgroup."""
    if not (ROOT / "cgroup.controllers").is_file():
        return None, f"no cgroup v2 hierarchy at {ROOT}"
    own = _own("")
    if own is None or not own.is_dir():
        return None, f"this process's cgroup v2 ({own}) is not under {ROOT}"
    wanted = set(_CONTROLLERS)
    if wanted <= _words(own / "cgroup.subtree_control"):
        return own, ""
    why = ""
    if not wanted <= _words(own / "cgroup.controllers"):
        missing = sorted(wanted - _words(own / "cgroup.controllers"))
        what = "controllers are" if len(missing) > 1 else "controller is"
        why = f"the {' and '.join(missing)} {what} not delegated to its cgroup {own}"
    elif _words(own / "cgroup.procs") != {str(os.getpid())}:
        why = f"its cgroup {own} holds other processes too (a delegated cgroup holds the grader alone)"
    else:
        try:  # a delegated cgroup of our own: move this process into a leaf, then hand the controllers down
            leaf = own / "sslcourse-grader"
            if not leaf.is_dir():
                _new_cgroup(leaf)
            (leaf / "cgroup.procs").write_text(str(os.getpid()))
            (own / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in sorted(wanted)))
            return own, ""
        except OSError as err:
            why = f"its cgroup {own} is not delegated to it ({err.strerror})"
    # root may make groups at the top, where systemd has the controllers enabled already
    if os.geteuid() == 0 and wanted <= _words(ROOT / "cgroup.subtree_control") and os.access(ROOT, os.W_OK):
        return ROOT, ""
    return None, why


def problem() -> str | None:
    """Why per-submission limits cannot be set here (None: they can), and what to do about it."""
    parent, why = _v2()
    if parent is not None:
        return None
    if (ROOT / "cgroup.controllers").is_file():  # v2, and nowhere to make groups
        if os.geteuid() == 0:  # root already: telling it to run as root would not help
            handed = " ".join(sorted(_words(ROOT / "cgroup.subtree_control"))) or "none"
            return (
                f"cgroup v2 here, but no cgroup to limit a submission's memory and processes in: {why}; even as "
                f"root, {ROOT} hands down only these controllers: {handed} (a container without a delegated cgroup?). "
                "Grade on a machine or VM whose cgroup hands down memory and pids, or start the container with its "
                "own writable cgroup (for example Docker's --cgroupns=private on a cgroup v2 host); "
                "`--isolation none` grades anyway, for submissions you trust"
            )
        return f"cgroup v2 here, but no cgroup to limit a submission's memory and processes in: {why}; {_HOW_TO}"
    mem, pids = _own("memory"), _own("pids")
    if mem is not None and pids is not None:
        for d in (mem, pids):
            probe = d / f"sslcourse-probe-{os.getpid()}"
            try:
                _new_cgroup(probe)
                _remove_cgroup(probe)
            except OSError as err:
                return f"cannot create a cgroup under {d} ({err.strerror}); {_HOW_TO}"
        return None
    return f"no cgroup to limit a submission's memory and processes in; {_HOW_TO}"


@dataclass(frozen=True)
class Exceeded:
    """A limit the group's processes ran into: 'memory' (bytes; `times` processes the out-of-memory killer
    ended) or 'processes' (tasks at once; `times` starts that failed)."""

    limit: str
    value: int
    times: int


def _counters(path: Path) -> dict[str, int]:
    """A flat-keyed cgroup file ('oom_kill 2' lines) as numbers; {} when it is not there."""
    found = {}
    for line in path.read_text().splitlines() if path.is_file() else []:
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            found[key] = int(value)
    return found


def _number(path: Path) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


class Group:
    """The cgroup of one submission: `memory` bytes (None: no limit) and PIDS_MAX tasks, for its processes
    all together. `enter()` (in a child before exec) puts a process in it; `end()` kills every member;
    `exceeded()` says which limits they ran into; `remove()` (once it is empty) deletes it."""

    def __init__(self, name: str, memory: int | None):
        self.memory, self.version = memory, 2
        parent, why = _v2()
        if parent is not None:
            self.dirs = [parent / name]
            settings = {"pids.max": PIDS_MAX, "memory.swap.max": 0}
            if memory:
                settings["memory.max"] = memory
        elif (ROOT / "cgroup.controllers").is_file():
            raise OSError(f"cannot make a cgroup for {name}: {why}; {_HOW_TO}")
        else:
            self.version, mem, pids = 1, _own("memory"), _own("pids")
            if mem is None or pids is None:
                raise OSError(f"cannot make a cgroup for {name}: no v1 memory and pids hierarchies; {_HOW_TO}")
            self.dirs = [mem / name, pids / name]
            settings = {"pids.max": PIDS_MAX}
            if memory:
                settings.update({"memory.limit_in_bytes": memory, "memory.memsw.limit_in_bytes": memory})
        # Fail closed: a limit whose file is missing (its controller not enabled) would be no limit at all.
        # Swap is the exception: without swap accounting there is no swap file to limit, and none to use.
        optional, made = {"memory.swap.max", "memory.memsw.limit_in_bytes"}, []
        try:
            for d in self.dirs:
                _new_cgroup(d)
                made.append(d)
            for key, value in settings.items():  # memsw after the plain limit: it may never be below it
                where = [d for d in self.dirs if (d / key).exists()]
                if not where and key not in optional:
                    raise OSError(
                        f"cannot limit {name}: no {key} in {' or '.join(map(str, self.dirs))} (is the "
                        f"{key.split('.')[0]} controller enabled for it?); {_HOW_TO}"
                    )
                for d in where:
                    (d / key).write_text(str(value))
        except OSError:
            for d in made:  # none of it left behind
                with contextlib.suppress(OSError):
                    _remove_cgroup(d)
            raise
        self._procs = [str(d / "cgroup.procs") for d in self.dirs]

    def enter(self) -> None:
        """Put the calling process in the group (between fork and exec: system calls only), as
        `echo PID >> cgroup.procs` does."""
        pid = f"{os.getpid()}\n".encode()
        for path in self._procs:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)

    def members(self) -> list[int]:
        found = set()
        for path in self._procs:
            try:
                found.update(int(p) for p in Path(path).read_text().split())
            except OSError:
                pass
        return sorted(found)

    def end(self, wait_s: float = 10.0) -> bool:
        """Kill every process in the group and wait until none is left; True when none is. v2 kernels from
        5.14 kill the whole group at once (`cgroup.kill`); otherwise one by one, again until no fork slips
        through (the process limit bounds how many there can be)."""
        kill = self.dirs[0] / "cgroup.kill"
        deadline = time.monotonic() + wait_s
        while True:
            members = self.members()
            if not members:
                return True
            if time.monotonic() > deadline:
                return False
            if kill.exists():
                kill.write_text("1")
            for pid in members:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

    def exceeded(self) -> list[Exceeded]:
        """The limits its processes ran into so far (see the module's docstring); read it before `remove()`."""
        hits = []
        if self.version == 2:
            memory, pids = _counters(self.dirs[0] / "memory.events"), self.dirs[0]
            at_limit = memory.get("oom", 0) > 0
        else:
            memory, pids = _counters(self.dirs[0] / "memory.oom_control"), self.dirs[1]
            at_limit = self.memory and any(
                _number(self.dirs[0] / f"memory.{kind}failcnt") > 0  # not kept by every kernel (6.x: 0)
                or _number(self.dirs[0] / f"memory.{kind}max_usage_in_bytes") + _NEAR >= self.memory
                for kind in ("", "memsw.")
            )
        if self.memory and at_limit and memory.get("oom_kill", 0) > 0:
            hits.append(Exceeded("memory", self.memory, memory["oom_kill"]))
        refused = _counters(pids / "pids.events").get("max", 0)
        # pids.events counts a start refused by any limit above too; its peak, where the kernel keeps one,
        # tells whether this group was at its own
        peak = _number(pids / "pids.peak") if (pids / "pids.peak").is_file() else PIDS_MAX
        if refused and peak >= PIDS_MAX:
            hits.append(Exceeded("processes", PIDS_MAX, refused))
        return hits

    def remove(self) -> None:
        for d in self.dirs:
            with contextlib.suppress(OSError):
                _remove_cgroup(d)

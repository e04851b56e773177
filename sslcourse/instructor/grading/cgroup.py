"""One control group per submission: a limit on the memory of all its processes together and on how many
there are, and a way to end every one of them.

The kernel counts against a cgroup's memory what its processes use, shared memory (`/dev/shm`, `memfd`,
shared mappings) and files in memory-backed folders (the sandbox's tmpfs) included, which per-process
limits (`RLIMIT_DATA`) never see; its process limit stops a fork bomb; and listing its members finds every
process a submission started, however it detached itself. Both cgroup versions: v2 (one hierarchy, a
delegated subtree: root, or `systemd-run --user --scope -p Delegate=yes`), v1 (the `memory` and `pids`
hierarchies, writable by root).
"""

from __future__ import annotations

import functools
import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PIDS_MAX = 512  # threads count too: a kernel and a worker with torch's threads use about 60


def _own(hierarchy: str) -> Path | None:
    """This process's cgroup in `hierarchy` ('' for v2, else a v1 controller name), from /proc/self/cgroup."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers.split(",") == [hierarchy] if hierarchy else controllers == "":
            base = ROOT if not hierarchy else ROOT / hierarchy
            return base / path.lstrip("/")
    return None


@functools.cache
def _v2_parent() -> Path | None:
    """A v2 cgroup whose children get the memory and pids controllers, or None. Decided once: it may move this
    process into a leaf below it (a cgroup with processes of its own cannot hand controllers down)."""
    if not (ROOT / "cgroup.controllers").is_file():
        return None
    own = _own("")
    if own is None or not own.is_dir():
        return None
    wanted = {"memory", "pids"}
    if wanted <= set((own / "cgroup.subtree_control").read_text().split()):
        return own
    try:  # a delegated cgroup of our own: move this process into a leaf, then hand the controllers down
        if set((own / "cgroup.procs").read_text().split()) != {str(os.getpid())}:
            return None
        leaf = own / "sslcourse-grader"
        leaf.mkdir(exist_ok=True)
        (leaf / "cgroup.procs").write_text(str(os.getpid()))
        (own / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in sorted(wanted)))
        return own
    except OSError:
        return None


def problem() -> str | None:
    """Why per-submission limits cannot be set here (None: they can)."""
    if _v2_parent() is not None:
        return None
    mem, pids = _own("memory"), _own("pids")
    if mem is not None and pids is not None:
        try:
            for d in (mem, pids):
                probe = d / f"sslcourse-probe-{os.getpid()}"
                probe.mkdir()
                probe.rmdir()
            return None
        except OSError as err:
            return f"cannot create a cgroup under {d} ({err.strerror})"
    return (
        "no cgroup to limit a submission's memory and processes: run the grader as root, or in a delegated "
        "cgroup v2 (`systemd-run --user --scope -p Delegate=yes python -m sslcourse grade ...`)"
    )


class Group:
    """The cgroup of one submission: `memory` bytes (None: no limit) and PIDS_MAX tasks, for its processes
    all together. `enter()` (in a child before exec) puts a process in it; `end()` kills every member."""

    def __init__(self, name: str, memory: int | None):
        parent = _v2_parent()
        if parent is not None:
            self.dirs = [parent / name]
            settings = {"pids.max": PIDS_MAX, "memory.swap.max": 0}
            if memory:
                settings["memory.max"] = memory
        else:
            self.dirs = [_own("memory") / name, _own("pids") / name]
            settings = {"pids.max": PIDS_MAX}
            if memory:
                settings.update({"memory.limit_in_bytes": memory, "memory.memsw.limit_in_bytes": memory})
        for d in self.dirs:
            d.mkdir()
        for key, value in settings.items():  # memsw after the plain limit: it may never be below it
            for d in self.dirs:
                if (d / key).exists():
                    (d / key).write_text(str(value))
        self._procs = [str(d / "cgroup.procs") for d in self.dirs]

    def enter(self) -> None:
        """Put the calling process in the group (between fork and exec: system calls only)."""
        pid = str(os.getpid()).encode()
        for path in self._procs:
            fd = os.open(path, os.O_WRONLY)
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
        """Kill every process in the group and wait until none is left; True when none is."""
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
            for pid in members:  # v1: one by one, again until no fork slips through
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

    def remove(self) -> None:
        for d in self.dirs:
            try:
                d.rmdir()
            except OSError:
                pass

"""The grader's cgroups (sslcourse/instructor/grading/cgroup.py) against a fake cgroup tree in a temporary folder.

The machines the suite runs on have one cgroup version (CI: v1 as root), so the other path would never run.
Here `FakeCgroups` stands in for /sys/fs/cgroup and /proc/self/cgroup, v2 or v1: creating a group fills its
folder with the interface files the kernel would show (those of the controllers its parent hands down),
removing one removes them, and, while `running()`, a killed member leaves `cgroup.procs` as it would, and a
write to `cgroup.kill` kills every member. The processes put in the groups are real (`sleep`), started through
`Group.enter` as the grader starts a kernel, so the tests see what the grader writes, where, and that
`Group.end` leaves nothing running. What the kernel alone decides (that a limit holds) the real-cgroup tests
in test_grade.py check, on the version the machine has.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from sslcourse.instructor.grading import batch, cgroup, sandbox
from sslcourse.instructor.grading import exercises as ex

SCOPE = "user.slice/user-1000.slice/user@1000.service/app.slice/run-u7.scope"  # where systemd-run --scope puts us
V1_OWN = "user.slice/session-3.scope"

V2_CONTROLLER_FILES = {
    "memory": {
        "memory.max": "max\n",
        "memory.swap.max": "max\n",
        "memory.peak": "0\n",
        "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
    },
    "pids": {"pids.max": "max\n", "pids.peak": "0\n", "pids.events": "max 0\n"},
}
V1_FILES = {
    "memory": {
        "memory.limit_in_bytes": "9223372036854771712\n",
        "memory.memsw.limit_in_bytes": "9223372036854771712\n",
        "memory.failcnt": "0\n",
        "memory.memsw.failcnt": "0\n",
        "memory.max_usage_in_bytes": "0\n",
        "memory.memsw.max_usage_in_bytes": "0\n",
        "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
    },
    "pids": {"pids.max": "max\n", "pids.peak": "0\n", "pids.events": "max 0\n"},
}


def _alive(pid: int) -> bool:
    """Running, not a zombie: what the kernel keeps in cgroup.procs."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class FakeCgroups:
    """A cgroup tree under `root` (see the module's docstring); `version` 2 or 1."""

    def __init__(self, root: Path, version: int, kill_file: bool = True):
        self.root, self.version, self.kill_file = root, version, kill_file
        self.missing: set[str] = set()  # interface files the "kernel" leaves out (a controller not enabled)
        self.removed: list[Path] = []

    # the kernel's side of mkdir and rmdir
    def mkdir(self, path: Path) -> None:
        path.mkdir()
        files = {"cgroup.procs": ""}
        if self.version == 2:
            handed_down = self.controllers(path.parent)
            files |= {"cgroup.controllers": " ".join(sorted(handed_down)) + "\n", "cgroup.subtree_control": ""}
            if self.kill_file:
                files["cgroup.kill"] = ""
            for controller in handed_down & set(V2_CONTROLLER_FILES):
                files |= V2_CONTROLLER_FILES[controller]
        else:
            files |= V1_FILES[path.relative_to(self.root).parts[0]]
        for name, text in files.items():
            if name not in self.missing:
                (path / name).write_text(text)

    def rmdir(self, path: Path) -> None:
        if any(p.is_dir() for p in path.iterdir()):
            raise OSError(16, "Device or resource busy")  # a cgroup with children stays
        if Path(path / "cgroup.procs").read_text().split():
            raise OSError(16, "Device or resource busy")  # so does one with processes
        shutil.rmtree(path)
        self.removed.append(path)

    @staticmethod
    def controllers(folder: Path) -> set[str]:
        """What a v2 folder hands down to its children (`+memory` as written, `memory` as the kernel shows it)."""
        return {c.lstrip("+") for c in (folder / "cgroup.subtree_control").read_text().split()}

    def group(self, path: str, controllers: str = "", subtree: str = "", procs: str = "") -> Path:
        """A cgroup that exists already (systemd's), made by hand."""
        folder = self.root / path
        folder.mkdir(parents=True)
        for name, text in {
            "cgroup.procs": procs,
            "cgroup.controllers": controllers,
            "cgroup.subtree_control": subtree,
        }.items():
            (folder / name).write_text(text)
        return folder

    @contextlib.contextmanager
    def running(self):
        """The kernel at work: `cgroup.kill` kills every member, and a member that is gone leaves the group."""
        stop = threading.Event()

        def kernel():
            while not stop.is_set():
                for procs in self.root.rglob("cgroup.procs"):
                    try:
                        pids = [int(p) for p in procs.read_text().split()]
                        kill = procs.parent / "cgroup.kill"
                        if kill.is_file() and kill.read_text().strip() == "1":
                            for pid in pids:
                                os.kill(pid, signal.SIGKILL)
                        left = [p for p in pids if _alive(p)]
                        if left != pids:  # only then: a write here could lose a member appended meanwhile
                            procs.write_text("".join(f"{p}\n" for p in left))
                    except (OSError, ValueError):
                        pass  # removed meanwhile, or half written
                time.sleep(0.01)

        thread = threading.Thread(target=kernel, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(5)


def _fake(tmp_path, monkeypatch, version: int, own_cgroup: str, **kwargs) -> FakeCgroups:
    fs = FakeCgroups(tmp_path / "cgroup", version, **kwargs)
    fs.root.mkdir()
    proc_self = tmp_path / "proc-self-cgroup"
    if version == 2:
        (fs.root / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma misc\n")
        (fs.root / "cgroup.subtree_control").write_text("cpu io memory pids\n")
        proc_self.write_text(f"0::/{own_cgroup}\n")
    else:
        for hierarchy in ("memory", "pids"):
            (fs.root / hierarchy).mkdir()
        proc_self.write_text(f"12:pids:/{own_cgroup}\n4:memory:/{own_cgroup}\n1:name=systemd:/{own_cgroup}\n0::/\n")
    monkeypatch.setattr(cgroup, "ROOT", fs.root)
    monkeypatch.setattr(cgroup, "SELF", proc_self)
    monkeypatch.setattr(cgroup, "_new_cgroup", fs.mkdir)
    monkeypatch.setattr(cgroup, "_remove_cgroup", fs.rmdir)
    cgroup._v2.cache_clear()  # decided once per process: here, once per fake
    return fs


@pytest.fixture
def fresh_decision():
    cgroup._v2.cache_clear()
    yield
    cgroup._v2.cache_clear()  # the real machine's answer again for the tests after


def _sleeper(group: cgroup.Group) -> subprocess.Popen:
    """A process put in `group` as the grader puts a kernel there: between fork and exec."""
    return subprocess.Popen(["sleep", "60"], preexec_fn=group.enter)


def _wait_member(group: cgroup.Group, pid: int) -> None:
    deadline = time.monotonic() + 10
    while pid not in group.members() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pid in group.members()


# --------------------------------------------------------------------------- v2
def test_v2_in_a_delegated_scope_the_grader_moves_to_a_leaf_and_hands_memory_and_pids_down(
    tmp_path, monkeypatch, fresh_decision
):
    fs = _fake(tmp_path, monkeypatch, 2, SCOPE)
    scope = fs.group(SCOPE, controllers="cpu memory pids\n", procs=f"{os.getpid()}\n")
    assert cgroup.problem() is None
    assert (scope / "sslcourse-grader" / "cgroup.procs").read_text() == str(os.getpid())  # out of the way
    assert (scope / "cgroup.subtree_control").read_text() == "+memory +pids"

    group = cgroup.Group("sslcourse-1-0000", 2 << 30)
    folder = scope / "sslcourse-1-0000"
    assert group.dirs == [folder] and group.version == 2
    assert (folder / "memory.max").read_text() == str(2 << 30)
    assert (folder / "memory.swap.max").read_text() == "0"  # no swap: what it holds counts, all of it
    assert (folder / "pids.max").read_text() == str(cgroup.PIDS_MAX)
    with fs.running():
        sleepers = [_sleeper(group) for _ in range(2)]
        for s in sleepers:
            _wait_member(group, s.pid)
        assert group.members() == sorted(s.pid for s in sleepers)
        assert group.end()
        assert (folder / "cgroup.kill").read_text() == "1"  # the whole group at once
        assert [s.wait(10) for s in sleepers] == [-signal.SIGKILL] * 2 and group.members() == []
        assert group.exceeded() == []  # killed by the grader, not at a limit
    group.remove()
    assert not folder.exists() and fs.removed == [folder]


def test_v2_without_cgroup_kill_members_are_killed_one_by_one(tmp_path, monkeypatch, fresh_decision):
    fs = _fake(tmp_path, monkeypatch, 2, SCOPE, kill_file=False)  # kernels before 5.14
    fs.group(SCOPE, controllers="memory pids\n", procs=f"{os.getpid()}\n")
    group = cgroup.Group("sslcourse-1-0001", None)
    assert not (group.dirs[0] / "memory.max").read_text().strip().isdigit()  # --memory 0: no limit written
    with fs.running():
        sleeper = _sleeper(group)
        _wait_member(group, sleeper.pid)
        assert group.end() and sleeper.wait(10) == -signal.SIGKILL
    group.remove()
    assert not group.dirs[0].exists()


@pytest.mark.parametrize(
    "events, pids_events, peak, found",
    [
        ("max 40\noom 1\noom_kill 1\n", "max 0\n", 300, [cgroup.Exceeded("memory", 2 << 30, 1)]),
        ("max 0\noom 0\noom_kill 1\n", "max 0\n", 300, []),  # the machine's OOM, the group below its limit
        ("max 3\noom 0\noom_kill 0\n", "max 0\n", 300, []),  # reached the limit, reclaimed, went on
        ("max 0\noom 0\noom_kill 0\n", "max 7\n", cgroup.PIDS_MAX, [cgroup.Exceeded("processes", cgroup.PIDS_MAX, 7)]),
        ("max 0\noom 0\noom_kill 0\n", "max 7\n", 90, []),  # refused by a limit above it, not its own
    ],
)
def test_v2_the_limits_a_group_ran_into_come_from_its_counters(
    tmp_path, monkeypatch, fresh_decision, events, pids_events, peak, found
):
    fs = _fake(tmp_path, monkeypatch, 2, SCOPE)
    fs.group(SCOPE, controllers="memory pids\n", procs=f"{os.getpid()}\n")
    group = cgroup.Group("sslcourse-1-0002", 2 << 30)
    (group.dirs[0] / "memory.events").write_text(events)
    (group.dirs[0] / "pids.events").write_text(pids_events)
    (group.dirs[0] / "pids.peak").write_text(f"{peak}\n")
    assert group.exceeded() == found
    group.remove()


def test_v2_with_no_memory_limit_an_oom_kill_is_not_the_submissions(tmp_path, monkeypatch, fresh_decision):
    fs = _fake(tmp_path, monkeypatch, 2, SCOPE)
    fs.group(SCOPE, controllers="memory pids\n", procs=f"{os.getpid()}\n")
    group = cgroup.Group("sslcourse-1-0003", None)
    (group.dirs[0] / "memory.events").write_text("max 0\noom 1\noom_kill 1\n")
    assert group.exceeded() == []
    group.remove()


@pytest.mark.parametrize(
    "controllers, procs, said",
    [
        ("cpu\n", "{me}\n", "the memory and pids controllers are not delegated to its cgroup"),
        ("pids\n", "{me}\n", "the memory controller is not delegated to its cgroup"),
        ("memory pids\n", "1\n{me}\n77\n", "holds other processes too"),
    ],
)
def test_v2_not_delegated_is_refused_with_what_to_do(tmp_path, monkeypatch, fresh_decision, controllers, procs, said):
    fs = _fake(tmp_path, monkeypatch, 2, SCOPE)
    fs.group(SCOPE, controllers=controllers, procs=procs.format(me=os.getpid()))
    monkeypatch.setattr(cgroup.os, "geteuid", lambda: 1000)  # not root: the top of the tree is not ours
    why = cgroup.problem()
    assert why.startswith("cgroup v2 here, but no cgroup to limit a submission's memory and processes in")
    assert said in why and SCOPE in why
    assert "run the grader as root" in why and "systemd-run --user --scope -p Delegate=yes" in why
    with pytest.raises(OSError, match="Delegate=yes"):
        cgroup.Group("sslcourse-1-0004", 2 << 30)
    assert not list((fs.root / SCOPE).glob("sslcourse-*"))


def test_v2_as_root_in_a_container_without_controllers_is_not_told_to_run_as_root(
    tmp_path, monkeypatch, fresh_decision
):
    """Root in a container whose top cgroup hands down no memory or pids: the refusal says what is missing there
    and what to do, rather than "run the grader as root"."""
    fs = _fake(tmp_path, monkeypatch, 2, SCOPE)
    fs.group(SCOPE, controllers="cpu\n", procs=f"1\n{os.getpid()}\n")
    (fs.root / "cgroup.subtree_control").write_text("cpu io\n")
    monkeypatch.setattr(cgroup.os, "geteuid", lambda: 0)
    why = cgroup.problem()
    assert why.startswith("cgroup v2 here, but no cgroup to limit a submission's memory and processes in")
    assert "hands down only these controllers: cpu io" in why and "run the grader as root" not in why
    assert "--isolation none" in why


def test_v2_as_root_outside_a_delegated_cgroup_the_groups_go_at_the_top(tmp_path, monkeypatch, fresh_decision):
    """Root in an ordinary session scope (other processes in it): the root cgroup hands memory and pids down."""
    fs = _fake(tmp_path, monkeypatch, 2, "user.slice/user-0.slice/session-1.scope")
    session = fs.group("user.slice/user-0.slice/session-1.scope", controllers="memory pids\n", procs="1\n2\n")
    monkeypatch.setattr(cgroup.os, "geteuid", lambda: 0)
    assert cgroup.problem() is None
    assert (session / "cgroup.procs").read_text() == "1\n2\n"  # nobody moved
    group = cgroup.Group("sslcourse-1-0005", 1 << 30)
    assert group.dirs == [fs.root / "sslcourse-1-0005"]
    assert (group.dirs[0] / "memory.max").read_text() == str(1 << 30)
    group.remove()
    assert not group.dirs[0].exists()


def test_a_limit_whose_file_is_missing_fails_closed_and_leaves_nothing(tmp_path, monkeypatch, fresh_decision):
    """No memory.max (the memory controller not enabled for the group) would be no limit at all: refused."""
    fs = _fake(tmp_path, monkeypatch, 2, SCOPE)
    scope = fs.group(SCOPE, controllers="memory pids\n", procs=f"{os.getpid()}\n")
    fs.missing = {"memory.max"}
    with pytest.raises(OSError, match=r"no memory\.max in .*is the memory controller enabled for it"):
        cgroup.Group("sslcourse-1-0006", 2 << 30)
    assert not (scope / "sslcourse-1-0006").exists()
    fs.missing = {"memory.swap.max"}  # no swap accounting: nothing to limit there, and the group is made
    group = cgroup.Group("sslcourse-1-0007", 2 << 30)
    assert (group.dirs[0] / "memory.max").read_text() == str(2 << 30)
    group.remove()


# --------------------------------------------------------------------------- v1
def test_v1_one_group_in_each_of_the_memory_and_pids_hierarchies(tmp_path, monkeypatch, fresh_decision):
    fs = _fake(tmp_path, monkeypatch, 1, V1_OWN)
    for hierarchy in ("memory", "pids"):
        (fs.root / hierarchy / V1_OWN).mkdir(parents=True)
    assert cgroup.problem() is None and fs.removed == [
        fs.root / "memory" / V1_OWN / f"sslcourse-probe-{os.getpid()}",
        fs.root / "pids" / V1_OWN / f"sslcourse-probe-{os.getpid()}",
    ]
    group = cgroup.Group("sslcourse-1-0000", 1 << 30)
    memory, pids = fs.root / "memory" / V1_OWN / "sslcourse-1-0000", fs.root / "pids" / V1_OWN / "sslcourse-1-0000"
    assert group.dirs == [memory, pids] and group.version == 1
    assert (memory / "memory.limit_in_bytes").read_text() == str(1 << 30)
    assert (memory / "memory.memsw.limit_in_bytes").read_text() == str(1 << 30)  # swap counted in the same limit
    assert (pids / "pids.max").read_text() == str(cgroup.PIDS_MAX)
    with fs.running():
        sleeper = _sleeper(group)
        _wait_member(group, sleeper.pid)
        assert (memory / "cgroup.procs").read_text().split() == (pids / "cgroup.procs").read_text().split()
        assert group.end() and sleeper.wait(10) == -signal.SIGKILL and group.members() == []
    group.remove()
    assert not memory.exists() and not pids.exists()


@pytest.mark.parametrize(
    "oom_kill, failcnt, peak, found",
    [
        (1, 0, 1 << 30, [cgroup.Exceeded("memory", 1 << 30, 1)]),  # recent kernels: failcnt stays 0, the peak says
        (2, 5, (1 << 30) - (1 << 20), [cgroup.Exceeded("memory", 1 << 30, 2)]),
        (1, 0, 300 << 20, []),  # the machine's OOM, the group far below its limit
        (0, 0, 1 << 30, []),  # at the limit, reclaimed, nothing killed
    ],
)
def test_v1_the_memory_limit_is_found_from_oom_control_and_the_peak(
    tmp_path, monkeypatch, fresh_decision, oom_kill, failcnt, peak, found
):
    fs = _fake(tmp_path, monkeypatch, 1, V1_OWN)
    for hierarchy in ("memory", "pids"):
        (fs.root / hierarchy / V1_OWN).mkdir(parents=True)
    group = cgroup.Group("sslcourse-1-0001", 1 << 30)
    memory = group.dirs[0]
    (memory / "memory.oom_control").write_text(f"oom_kill_disable 0\nunder_oom 0\noom_kill {oom_kill}\n")
    (memory / "memory.failcnt").write_text(f"{failcnt}\n")
    (memory / "memory.memsw.max_usage_in_bytes").write_text(f"{peak}\n")
    assert group.exceeded() == found
    (group.dirs[1] / "pids.events").write_text("max 12\n")
    (group.dirs[1] / "pids.peak").write_text(f"{cgroup.PIDS_MAX}\n")
    assert group.exceeded() == [*found, cgroup.Exceeded("processes", cgroup.PIDS_MAX, 12)]
    group.remove()


def test_v1_without_a_writable_hierarchy_is_refused_with_what_to_do(tmp_path, monkeypatch, fresh_decision):
    fs = _fake(tmp_path, monkeypatch, 1, V1_OWN)
    (fs.root / "memory" / V1_OWN).mkdir(parents=True)  # the pids hierarchy has no such folder: mkdir fails
    why = cgroup.problem()
    assert f"cannot create a cgroup under {fs.root / 'pids' / V1_OWN}" in why and "Delegate=yes" in why


# --------------------------------------------------------------------------- the row
def test_a_row_that_ran_into_a_limit_is_scored_0_with_a_note_that_says_which():
    exercise = ex.Exercise(name="knn_classify", points=2, check_source="check_knn_classify(knn_classify)")
    sub = batch.Submission(Path("shm.ipynb"), "shm", b"", "", exercises=[exercise])
    checked = {"knn_classify": {"score": 7, "max_score": 7, "notes": []}}
    result = {"status": "error", "note": "the kernel died in cell 9", "exercises": checked}
    assert batch.make_row(sub, result, [])["total"] == 2  # what the checker gave it
    hits = [cgroup.Exceeded("memory", 2 << 30, 1), cgroup.Exceeded("processes", cgroup.PIDS_MAX, 30)]
    row = batch.make_row(sub, result, [], exceeded=hits)
    assert (row["knn_classify"], row["total"], row["max_total"], row["status"]) == (0.0, 0, 2, "error")
    assert row["notes"] == (
        "notebook: the kernel died in cell 9 | scored 0 because it exceeded its memory limit (2G for all its "
        "processes together, shared memory and files in its memory-backed folders included): the out-of-memory "
        f"killer ended 1 of them; and its process limit ({cgroup.PIDS_MAX} processes and threads at once): 30 of its "
        "attempts to start another failed; if the submission is honest, grade it again with a larger --memory"
    )
    assert "--memory" not in sandbox.scored_zero(hits[1:])  # more memory would not help a process flood

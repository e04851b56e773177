"""Running a submission notebook from top to bottom in a fresh kernel, for its status only.

The kernel is `sandbox`ed (bubblewrap, its submission's cgroup, dies with its parent) and talks to us
over Unix sockets in a private folder, the one folder of ours it may write to (it has no network). The notebook
gets one time limit as a whole. Nothing the kernel prints or returns is used to score: this run only
says whether the notebook runs to its end (`ok`), stops on an error (`error`: a cell raised, or the
kernel died) or runs out of time (`timeout`).

Cells are sent one by one with jupyter_client's blocking client, not nbclient: nbclient waits for
each cell's reply on the shell channel without a bound of its own, and under load a reply that never
arrives (it happens over ZeroMQ) left a run hanging until its deadline. Here a cell is over when the
kernel says so on either channel (idle on IOPub, or its reply on shell), and whatever happens, the
notebook's deadline is checked every few hundred milliseconds.
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sslcourse.instructor.grading import sandbox

_GRACE_S = 5.0  # after a cell's reply, how long to wait for its "idle" (its last outputs)


@dataclass
class Run:
    status: str  # ok, error or timeout
    note: str = ""  # where and why it stopped
    seconds: float = 0.0


def _kernel_manager(folder: Path, box: dict | None, cwd: Path):
    from jupyter_client.manager import KernelManager

    class Sandboxed(KernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]
            if box is None:
                return cmd
            return sandbox.bwrap(cmd, box, role="kernel", chdir=str(cwd), writable=(str(folder),))

    folder.mkdir(parents=True, exist_ok=True)
    return Sandboxed(transport="ipc", ip=str(folder / "kernel"), connection_file=str(folder / "kernel.json"))


_COLOURS = re.compile(r"\x1b\[[0-9;]*m")


def _last_line(text: str) -> str:
    lines = [line for line in _COLOURS.sub("", text).strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def _memory_hint(note: str, memory: int | None) -> str:
    if memory and re.search(r"MemoryError|can't allocate|Cannot allocate|out of memory|failed to map segment", note):
        note += f" (the memory limit is {sandbox.describe_memory(memory)})"
    return note


def _why_it_died(box: dict | None, memory: int | None) -> str:
    """What the cgroup says of a kernel that died: killed at the memory limit, or (when it cannot tell) the limit."""
    group = box.get("group") if box else None
    at_limit = [h for h in group.exceeded() if h.limit == "memory"] if group is not None else []
    if at_limit:
        return f", killed at its memory limit ({sandbox.describe_memory(memory)})"
    return f" (the memory limit is {sandbox.describe_memory(memory)})" if memory else ""


def _run_cell(km, kc, source: str, deadline: float) -> tuple[str, dict | None]:
    """Execute one cell; ('done', its error or None), ('timeout', None) or ('died', None). The cell is
    over when the kernel has both replied (shell) and gone idle (IOPub), or one of them a while ago."""
    msg_id = kc.execute(source, store_history=True, allow_stdin=False, stop_on_error=True)
    error, idle_at, replied_at = None, None, None
    while True:
        now = time.monotonic()
        if idle_at and replied_at or any(t and now - t > _GRACE_S for t in (idle_at, replied_at)):
            return "done", error
        if now >= deadline:
            return "timeout", None
        try:
            msg = kc.get_iopub_msg(timeout=min(0.2, deadline - now))
        except queue.Empty:
            msg = None
        if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
            if msg["msg_type"] == "error":
                error = error or msg["content"]
            elif msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                idle_at = time.monotonic()
        try:
            while True:  # the reply on the shell channel; an error that IPython could not display shows here
                reply = kc.get_shell_msg(timeout=0)
                if reply["parent_header"].get("msg_id") == msg_id:
                    replied_at = time.monotonic()
                    if reply["content"].get("status") == "error":
                        error = error or reply["content"]
        except queue.Empty:
            pass
        if msg is None and not km.is_alive():
            return "died", None


def run(nb, cwd: Path, private: Path, *, timeout: float, memory: int | None, box: dict | None, env: dict) -> Run:
    """Execute the code cells of `nb` (those tagged skip-execution excepted) in folder `cwd`, within
    `timeout` seconds in all; an error in a cell tagged raises-exception is expected and goes on."""
    start = time.monotonic()
    result = _run(nb, cwd, private, start + timeout, timeout, memory, box, env)
    result.seconds = time.monotonic() - start
    return result


def _run(
    nb, cwd: Path, private: Path, deadline: float, timeout: float, memory: int | None, box: dict | None, env: dict
) -> Run:
    km, kc, number = _kernel_manager(private, box, cwd), None, 0
    try:
        km.start_kernel(
            cwd=str(cwd),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **sandbox.popen_options(box, memory),
        )
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=max(1.0, min(120.0, deadline - time.monotonic())))
        except RuntimeError as err:
            return Run("error", f"the kernel did not start: {_last_line(str(err))}")
        for i, cell in enumerate(nb.cells):
            tags = cell.get("metadata", {}).get("tags", [])
            if cell.cell_type != "code" or not cell.source.strip() or "skip-execution" in tags:
                continue
            number = i + 1
            state, error = _run_cell(km, kc, cell.source, deadline)
            if state == "timeout":
                return Run(
                    "timeout",
                    f"stopped after {timeout:g} s, in cell {number}; if the notebook is honest and only slow, "
                    "grade it again with a larger --timeout",
                )
            if state == "died":
                return Run("error", f"the kernel died in cell {number}{_why_it_died(box, memory)}")
            if error and "raises-exception" not in tags:
                note = f"cell {number} raised {error.get('ename', 'an error')}"
                value = _last_line(str(error.get("evalue", "")))
                return Run("error", _memory_hint(note + (f": {value}" if value else ""), memory))
        return Run("ok")
    except Exception as err:  # noqa: BLE001 (the kernel could not be started or reached)
        return Run("error", f"the kernel stopped in cell {number}: {type(err).__name__}: {_last_line(str(err))}")
    finally:
        if kc is not None:
            kc.stop_channels()
        sandbox.kill(getattr(getattr(km, "provisioner", None), "process", None))
        km.cleanup_resources()

"""Running a submission notebook from top to bottom in a fresh kernel, for its status only.

The kernel is `sandbox`ed (memory limit, its own namespaces where possible, dies with its parent) and
talks to nbclient over Unix sockets in a private folder (its network namespace has no network). The
notebook gets one time limit as a whole. Nothing the kernel prints or returns is ever used to score:
this run only says whether the notebook runs to its end (`ok`), stops on an error (`error`: a cell
raised, or the kernel died) or runs out of time (`timeout`).
"""
from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sslcourse.grading import sandbox


@dataclass
class Run:
    status: str  # ok, error or timeout
    note: str = ""  # where and why it stopped
    seconds: float = 0.0


def _kernel_manager(folder: Path, memory: int | None, isolate: bool):
    from jupyter_client.manager import AsyncKernelManager

    class Sandboxed(AsyncKernelManager):  # async: a blocking client would let a never-ending cell block the timeout
        def format_kernel_cmd(self, extra_arguments=None):
            cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]
            return sandbox.command(cmd, isolate)

    folder.mkdir(parents=True, exist_ok=True)
    return Sandboxed(transport="ipc", ip=str(folder / "kernel"), connection_file=str(folder / "kernel.json"))


_COLOURS = re.compile(r"\x1b\[[0-9;]*m")


def _first_line(text: str) -> str:
    lines = [line for line in _COLOURS.sub("", text).strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def _memory_hint(note: str, memory: int | None) -> str:
    if memory and re.search(r"MemoryError|can't allocate|Cannot allocate|out of memory|failed to map segment", note):
        note += f" (the memory limit is {sandbox.describe_memory(memory)})"
    return note


def _error_note(nb, err, cell: int, memory: int | None) -> str:
    """'cell 7 raised ValueError: ...' for the first cell that stopped on an error."""
    for i, c in enumerate(nb.cells):
        for out in c.get("outputs", []) if c.cell_type == "code" else []:
            if out.get("output_type") == "error" and "raises-exception" not in c.metadata.get("tags", []):
                return _memory_hint(f"cell {i + 1} raised {out.get('ename')}: "
                                    f"{_first_line(str(out.get('evalue', '')))}", memory)
    name, value = getattr(err, "ename", "an error"), _first_line(str(getattr(err, "evalue", "")))
    return _memory_hint(f"cell {cell} raised {name}" + (f": {value}" if value else ""), memory)


def _execute(client, nb, deadline: float, timeout: float, current: dict, memory: int | None, env: dict) -> Run:
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    try:
        client.execute(env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **sandbox.popen_options(memory))
        return Run("ok")
    except CellTimeoutError:
        return Run("timeout", f"stopped after {timeout:g} s, in cell {current['cell']}")
    except CellExecutionError as err:
        return Run("error", _error_note(nb, err, current["cell"], memory))
    except DeadKernelError:
        why = f" (the memory limit is {sandbox.describe_memory(memory)})" if memory else ""
        return Run("error", f"the kernel died in cell {current['cell']}{why}")
    except Exception as err:  # noqa: BLE001 (the kernel did not start, or nbclient gave up)
        late = time.monotonic() >= deadline
        return Run("timeout" if late else "error", f"the kernel stopped in cell {current['cell']}: "
                   f"{type(err).__name__}: {_first_line(str(err))}")


def run(nb, cwd: Path, private: Path, *, timeout: float, memory: int | None, isolate: bool, env: dict) -> Run:
    """Execute `nb` in place (a copy: its outputs are overwritten) in folder `cwd`, within `timeout` seconds.
    nbclient runs in a thread of its own, watched: should it wait for a kernel that no longer answers
    (it happens), the kernel is ended a few seconds past the deadline and the run counts as a timeout."""
    from nbclient import NotebookClient

    start = time.monotonic()
    deadline = start + timeout
    current = {"cell": 0}

    def time_left(cell) -> int:  # nbclient asks before each cell: the notebook's time limit, not the cell's
        current["cell"] = next((i + 1 for i, c in enumerate(nb.cells) if c is cell), current["cell"])
        return max(1, int(deadline - time.monotonic()))

    km = _kernel_manager(private, memory, isolate)
    # store_widget_state: without it, nbclient 0.10-0.11 raises KeyError on an Output widget's output
    client = NotebookClient(nb, km=km, timeout_func=time_left, allow_errors=False, record_timing=False,
                            store_widget_state=True, shutdown_kernel="immediate", startup_timeout=120,
                            resources={"metadata": {"path": str(cwd)}})
    outcome: list[Run] = []
    thread = threading.Thread(target=lambda: outcome.append(_execute(client, nb, deadline, timeout, current, memory,
                                                                     env)), name="sslcourse-notebook", daemon=True)
    thread.start()
    thread.join(timeout + 15)
    process = getattr(getattr(km, "provisioner", None), "process", None)
    sandbox.kill(process)  # normally gone already; if nbclient is stuck, this unsticks it
    thread.join(10)
    result = outcome[0] if outcome else Run("timeout", f"stopped after {timeout:g} s, in cell {current['cell']} "
                                                       "(the kernel stopped answering)")
    result.seconds = time.monotonic() - start
    return result

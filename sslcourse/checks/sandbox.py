"""Calling student code safely: in a worker thread with a time limit, errors described by the student's own
line, and inputs compared before and after the call."""

from __future__ import annotations

import ctypes
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

TIME_LIMIT_S = 10.0  # per call; the cases are small, so only a loop that never ends gets near it


@dataclass
class _Outcome:
    value: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    still_running: bool = False


def _interrupt(thread: threading.Thread) -> None:
    """Raise TimeoutError inside a thread at its next Python bytecode (a pure-Python loop stops)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(TimeoutError))


def call_with_time_limit(fn: Callable, args: tuple, seconds: float = TIME_LIMIT_S) -> _Outcome:
    """Run fn(*args) in a worker thread; never waits much longer than `seconds`, whatever fn does."""
    outcome = _Outcome()

    def work():
        try:
            outcome.value = fn(*args)
        except BaseException as err:  # noqa: BLE001 (SystemExit, KeyboardInterrupt from student code too)
            outcome.error = err

    thread = threading.Thread(target=work, name="sslcourse-check", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        outcome.timed_out = True
        _interrupt(thread)
        thread.join(2.0)
        outcome.still_running = thread.is_alive()
    return outcome


def describe_error(err: BaseException, fn: Callable) -> str:
    """'raised IndexError: ... (line 4 of knn_classify: `x = y[i]`)': the student's own line, if any."""
    text = str(err).strip().splitlines()
    where = ""
    code = getattr(fn, "__code__", None)
    frames = [f for f in traceback.extract_tb(err.__traceback__) if code and f.filename == code.co_filename]
    if frames:
        f = frames[-1]
        line = f": `{f.line.strip()}`" if f.line else ""
        where = f" (line {f.lineno - code.co_firstlineno + 1} of {fn.__name__}{line})"
    return f"it raised {type(err).__name__}: {text[0][:160] if text else ''}{where}"


def changed_inputs(before: dict, after: dict) -> list[str]:
    """Names of tensor inputs whose shape, dtype or values changed (generators are meant to change)."""
    changed = []
    for name, old in before.items():
        new = after[name]
        if torch.is_tensor(old) and not (
            new.shape == old.shape
            and new.dtype == old.dtype
            and torch.equal(torch.nan_to_num(new), torch.nan_to_num(old))
        ):
            changed.append(name)
    return changed

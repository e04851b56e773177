"""The messages between a checker (trusted) and the worker that runs a student's functions (not).

Frames are a length and a payload. The checker writes pickles: the worker trusts the checker. The
worker writes `torch.save` payloads that the checker reads with `torch.load(weights_only=True)`, which
rebuilds only tensors, numbers, strings and containers of them: whatever the student's function
returns, reading it cannot run code in the checker's process.
"""

from __future__ import annotations

import io
import os
import select
import struct
import time
from dataclasses import dataclass

import torch

MAX_MESSAGE = 1 << 30  # bytes; a bigger answer is refused rather than read


@dataclass
class GeneratorState:
    """A torch.Generator crossing the pipe: its state (generators are inputs that are meant to change)."""

    state: torch.Tensor
    device: str = "cpu"

    @classmethod
    def of(cls, g: torch.Generator) -> GeneratorState:
        return cls(g.get_state(), str(g.device))

    def generator(self) -> torch.Generator:
        return torch.Generator(device=self.device).set_state(self.state)


class WorkerGone(EOFError):
    """The worker's end of the pipe closed: it exited, crashed or was killed."""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def send_bytes(fd: int, payload: bytes) -> None:
    _write_all(fd, struct.pack(">Q", len(payload)) + payload)


def _read_exactly(fd: int, n: int, deadline: float | None) -> bytes:
    """Read n bytes, waiting in short slices (a thread interrupted by a time limit stops between them)."""
    chunks, got = [], 0
    while got < n:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError("no answer in time")
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise WorkerGone("the pipe closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def receive_bytes(fd: int, deadline: float | None = None) -> bytes:
    (size,) = struct.unpack(">Q", _read_exactly(fd, 8, deadline))
    if size > MAX_MESSAGE:
        raise ValueError(f"a message of {size} bytes (more than {MAX_MESSAGE})")
    return _read_exactly(fd, size, deadline)


def dump_untrusted(message) -> bytes:
    """The worker's side: a message the checker can read safely."""
    buf = io.BytesIO()
    torch.save(message, buf)
    return buf.getvalue()


def load_untrusted(payload: bytes):
    """The checker's side: only tensors, numbers, strings and containers come out."""
    return torch.load(io.BytesIO(payload), weights_only=True, map_location="cpu")


# --------------------------------------------------------------------------- values that may not travel
_PLAIN = (int, float, bool, complex, str, bytes, type(None))


def sendable(value, depth: int = 0):
    """`value` with anything torch.load(weights_only) would refuse replaced by {"__unsendable__": type}."""
    if torch.is_tensor(value):  # "requires grad" only where a graph leads back (a grad_fn), as the checker sees it
        connected = value.requires_grad and value.grad_fn is not None and value.is_floating_point()
        return value.detach().as_subclass(torch.Tensor).requires_grad_(connected)
    if isinstance(value, _PLAIN) or isinstance(value, torch.Size):
        return value
    if depth < 20 and type(value) in (tuple, list):
        return type(value)(sendable(v, depth + 1) for v in value)
    if depth < 20 and type(value) is dict:
        return {k: sendable(v, depth + 1) for k, v in value.items() if isinstance(k, (str, int))}
    try:  # numpy scalars and 0-d arrays: their Python value
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
    except ImportError:
        pass
    return {"__unsendable__": type(value).__name__}


def rebuild(value):
    """The checker's side of `sendable`: an unsendable value becomes an object of a class of the same name."""
    if isinstance(value, dict) and set(value) == {"__unsendable__"}:
        return type(str(value["__unsendable__"]), (), {"__repr__": lambda self: f"<{type(self).__name__}>"})()
    if type(value) in (tuple, list):
        return type(value)(rebuild(v) for v in value)
    if type(value) is dict:
        return {k: rebuild(v) for k, v in value.items()}
    return value

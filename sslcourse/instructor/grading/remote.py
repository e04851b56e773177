"""A student's function, standing in the checker's process while it runs in a worker process.

`Worker` starts `python -m sslcourse.instructor.grading.worker` (sandboxed: see `sandbox` and `view`),
sends it the submission's exercise cells, and learns which functions they define. `RemoteFunction` is
what the genuine checker receives as the student's function: calling it sends the inputs to the
worker and returns the answer, rebuilt from plain data; the student's exceptions come back as
exceptions of the same name (NotImplementedError included, so a stub reads "not implemented yet"),
inputs changed in place are changed here too, and gradients flow back through the worker, so a
checker may call `.backward()` on a loss. Nothing the student's code does in the worker (patching
the checkers, faking a result object, printing "passed") reaches the checker's process.
"""

from __future__ import annotations

import builtins
import inspect
import pickle
import subprocess
import sys
import threading
import time
from collections import Counter

import torch

from sslcourse.instructor.grading import sandbox, wire


class Worker:
    """One worker process and its pipes; `ready` maps each defined function to its parameters."""

    def __init__(
        self,
        steps: list[dict],
        references: dict,
        *,
        memory: int | None,
        box: dict | None,
        cwd: str,
        env: dict,
        cell_time_limit: float = 60.0,
    ):
        """Start the worker and hand it the code; it defines the functions while the caller does other
        things (the notebook's run); `wait` collects what it defined."""
        self.lock = threading.Lock()
        self.proc = sandbox.spawn(
            [sys.executable, "-m", "sslcourse.instructor.grading.worker"],
            memory=memory,
            box=box,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.to_worker, self.from_worker = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        self.ready, self.problems, self.death = {}, {}, None
        self.heard = False  # its one "ready" message came (it may list no function: a submission without any)
        try:
            wire.send_bytes(
                self.to_worker,
                pickle.dumps({"steps": steps, "references": references, "cell_time_limit": cell_time_limit}),
            )
        except OSError as err:
            self.close(self._why_gone(err))

    def wait(self, timeout: float = 120.0) -> Worker:
        """Wait until the worker says which functions its cells defined (`ready`) and which not (`problems`)."""
        if self.death or self.heard:  # not `ready or problems`: both are empty when it defined nothing, and a
            return self  # second read would wait out the whole timeout for a message that never comes
        try:
            hello = wire.load_untrusted(wire.receive_bytes(self.from_worker, time.monotonic() + timeout))
            self.ready = {str(k): v for k, v in hello["ready"].items()}
            self.problems = {str(k): str(v) for k, v in hello["problems"].items()}
            self.heard = True
        except TimeoutError:
            self.close(f"defining the functions took more than {timeout:g} s")
        except (
            wire.WorkerGone,
            OSError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            RuntimeError,
            pickle.UnpicklingError,
        ) as err:
            self.close(self._why_gone(err))
        return self

    def _why_gone(self, err: BaseException) -> str:
        code = self.proc.poll()
        if code is None:
            return f"its process answered something unreadable ({type(err).__name__})"
        if code < 0:
            return f"its process was killed by signal {-code} (the memory limit, or a crash)"
        return f"its process exited (exit code {code}) before answering"

    def ask(self, message: dict, deadline: float | None = None):
        """Send one message and wait for its answer (read safely)."""
        with self.lock:
            if self.death:
                raise RuntimeError(f"the function's process is gone: {self.death}")
            try:
                wire.send_bytes(self.to_worker, pickle.dumps(message))
                return wire.load_untrusted(wire.receive_bytes(self.from_worker, deadline))
            except BaseException as err:  # a time limit (raised into this thread), a death, a bad answer
                if isinstance(err, (wire.WorkerGone, BrokenPipeError)):
                    self.close(self._why_gone(err))
                    raise RuntimeError(f"the function's process is gone: {self.death}") from None
                self.close(f"interrupted ({type(err).__name__})")
                raise

    def close(self, why: str = "closed") -> None:
        self.death = self.death or why
        sandbox.kill(self.proc)
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass


def _exception(answer: dict) -> Exception:
    """The student's exception, as an exception of the same name (a built-in one where it is built in)."""
    name, message = str(answer.get("type", "Exception")), str(answer.get("message", ""))
    kind = getattr(builtins, name, None)
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        kind = type(name, (Exception,), {})
    text = f"{message}{answer.get('where', '')}"
    try:
        return kind(text)
    except Exception:  # noqa: BLE001 (a built-in exception that wants other arguments)
        return type(name, (Exception,), {})(text)


class _Bridge(torch.autograd.Function):
    """Outputs computed in the worker, as a function of the inputs that require grad: backward asks the
    worker for the gradients of the latest call."""

    @staticmethod
    def forward(ctx, function, count, *inputs_and_outputs):
        ctx.function = function
        outputs = inputs_and_outputs[count:]
        return tuple(o.clone() for o in outputs)

    @staticmethod
    def backward(ctx, *grads):
        answer = ctx.function.worker.ask({"grad": [None if g is None else g.detach() for g in grads]})
        if not answer.get("ok"):
            raise _exception(answer)
        return (None, None, *answer["grads"], *[None] * len(grads))


def _leaves(value) -> list:
    if torch.is_tensor(value):
        return [value]
    if type(value) in (tuple, list):
        return [t for v in value for t in _leaves(v)]
    return []


def _replace(value, new: list):
    if torch.is_tensor(value):
        return new.pop(0)
    if type(value) in (tuple, list):
        return type(value)(_replace(v, new) for v in value)
    return value


_KIND = type(inspect.Parameter.POSITIONAL_ONLY)


class RemoteFunction:
    """The student's `name`, callable here, running there. It has no `__code__` (the checker's error
    messages then quote the student's line as the worker reported it)."""

    def __init__(self, worker: Worker, name: str):
        self.worker, self.__name__ = worker, name
        self.reference_calls = Counter()
        parameters = [inspect.Parameter(p[0], _KIND(p[1])) for p in worker.ready.get(name, [])]
        try:
            self.__signature__ = inspect.Signature(parameters)
        except ValueError:
            self.__signature__ = inspect.Signature()

    def __repr__(self) -> str:
        return f"<the student's {self.__name__}>"

    def __call__(self, *args, **kwargs):
        def encode(v):
            if isinstance(v, torch.Generator):
                return wire.GeneratorState.of(v)
            return v.detach().requires_grad_(v.requires_grad) if torch.is_tensor(v) else v

        answer = self.worker.ask(
            {
                "call": self.__name__,
                "args": [encode(a) for a in args],
                "kwargs": {k: encode(v) for k, v in kwargs.items()},
            }
        )
        self.reference_calls.update(answer.get("reference_calls", {}))
        if not answer.get("ok"):
            raise _exception(answer)
        inputs = {**dict(enumerate(args)), **kwargs}
        with torch.no_grad():
            for key, new in answer.get("changed", {}).items():  # the student changed an input in place
                old = inputs[key]
                if new.shape == old.shape and new.dtype == old.dtype:
                    old.copy_(new)
                else:
                    old.data = new
        for key, state in answer.get("generators", {}).items():
            inputs[key].set_state(state)
        value = wire.rebuild(answer["value"])
        wanted = [v for v in inputs.values() if torch.is_tensor(v) and v.requires_grad]
        outputs = [t for t in _leaves(value) if t.requires_grad]
        if wanted and outputs:  # keep the graph: the worker holds it, _Bridge reaches it
            bridged = _Bridge.apply(self, len(wanted), *wanted, *[o.detach() for o in outputs])
            pending = list(bridged)
            value = _replace(value, [pending.pop(0) if t.requires_grad else t for t in _leaves(value)])
        return value


def worker_env(base: dict, threads: int) -> dict:
    """The worker's environment: the kernel's, with as many compute threads as it may use."""
    return {**base, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}

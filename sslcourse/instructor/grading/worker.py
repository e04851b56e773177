"""The worker: defines a submission's functions from its exercise cells and calls them for a checker.

`python -m sslcourse.instructor.grading.worker`, started by `remote.Worker` in its own namespaces, with a memory
limit. It runs the student's code and is trusted with nothing: it only answers "what does your
function return on these inputs", and the checker, in another process, judges the answer. Its own
prints go nowhere (stdout and stderr are /dev/null); it talks on copies of its original pipes.

Messages in: {"steps", "references", "cell_time_limit"} once, then {"call": name, "args", "kwargs"},
{"grad": outputs' gradients} (the backward pass of the latest call), or end of input (exit).
Messages out: {"ready": {name: parameters}, "problems": {name: why not}}, then one answer per call.
"""

from __future__ import annotations

import functools
import importlib
import linecache
import os
import pickle
import signal
import sys
from collections import Counter

import torch

from sslcourse.checks.sandbox import describe_error
from sslcourse.instructor.grading import wire


class _NoIPython:
    """`get_ipython()` for cells that used magics: every magic does nothing here."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _alarm(seconds: float):
    def interrupt(signum, frame):
        raise TimeoutError(f"its cell ran for more than {seconds:g} s")

    signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _trace(references: dict[str, list[str]]) -> Counter:
    """Count the calls of the library's own implementations (e.g. sslcourse.evaluate.knn_classify)."""
    calls = Counter()
    for name, modules in references.items():
        for module_name in modules:
            try:
                module = importlib.import_module(module_name)
                original = getattr(module, name)
            except Exception:  # noqa: BLE001 (a flag is advisory; never fail the grading over it)
                continue

            @functools.wraps(original)
            def counted(*args, __original=original, __key=f"{module_name}.{name}", **kwargs):
                calls[__key] += 1
                return __original(*args, **kwargs)

            setattr(module, name, counted)
    return calls


def _parameters(fn) -> list:
    import inspect

    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    return [
        [p.name, int(p.kind), None if p.default is p.empty else repr(p.default)[:60]] for p in sig.parameters.values()
    ]


def define(steps: list[dict], cell_time_limit: float) -> tuple[dict, dict, dict]:
    """Run the steps in a fresh namespace; returns (functions, problems by exercise, the namespace).
    An exercise cell that raises after defining its function still counts (as in the notebook), with a note."""
    namespace = {"__name__": "__main__", "get_ipython": _NoIPython}
    functions, problems = {}, {}
    for step in steps:
        filename = f"<cell {step['cell'] + 1}>"
        linecache.cache[filename] = (len(step["source"]), None, step["source"].splitlines(True), filename)
        name, error = step["name"], None
        if name:
            namespace.pop(name, None)  # only this cell's own definition counts
        try:
            _alarm(cell_time_limit)
            exec(compile(step["source"], filename, "exec"), namespace)  # noqa: S102 (the point of this process)
        except BaseException as err:  # noqa: BLE001
            error = f"its cell raised {type(err).__name__}: {str(err).strip()[:200]}"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if name:
            fn = namespace.get(name)
            if callable(fn):
                functions[name] = fn  # this cell's version, whatever a later step redefines
                if error:
                    problems[name] = error + " (after defining the function, which was checked)"
            else:
                problems[name] = error or f"its cell does not define a function {name}"
    return functions, problems, namespace


def _decode(value):
    return value.generator() if isinstance(value, wire.GeneratorState) else value


def _changed(before, after) -> bool:
    return not (
        after.shape == before.shape
        and after.dtype == before.dtype
        and torch.equal(torch.nan_to_num(after), torch.nan_to_num(before))
    )


def _tensor_leaves(value) -> list[torch.Tensor]:
    if torch.is_tensor(value):
        return [value]
    if type(value) in (tuple, list):
        return [t for v in value for t in _tensor_leaves(v)]
    return []


class Caller:
    """Calls the functions, keeping the latest call's graph so that the checker may ask for gradients."""

    def __init__(self, functions: dict, calls: Counter):
        self.functions, self.calls = functions, calls
        self.graph = None  # (inputs that require grad, outputs that require grad)

    def call(self, message: dict) -> dict:
        fn = self.functions[message["call"]]
        args = [_decode(a) for a in message["args"]]
        kwargs = {k: _decode(v) for k, v in message["kwargs"].items()}
        inputs = {**dict(enumerate(args)), **kwargs}
        before = {k: v.detach().clone() for k, v in inputs.items() if torch.is_tensor(v)}
        self.calls.clear()
        self.graph = None
        value = fn(*args, **kwargs)
        changed = {k: wire.sendable(inputs[k]) for k, old in before.items() if _changed(old, inputs[k].detach())}
        generators = {k: wire.GeneratorState.of(v).state for k, v in inputs.items() if isinstance(v, torch.Generator)}
        wanted = [v for v in inputs.values() if torch.is_tensor(v) and v.requires_grad]
        outputs = [
            t for t in _tensor_leaves(value) if t.requires_grad and t.grad_fn is not None and t.is_floating_point()
        ]  # the ones wire.sendable sends as requiring grad, in order
        if wanted and outputs:
            self.graph = (wanted, outputs)
        return {
            "ok": True,
            "value": wire.sendable(value),
            "changed": changed,
            "generators": generators,
            "reference_calls": dict(self.calls),
        }

    def gradients(self, message: dict) -> dict:
        if self.graph is None:
            raise RuntimeError("no graph to differentiate: the latest call returned nothing that requires grad")
        inputs, outputs = self.graph
        pairs = [(o, g) for o, g in zip(outputs, message["grad"]) if g is not None]
        grads = torch.autograd.grad(
            [o for o, _ in pairs], inputs, [g for _, g in pairs], retain_graph=True, allow_unused=True
        )
        return {"ok": True, "grads": [None if g is None else g.detach() for g in grads]}


def _failure(err: BaseException, fn) -> dict:
    text = describe_error(err, fn) if fn is not None else f"it raised {type(err).__name__}: {err}"
    where = text[text.rfind(" (line ") :] if " (line " in text else ""
    return {"ok": False, "type": type(err).__name__, "message": str(err).strip()[:300], "where": where}


def main() -> None:
    fd_in, fd_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # whatever the student prints goes nowhere
        os.dup2(devnull, fd)
    job = pickle.loads(wire.receive_bytes(fd_in))
    calls = _trace(job["references"])
    functions, problems, _ = define(job["steps"], job["cell_time_limit"])
    wire.send_bytes(
        fd_out, wire.dump_untrusted({"ready": {n: _parameters(f) for n, f in functions.items()}, "problems": problems})
    )
    caller = Caller(functions, calls)
    while True:
        try:
            message = pickle.loads(wire.receive_bytes(fd_in))
        except (wire.WorkerGone, EOFError):
            return
        fn = functions.get(message.get("call"))
        try:
            answer = caller.call(message) if "call" in message else caller.gradients(message)
            payload = wire.dump_untrusted(answer)
            if len(payload) > wire.MAX_MESSAGE:
                raise MemoryError(f"its answer takes {len(payload) / 2**20:.0f} MiB, too much to check")
        except BaseException as err:  # noqa: BLE001 (SystemExit and KeyboardInterrupt are the student's too)
            payload = wire.dump_untrusted({**_failure(err, fn), "reference_calls": dict(calls)})
        wire.send_bytes(fd_out, payload)


if __name__ == "__main__":
    sys.exit(main())

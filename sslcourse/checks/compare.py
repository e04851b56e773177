"""Comparing a student's output with what is expected: copies of inputs, closeness, shape and dtype."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch


def _copy(value):
    if torch.is_tensor(value):
        return value.clone()
    if isinstance(value, torch.Generator):  # same state, independent draws
        return torch.Generator(device=value.device).set_state(value.get_state())
    return copy.deepcopy(value)


def clone(inputs: dict) -> dict:
    """A deep copy of the inputs (tensors cloned, generators in the same state), so that neither the
    student nor a judge can spoil them for the next use."""
    return {k: _copy(v) for k, v in inputs.items()}


def same_output(a, b, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """Equal values: tensors of one shape, close to each other; tuples and lists element by element."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same_output(x, y, rtol, atol) for x, y in zip(a, b))
    if torch.is_tensor(a) and torch.is_tensor(b):
        return a.shape == b.shape and torch.allclose(a.double().cpu(), b.double().cpu(), rtol, atol, equal_nan=True)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= atol + rtol * abs(b)
    try:
        return bool(a == b)
    except Exception:  # e.g. an array against a tensor: not the same output
        return False


def expect_tensor(out, shape: tuple, kind: str = "float") -> str | None:
    """None when `out` is a tensor of `shape` and `kind` ('float' or 'integer') with finite values; else what
    is wrong, in words."""
    if not torch.is_tensor(out):
        return f"it returned {type(out).__name__}, not a torch tensor"
    if tuple(out.shape) != tuple(shape):
        return f"it returned shape {tuple(out.shape)}, expected {tuple(shape)}"
    if kind == "integer" and (out.is_floating_point() or out.is_complex() or out.dtype == torch.bool):
        return f"it returned dtype {out.dtype}, expected an integer tensor (e.g. torch.long)"
    if kind == "float" and not out.is_floating_point():
        return f"it returned dtype {out.dtype}, expected a floating-point tensor"
    if out.is_floating_point() and not torch.isfinite(out).all():
        bad = (~torch.isfinite(out)).sum().item()
        return (
            f"it returned NaN or infinity in {bad} of {out.numel()} values: look for a division by zero "
            "or a log of zero"
        )
    return None


def agrees_with(reference: Callable, rtol: float = 1e-4, atol: float = 1e-5, shape_of=None, kind: str = "float"):
    """A `judge` that compares the output with `reference` on the same inputs (shape, dtype kind, values)."""

    def judge(inputs: dict, out) -> str | None:
        expected = reference(*clone(inputs).values())
        if torch.is_tensor(expected):
            problem = expect_tensor(out, shape_of(inputs) if shape_of else expected.shape, kind)
            if problem:
                return problem
            if not same_output(out, expected, rtol, atol):
                diff = (out.double().cpu() - expected.double().cpu()).abs().max().item()
                return f"its values differ from the expected ones (largest difference {diff:.3g})"
            return None
        return None if same_output(out, expected, rtol, atol) else "its output differs from the expected one"

    return judge

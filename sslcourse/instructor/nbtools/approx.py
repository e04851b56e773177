"""Comparing a notebook cell's numbers within a stated tolerance under nbval.

Numbers that come out of training depend on the CPU's floating-point path (instruction set, thread count,
oneDNN's kernels): on another machine a CPU training curve behaves like another seed, so a strict comparison
of it is a coin toss. A cell that prints such numbers carries the tag `nbval-approx-<T>`: its text must match
the stored text exactly except that each number may differ from the stored one by at most T (in the printed
units; say in the notebook's source why T is what it is). nbval has no such mode, so `install` wraps its
comparison for those cells alone; every other cell is still compared strictly.
"""

from __future__ import annotations

import re

APPROX_TAG = re.compile(r"^nbval-approx-(\d+(?:\.\d+)?)$")
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def approx_tolerance(cell) -> float | None:
    """The tolerance a cell's `nbval-approx-<T>` tag states, or None for a strictly compared cell."""
    for tag in cell.get("metadata", {}).get("tags", []):
        match = APPROX_TAG.match(tag)
        if match:
            return float(match.group(1))
    return None


def approx_mismatches(fresh: str, stored: str, tolerance: float) -> list[str]:
    """What differs between two outputs beyond the tolerance: the text around the numbers, or a number."""
    if NUMBER.sub("#", fresh) != NUMBER.sub("#", stored):
        return [f"the text differs (numbers aside):\n--- stored\n{stored}\n--- fresh\n{fresh}"]
    return [
        f"{s} stored, {f} now: differs by {abs(float(f) - float(s)):g} > {tolerance:g}"
        for f, s in zip(NUMBER.findall(fresh), NUMBER.findall(stored))
        if abs(float(f) - float(s)) > tolerance
    ]


def _texts(cell_item, outputs) -> str:
    """The cell's printed text and plain-text results, sanitized as nbval sanitizes them."""
    parts = []
    for out in outputs:
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
    return cell_item.sanitize("".join(parts))


def install() -> None:
    """Make nbval compare cells tagged `nbval-approx-<T>` within their tolerance (idempotent)."""
    from nbval.plugin import IPyNbCell

    strict = IPyNbCell.compare_outputs
    if getattr(strict, "approx_aware", False):
        return

    def compare_outputs(self, test, ref, skip_compare=None):
        tolerance = approx_tolerance(self.cell)
        if tolerance is None:
            return strict(self, test, ref, skip_compare)
        problems = approx_mismatches(_texts(self, test), _texts(self, ref), tolerance)
        self.comparison_traceback = [f"outputs differ beyond the cell's tolerance of {tolerance:g}:", *problems]
        return not problems

    compare_outputs.approx_aware = True
    IPyNbCell.compare_outputs = compare_outputs

"""Experiments behind the notebooks: each a library function, runnable as
`python -m sslcourse.experiments.<topic> <experiment> --device cuda --out sslcourse/results/<topic>/<name>.json`.

What every experiment's command line shares lives here: its common options, refusing to overwrite a result,
the provenance each shipped result carries, and the label a plot gives its numbers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sslcourse import provenance as _provenance


def parser(
    topic: str, doc: str, experiments: list[str], out_help: str = "the JSON result", force_help: str = "replace --out"
) -> argparse.ArgumentParser:
    """`python -m sslcourse.experiments.TOPIC EXPERIMENT --device --out --force`, the options every topic has."""
    p = argparse.ArgumentParser(
        prog=f"python -m sslcourse.experiments.{topic}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("experiment", choices=experiments)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", required=True, help=out_help)
    p.add_argument("--force", action="store_true", help=force_help)
    p.add_argument(
        "--allow-dirty",
        action="store_true",
        help="write a shipped result (under sslcourse/results) from a tree with uncommitted changes",
    )
    return p


def add_training_options(p: argparse.ArgumentParser) -> None:
    """--compile, --seed and --quiet, for the topics whose experiments train through `sslcourse.train`."""
    p.add_argument("--compile", action="store_true", help="torch.compile the training step (GPU runs of minutes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")


def refuse_overwrite(*paths, force: bool, allow_dirty: bool = False) -> bool:
    """True (after saying why on stderr) when one of `paths` exists and `force` was not given, or would be
    a shipped result written from a dirty tree (see `sslcourse.provenance.require_clean`)."""
    try:
        _provenance.require_clean(*paths, allow_dirty=allow_dirty)
    except _provenance.DirtyTreeError as err:
        print(f"error: {err}", file=sys.stderr)
        return True
    for path in paths:
        if path is not None and Path(path).exists() and not force:
            print(f"error: {path} exists; pass --force to replace it", file=sys.stderr)
            return True
    return False


def provenance(device, command: str, seconds: float, seeds=None) -> dict:
    """Where, how and when a result was computed: `sslcourse.provenance.record`, the keys every shipped
    result JSON and card carries. The seeds, unless given, are the command's own (`--seed`, default 0)."""
    return _provenance.record(device, command, seconds, _provenance.seeds_in(command) if seeds is None else seeds)


def origin(record: dict) -> str:
    """' (short CPU run: indicative only, not the method at its scale)' or ' (GPU run (...))': every plot title says where
    its numbers come from, in the words of `sslcourse.provenance.label`."""
    return f" ({_provenance.label(record)})"

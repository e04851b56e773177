"""Experiments behind the notebooks: each a library function, runnable as
`python -m sslcourse.experiments.<topic> <experiment> --device cuda --out sslcourse/results/<topic>/<name>.json`.

What every experiment's command line shares lives here: its common options, refusing to overwrite a result,
the provenance each shipped result carries, and the label a plot gives its numbers.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path


def parser(topic: str, doc: str, experiments: list[str], out_help: str = "the JSON result",
           force_help: str = "replace --out") -> argparse.ArgumentParser:
    """`python -m sslcourse.experiments.TOPIC EXPERIMENT --device --out --force`, the options every topic has."""
    p = argparse.ArgumentParser(prog=f"python -m sslcourse.experiments.{topic}", description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", choices=experiments)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", required=True, help=out_help)
    p.add_argument("--force", action="store_true", help=force_help)
    return p


def add_training_options(p: argparse.ArgumentParser) -> None:
    """--compile, --seed and --quiet, for the topics whose experiments train through `sslcourse.train`."""
    p.add_argument("--compile", action="store_true", help="torch.compile the training step (GPU runs of minutes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")


def refuse_overwrite(*paths, force: bool) -> bool:
    """True (after saying why on stderr) when one of `paths` exists and `force` was not given."""
    for path in paths:
        if path is not None and Path(path).exists() and not force:
            print(f"error: {path} exists; pass --force to replace it", file=sys.stderr)
            return True
    return False


def provenance(device, command: str, seconds: float) -> dict:
    """Where, how and when a result was computed: the keys every shipped result JSON carries."""
    import torch

    from sslcourse.device import describe
    from sslcourse.pretrained import code_version

    return {"computed_on": "GPU" if device.type == "cuda" else device.type.upper(), "device": describe(device),
            "command": command, "code_version": code_version(), "torch": torch.__version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "wall_time_s": round(seconds, 1)}


def origin(record: dict) -> str:
    """' (small CPU run)' or ' (GPU run)': every plot title says where its numbers come from."""
    return " (small CPU run)" if record.get("computed_on") == "CPU" else f" ({record.get('computed_on', '?')} run)"

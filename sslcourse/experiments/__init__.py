"""Experiments behind the notebooks: each a library function, runnable as
`python -m sslcourse.experiments.<topic> <experiment> --device cuda --out sslcourse/results/<topic>/<name>.json`.

What every experiment's command line shares lives here: refusing to overwrite a result, the provenance
each shipped result carries, and the label a plot gives its numbers.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path


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

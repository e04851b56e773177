"""Where a number comes from: the one provenance record every shipped result and card carries, its label,
and the one model card every trainer writes.

A record says: the command, the commit (and whether the tree was clean), the seed(s), the device, the torch
version, the sha256 of the data it read, the wall time; never a path of the machine it ran on.

    rec = provenance.record(device, command, seconds, seeds=[0])
    provenance.label(rec)      # 'GPU run (NVIDIA H200)' or 'short CPU run: indicative only, not the method at its scale'

A shipped result must come from a committed tree: `require_clean(out)` refuses to write one from a dirty tree
unless asked (`--allow-dirty`), so anyone can check out the commit a result names and rerun its command.
Older results that predate a field say "not recorded" rather than a guess.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SHIPPED = (PACKAGE / "results", PACKAGE / "weights")  # what the repository ships: written from clean trees only
NOT_RECORDED = "not recorded"


class DirtyTreeError(RuntimeError):
    """A shipped result would name a commit that does not hold the code that made it."""


def _git(*args: str, root: Path = PACKAGE.parent) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()


def commit(root: Path = PACKAGE.parent) -> tuple[str, bool | None]:
    """(commit, clean): the checkout's short commit and whether its code matches it (None: unknown, a copy
    without .git such as a scratch folder or a GPU machine; set `$SSLCOURSE_CODE_VERSION` there, taken as clean
    unless it ends in '+dirty').

    Clean means no tracked file differs from the commit outside the shipped outputs (`SHIPPED`): a result or a
    card just rewritten is not code, so a rerun of several stand-ins in a row (scripts/cpu_standins.sh) still
    names the commit that holds the code of each. What a result reads besides code is named in its own record:
    the data by its sha256, a shipped model by its card's."""
    if os.environ.get("SSLCOURSE_CODE_VERSION"):
        v = os.environ["SSLCOURSE_CODE_VERSION"]
        return v.removesuffix("+dirty"), not v.endswith("+dirty")
    outputs = [f":(exclude){d.relative_to(PACKAGE.parent).as_posix()}" for d in SHIPPED]
    try:
        rev = _git("rev-parse", "--short", "HEAD", root=root)
        return rev, not _git("status", "--porcelain", "--untracked-files=no", "--", ".", *outputs, root=root)
    except (OSError, subprocess.SubprocessError):
        from sslcourse import __version__

        return f"sslcourse {__version__}", None


def code_version() -> str:
    """The commit, with '+dirty' when the tree had uncommitted changes."""
    rev, clean = commit()
    return rev + "+dirty" if clean is False else rev


def is_shipped(path: str | Path) -> bool:
    p = Path(path).resolve()
    return any(p.is_relative_to(root) for root in SHIPPED)


def require_clean(*outs, allow_dirty: bool = False) -> None:
    """Raise DirtyTreeError when any of `outs` is a shipped file and the tree is dirty (unless allow_dirty)."""
    shipped = [str(o) for o in outs if o is not None and is_shipped(o)]
    if not shipped or allow_dirty:
        return
    rev, clean = commit()
    if clean is False:  # unknown (no git) is not refused: such a copy says so in its record
        raise DirtyTreeError(
            f"{', '.join(shipped)} would be shipped from a tree with uncommitted changes on top of "
            f"{rev}: commit first (or pass --allow-dirty for a result you will not ship)"
        )


# --------------------------------------------------------------------------- the data it read
def _source_kind(text: str) -> str:
    """'the JPEG tree /machine/path/cifar10-jpeg' -> 'the JPEG tree cifar10-jpeg': the kind and the file's
    name, not where it sat on the machine."""
    for kind in ("the JPEG tree ", "the pack "):
        if text.startswith(kind):
            return kind + Path(text[len(kind) :].strip()).name
    return text


def sha256_file(path: Path) -> str:
    """sha256 of a file, read a megabyte at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@cache
def state_sha256(module) -> str:
    """sha256 of a module's parameters and buffers (each name, shape, dtype and raw bytes, in name order): the
    fingerprint of weights that exist only in memory, e.g. an untrained network evaluated as a floor."""
    import torch

    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name} {tuple(t.shape)} {t.dtype}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _file_sha256(path: str) -> str:
    return sha256_file(Path(path))


@cache
def _tree_sha256(root: str) -> str:
    """The data README's checksum: sha256 over the sorted `sha256sum` lines of every JPEG."""
    from sslcourse.pack import tree_checksum

    base = Path(root)
    return tree_checksum([(str(p.relative_to(base)), p.read_bytes()) for p in base.rglob("*.jpg")])


def data_record() -> dict:
    """What data the run read: its kind (no machine path) and a sha256 of it: of the pack file, of the JPEG
    tree (as the data README computes it), or 'not recorded' for the official download."""
    from sslcourse import data

    source = data.describe_source("train")
    if source == "not loaded yet":  # a run that reads the test split only
        source = data.describe_source("test")
    digest = NOT_RECORDED
    try:
        if source.startswith("the JPEG tree "):
            digest = _tree_sha256(source[len("the JPEG tree ") :].strip())
        elif source.startswith("the pack "):
            digest = _file_sha256(source[len("the pack ") :].strip())
    except OSError:
        pass
    return {"data_source": _source_kind(source), "data_sha256": digest}


# --------------------------------------------------------------------------- the record and its label
def seeds_in(command: str, default: int = 0) -> list[int]:
    """The seed(s) a command ran with: its `--seed` (or `--seeds a,b`) option, else the parsers' default, 0."""
    import shlex

    args = shlex.split(command)
    for flag in ("--seeds", "--seed"):
        if flag in args[:-1]:
            return [int(s) for s in args[args.index(flag) + 1].split(",")]
    return [default]


def record(device, command: str, seconds: float, seeds=(0,), at_start: tuple[str, bool | None] | None = None) -> dict:
    """The provenance keys of a result or a card. `device` is a torch.device (or None when nothing ran).
    `at_start`: `commit()` as it was when the run began (the code that ran; the tree may change while it
    runs), else the checkout's commit now."""
    import torch

    from sslcourse.device import describe

    rev, clean = at_start if at_start is not None else commit()
    on = "GPU" if device is not None and device.type == "cuda" else (device.type.upper() if device else "CPU")
    return {
        "computed_on": on,
        "device": describe(device) if device is not None else "cpu",
        "command": command,
        "code_version": rev + "+dirty" if clean is False else rev,
        "clean_tree": "unknown (no git)" if clean is None else clean,
        "seeds": list(seeds),
        "torch": torch.__version__,
        **data_record(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(seconds, 1),
    }


def scale(rec: dict) -> str:
    """'GPU', 'CPU' or 'simulated': how much a result can say (a CPU or simulated one is indicative only)."""
    if rec.get("simulated"):
        return "simulated"
    return "GPU" if rec.get("computed_on") == "GPU" else "CPU"


def label(rec: dict) -> str:
    """How a plot title or a table names where its numbers come from."""
    s = scale(rec)
    if s == "GPU":
        return f"GPU run ({rec.get('device', '?')})"
    what = "simulated" if s == "simulated" else "short CPU run"
    return f"{what}: indicative only, not the method at its scale"


# --------------------------------------------------------------------------- what a model is
def architecture(method: str, method_kwargs: dict) -> str:
    """The network a card's weights fill, named by what it is: 'ResNet-18, width 0.125, colour input',
    'ViT, width 96, depth 4, patch 4, grey... '. The default widths are the models' own (ResNet-18 0.5;
    the course's vit_tiny 192 wide, 6 deep)."""
    kw = method_kwargs or {}
    grey = method == "colorization"  # the colorizer's encoder sees only lightness L
    if kw.get("arch", "resnet18").startswith("vit"):
        dim, depth = kw.get("dim", 192), kw.get("depth", 6)
        return f"ViT, width {dim}, depth {depth}" + ("" if (dim, depth) == (192, 12) else " (ViT-Tiny: 192, 12)")
    return f"ResNet-18, width {kw.get('width', 0.5):g}, {'grey (L) input' if grey else 'colour input'}"


# --------------------------------------------------------------------------- the model card
def card(
    name: str,
    method: str,
    method_kwargs: dict,
    summary: str,
    dataset: str,
    run,
    cfg,
    device,
    command: str,
    metrics: dict | None = None,
    **extra,
) -> dict:
    """The one model card every trainer writes. `run` is a TrainResult, `cfg` its TrainConfig; `extra` adds
    what is particular to a method (e.g. `architecture`, `notes`). Names the architecture and width as built."""
    return {
        "name": name,
        "method": method,
        "method_kwargs": method_kwargs,
        "summary": summary,
        "dataset": dataset,
        "epochs": round(run.epochs, 2),
        "steps": run.steps,
        "config": dict(cfg.__dict__),
        "images_per_s": round(run.samples_per_s),
        "stopped_by": run.stopped_by,
        "final_loss": run.final_loss,
        "metrics": metrics or {},
        **extra,
        **{
            ("trained_on" if k == "computed_on" else k): v
            for k, v in record(device, command, run.seconds, seeds=[cfg.seed]).items()
        },
    }

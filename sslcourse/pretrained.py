"""Shipped weights: a safetensors file and a JSON card per entry, checked by sha256 on load.

A card says what produced the weights: method, architecture, data, epochs, device (GPU model, or
CPU, said plainly), wall time, metrics, the exact command, and the code version. Registry entries
live in `sslcourse/weights/NAME.{safetensors,json}`; a training run writes the same pair into its
output folder as `model.safetensors` and `card.json`, and `python -m sslcourse ship` copies a run
into the registry.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from torch import nn

from sslcourse import provenance
from sslcourse.provenance import sha256_file

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

# Entries that were shipped under another name: an old notebook that asks for one gets told the new name.
RENAMED = {"mae_vit_tiny": "mae_vit"}  # a ViT of width 96 and depth 4 is not ViT-Tiny (192 wide, 12 deep)


class WeightsError(RuntimeError):
    """Weights that are missing, altered, or do not match their card."""


def code_version() -> str:
    """The git commit of this checkout ('+dirty' with uncommitted changes): `sslcourse.provenance.code_version`."""
    return provenance.code_version()


def save(method: nn.Module, out_dir: str | Path, card: dict) -> Path:
    """Write `model.safetensors` (fp16) and `card.json` (with the sha256 filled in) into out_dir."""
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if v.is_floating_point() else v).contiguous().cpu() for k, v in method.state_dict().items()}
    weights = out_dir / "model.safetensors"
    save_file(state, str(weights))
    card = {
        **card,
        "weights": weights.name,
        "dtype": "float16",
        "sha256": sha256_file(weights),
        "size_bytes": weights.stat().st_size,
    }
    (out_dir / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    return weights


def _entry(name: str | Path) -> tuple[Path, Path]:
    """(weights file, card file) for a registry name, a run folder, or a weights file with its card beside."""
    p = Path(name)
    if (WEIGHTS_DIR / f"{name}.json").is_file():
        return WEIGHTS_DIR / f"{name}.safetensors", WEIGHTS_DIR / f"{name}.json"
    if p.is_dir() and (p / "card.json").is_file():
        return p / "model.safetensors", p / "card.json"
    if p.suffix == ".safetensors" and p.with_suffix(".json").is_file():
        return p, p.with_suffix(".json")
    if p.suffix == ".safetensors" and (p.parent / "card.json").is_file():
        return p, p.parent / "card.json"
    if str(name) in RENAMED:
        raise WeightsError(f"the weights {str(name)!r} are now called {RENAMED[str(name)]!r}: load that name instead")
    names = ", ".join(available()) or "none yet"
    raise WeightsError(
        f"no weights called {str(name)!r}: not a shipped entry ({names}), "
        "nor a run folder with card.json, nor a .safetensors file with its card beside it"
    )


def available() -> list[str]:
    """Names of the shipped entries."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.json"))


def _remedy(weights: Path, info: dict) -> str:
    """What to do about a bad weights file: a shipped entry comes back from git (or a fresh ship), a run's
    own file only from retraining."""
    retrain = f"retrain with: {info.get('command', '(the card names no command)')}"
    if weights.resolve().parent == WEIGHTS_DIR.resolve():
        return (
            f"restore it with `git checkout -- sslcourse/weights/{weights.name}` (or reinstall sslcourse), "
            f"re-ship it from its run folder with `python -m sslcourse ship RUN {weights.stem} --force`, or {retrain}"
        )
    return retrain


def _read_card(card_path: Path) -> dict:
    """A card's JSON, or a WeightsError that names the file: never a traceback from deep inside json."""
    try:
        info = json.loads(card_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise WeightsError(
            f"{card_path} is not a readable weights card ({err}); restore it with `git checkout -- {card_path}` "
            "if it is a shipped entry, else rerun the training that wrote it"
        ) from err
    if not isinstance(info, dict):
        raise WeightsError(f"{card_path} holds a JSON {type(info).__name__}, not a card (an object); restore it")
    return info


def _checked_sha256(card_path: Path, info: dict) -> str:
    """The card's sha256: the one thing that ties it to its weights, so a card without it cannot vouch for them."""
    sha = info.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64:
        raise WeightsError(
            f"{card_path} has no valid sha256 (found {sha!r}), so its weights cannot be checked; restore the card "
            f"with `git checkout -- {card_path}`, or re-ship its run with `python -m sslcourse ship RUN NAME --force`"
        )
    return sha


def card(name: str | Path) -> dict:
    """The card of a shipped name, a run folder, or a .safetensors file (WeightsError if it cannot be read)."""
    return _read_card(_entry(name)[1])


def _verified(weights: Path, card_path: Path) -> dict:
    """The card of a weights file that is there and whose sha256 matches it; else a WeightsError that says
    which file is wrong and how to get it back."""
    info = _read_card(card_path)
    sha = _checked_sha256(card_path, info)
    if not weights.is_file():
        raise WeightsError(f"{weights} is missing (its card {card_path} is there); {_remedy(weights, info)}")
    got = sha256_file(weights)
    if got != sha:
        raise WeightsError(
            f"{weights} does not match its card: sha256 {got[:12]}... but the card says {sha[:12]}... "
            f"The file was changed or truncated ({weights.stat().st_size} bytes, the card says "
            f"{info.get('size_bytes', '?')}); {_remedy(weights, info)}"
        )
    return info


def load(name: str | Path, device: torch.device | str | None = None, full: bool = False) -> nn.Module:
    """A ready model in eval mode: the backbone (default) or the whole method (`full=True`).

    The weights file's sha256 must match its card, and the file must parse; anything wrong (missing, truncated,
    altered, a card without sha256 or not JSON) raises WeightsError naming the file and saying how to recover.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from sslcourse import methods
    from sslcourse.device import pick_device

    weights, card_path = _entry(name)
    info = _verified(weights, card_path)
    device = pick_device(device, verbose=False) if device is None or isinstance(device, str) else device
    method = methods.build(info["method"], **info.get("method_kwargs", {}))
    try:
        state = load_file(str(weights))
    except SafetensorError as err:  # a file its card vouches for but safetensors cannot parse: written broken
        raise WeightsError(f"{weights} is not a readable safetensors file ({err}); {_remedy(weights, info)}") from err
    own = method.state_dict()
    state = {k: v.to(own[k].dtype) if k in own else v for k, v in state.items()}  # fp16 on disk, fp32 in use
    try:
        method.load_state_dict(state, strict=True)
    except RuntimeError as err:  # keys or shapes that are not the card's method: first lines name them
        lines = str(err).splitlines()
        raise WeightsError(
            f"{weights} does not fit the method its card {card_path} describes "
            f"({info['method']}, {info.get('method_kwargs', {})}): {' '.join(lines[:3])}; {_remedy(weights, info)}"
        ) from err
    method.to(device).eval()
    return method if full else method.backbone


def ship(run_dir: str | Path, name: str, force: bool = False, allow_dirty: bool = False) -> Path:
    """Copy a run's weights and card into the registry as NAME (never overwriting without force, never a
    run whose card names a dirty tree without allow_dirty: its commit would not hold the code that made it)."""
    src_w, src_c = _entry(run_dir)
    dst_w, dst_c = WEIGHTS_DIR / f"{name}.safetensors", WEIGHTS_DIR / f"{name}.json"
    if (dst_w.exists() or dst_c.exists()) and not force:
        raise FileExistsError(f"{name} is already shipped ({dst_c}); pass force=True (--force) to replace it")
    info = _verified(src_w, src_c)
    if str(info.get("code_version", "")).endswith("+dirty") and not allow_dirty:
        raise WeightsError(
            f"{src_c} was trained from a tree with uncommitted changes ({info['code_version']}); "
            "commit and retrain, or pass allow_dirty=True (--allow-dirty)"
        )
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    tmp = dst_w.with_name(dst_w.name + f".tmp{os.getpid()}")
    shutil.copyfile(src_w, tmp)
    os.replace(tmp, dst_w)
    dst_c.write_text(json.dumps({**info, "name": name, "weights": dst_w.name}, indent=2) + "\n")
    return dst_w

"""Context prediction's experiments (notebook 01): each one a function, and a command that writes a JSON result
with its provenance.

    python -m sslcourse.experiments.context gapjitter --device cuda --epochs 100 --width 0.5 --batch-size 512 \
        --probe-train 50000 --test-subset 10000 --out sslcourse/results/context/gap_jitter.json \
        --run runs/context_resnet18 --force
    python -m sslcourse ship runs/context_resnet18 context_resnet18 --force
    python -m sslcourse eval context_resnet18 --device cuda --out sslcourse/results/protocol/context_resnet18.json --force
    python -m sslcourse.experiments.context aberration --device cuda --epochs 30 --width 0.5 --batch-size 512 \
        --test-subset 10000 --out sslcourse/results/context/aberration.json --force

`gapjitter` trains one pair network with the cures (gap and jitter) and one without, with equal budgets, and
scores each by its pretext accuracy on held-out pairs and by probes of its backbone; `--run` also saves the
cured model as a run folder to ship. `aberration` trains an absolute-position regressor on patches of
aberrated images (raw, projected, colour-dropped) and on clean ones (the control). `--help` lists the budgets.
Every result says where it was computed ("computed_on": "GPU" or "CPU"), the exact command, the code
version, the date, the wall time and every setting, so a small CPU run can never pass for the real one.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import torch

from sslcourse import data, evaluate, methods, pretrained, stats
from sslcourse.experiments.runner import Experiment, Option, Run, Topic
from sslcourse.methods.context import sample_patch_pairs, upsample
from sslcourse.methods.context_shortcuts import PositionRegressor, border_match
from sslcourse.models import build_model
from sslcourse.train import TrainConfig, train
from sslcourse.verdicts import Value

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results" / "context"


def load(name: str) -> dict:
    """A shipped result, e.g. load("gap_jitter")."""
    return json.loads((RESULTS_DIR / f"{name}.json").read_text())


def balanced(images: torch.Tensor, labels: torch.Tensor, n: int | None):
    """A balanced subset of n images (all of them when n is None)."""
    keep = data.balanced_subset(labels, n)
    return images[keep], labels[keep]


# --------------------------------------------------------------------------- the building blocks
def _finite(value: float, digits: int = 4):
    """A number for JSON: None when it is NaN (a run stopped before its first loss record) or infinite."""
    return round(value, digits) if value == value and abs(value) != float("inf") else None


def pretrain(train_images: torch.Tensor, cfg: TrainConfig, device, method_kw: dict, progress: bool = False):
    """Train a pair network without labels. Returns (the model, its TrainResult)."""
    torch.manual_seed(cfg.seed)
    model = methods.build("context", **method_kw)
    no_labels = torch.zeros(len(train_images), dtype=torch.long)  # the pretext never reads them
    return model, train(model, train_images, no_labels, cfg, device=device, progress=progress)


def probe(backbone, probe_train, probe_test, device) -> dict:
    """kNN (k = 20) and linear probe on the frozen backbone's features (whole images, upsampled as in training)."""
    f_train = evaluate.extract_features(backbone, probe_train[0], batch_size=500, device=device)
    f_test = evaluate.extract_features(backbone, probe_test[0], batch_size=500, device=device)
    knn = evaluate.knn_accuracy(f_train, probe_train[1], f_test, probe_test[1], k=min(20, len(f_train)))["knn_top1"]
    linear = evaluate.linear_probe(f_train, probe_train[1], f_test, probe_test[1])["linear_top1"]
    return {"knn_top1": round(knn, 2), "linear_top1": round(linear, 2)}


# --------------------------------------------------------------------------- experiment 1: gap and jitter
VARIANTS = {"cured": {"gap": 4, "jitter": 2}, "no gap, no jitter": {"gap": 0, "jitter": 0}}


def gap_jitter(
    train_images,
    probe_train,
    probe_test,
    pretext_test,
    cfg: TrainConfig,
    device,
    method_kw: dict,
    variants=VARIANTS,
    progress: bool = False,
    keep: str | None = "cured",
):
    """One pair network per variant, equal budgets. Each is scored by its pretext accuracy on held-out pairs
    sampled its own way and the cured way, and by kNN and a linear probe of its backbone; an untrained backbone
    of the same shape is the floor. Returns (results, the model of variant `keep`, its TrainResult)."""
    torch.manual_seed(cfg.seed)
    untrained = methods.build("context", **method_kw).to(device)
    rows = {
        "random init": {
            **probe(untrained.backbone, probe_train, probe_test, device),
            "pretext_top1": round(untrained.pretext_accuracy(pretext_test), 2),
        }
    }
    kept = None
    cured = VARIANTS["cured"]
    for name, setting in variants.items():
        model, run = pretrain(train_images, cfg, device, {**method_kw, **setting}, progress)
        rows[name] = {
            **setting,
            "pretext_top1": round(model.pretext_accuracy(pretext_test), 2),
            "pretext_top1_cured_pairs": round(model.pretext_accuracy(pretext_test, **cured), 2),
            **probe(model.backbone, probe_train, probe_test, device),
            "epochs": round(run.epochs, 2),
            "steps": run.steps,
            "seconds": round(run.seconds, 1),
            "final_loss": _finite(run.final_loss),
        }
        print(f"{name}: {rows[name]}", flush=True)
        if name == keep:
            kept = (model, run)
    return {"variants": rows}, kept


# --------------------------------------------------------------------------- the border shortcut, measured
def border_shortcut(
    images: torch.Tensor,
    gap: int,
    jitter: int,
    patch: int = 16,
    scale: float = 2.0,
    seed: int = 0,
    batch_size: int = 1000,
) -> torch.Tensor:
    """Does border matching (`context_shortcuts.border_match`: no learning, no parameters) place the neighbour?
    One pair per image, cut with `gap` and `jitter` from the image upsampled by `scale` (as the pair network
    sees it); a seed makes the draws (grid places, neighbours, jitter) repeatable.

    Shape: uint8 (N, 3, H, W) -> bool (N,): True where it named the neighbour's position.
    """
    g = torch.Generator().manual_seed(seed)
    hits = []
    for batch in images.split(batch_size):
        x = upsample(batch.float() / 255, scale)
        center, neighbor, labels = sample_patch_pairs(x, patch, gap, jitter, g)
        hits.append(border_match(center, neighbor) == labels)
    return torch.cat(hits)


def compare_border_shortcut(images: torch.Tensor, gap: int, jitter: int, baseline=VARIANTS["cured"], **kw) -> dict:
    """Border matching's accuracy (%) at a gap and jitter and at `baseline`'s (the course's 4 and 2), on the
    same images, each with its binomial standard error, and their difference with the paired standard error
    (`stats.paired_difference_se`: one pair per image on both sides). Returns {"mine", "baseline",
    "difference"}: `verdicts.Value`s, plus "n" and "chance" (12.5)."""
    mine = border_shortcut(images, gap, jitter, **kw).float()
    base = border_shortcut(images, baseline["gap"], baseline["jitter"], **kw).float()
    n = len(mine)

    def value(hits):
        percent = 100 * hits.mean().item()
        return Value(percent, stats.binomial_se(percent, n), f"binomial on {n} test images")

    diff = Value(
        100 * (mine.mean() - base.mean()).item(),
        stats.paired_difference_se(mine.numpy(), base.numpy()),
        f"paired over the same {n} test images",
    )
    return {"mine": value(mine), "baseline": value(base), "difference": diff, "n": n, "chance": 100 / 8}


# --------------------------------------------------------------------------- experiment 2: chromatic aberration
CONDITIONS = {  # name: (aberration strength factor, colour treatment)
    "clean images (control)": (0.0, "rgb"),
    "aberrated, raw colour": (1.0, "rgb"),
    "aberrated, projected": (1.0, "project"),
    "aberrated, colour dropped": (1.0, "drop"),
}


def aberration(
    train_images,
    test_images,
    strength: float,
    cfg: TrainConfig,
    device,
    width: float,
    conditions=CONDITIONS,
    progress: bool = False,
) -> dict:
    """One absolute-position regressor per condition, equal budgets, each scored on held-out images by the
    mean distance between predicted and true patch positions, next to always guessing the centre."""
    rows = {}
    for name, (factor, colour) in conditions.items():
        torch.manual_seed(cfg.seed)
        model = PositionRegressor(build_model("resnet18", width=width), strength * factor, colour)
        run = train(
            model, train_images, torch.zeros(len(train_images), dtype=torch.long), cfg, device=device, progress=progress
        )
        scores = model.evaluate(test_images.to(device))
        rows[name] = {
            "strength": strength * factor,
            "colour": colour,
            "error": round(scores["error"], 4),
            "centre_error": round(scores["centre_error"], 4),
            "n_patches": scores["n_patches"],
            "epochs": round(run.epochs, 2),
            "seconds": round(run.seconds, 1),
        }
        print(f"{name}: {rows[name]}", flush=True)
    return {"conditions": rows}


# --------------------------------------------------------------------------- a run folder to ship
def save_run(
    out: Path, model, run, method_kw: dict, cfg: TrainConfig, device, n_train: int, pretext: float, command: str
) -> dict:
    """Write model.safetensors + card.json, which `python -m sslcourse ship RUN NAME` puts into the registry."""
    from sslcourse.provenance import architecture
    from sslcourse.provenance import card as model_card

    card = model_card(
        out.name,
        "context",
        method_kw,
        methods.get("context").summary,
        f"CIFAR-10 train ({n_train} images, labels unused)",
        run,
        cfg,
        device,
        command,
        {"pretext_top1": round(pretext, 2)},
        architecture=architecture("context", method_kw),
    )
    card["final_loss"] = _finite(run.final_loss)
    if device.type != "cuda":
        card["notes"] = (
            f"A SHORT {card['trained_on']} RUN ({card['wall_time_s']:.0f} s, {card['epochs']:g} epochs, "
            f"ResNet-18 width {method_kw.get('width')}): enough to show the notebook's effects, far from "
            "what context prediction can do. The GPU commands are in sslcourse/experiments/context.py's docstring."
        )
    pretrained.save(model, out, card)
    return card


# --------------------------------------------------------------------------- command line
def _config(run: Run) -> TrainConfig:
    """The context recipe with the command line's budget; recorded with the result."""
    a = run.args
    cfg = replace(
        methods.get("context").recipe,
        epochs=a.epochs,
        minutes=a.minutes,
        batch_size=a.batch_size,
        lr=a.lr,
        seed=a.seed,
        compile=a.compile,
    )
    run.settings["config"] = dict(cfg.__dict__)
    return cfg


def _data(run: Run):
    """(train images, train labels), (test images, test labels): balanced subsets of the sizes asked for."""
    train = balanced(*data.load_cifar10("train"), run.args.train_subset)
    test = balanced(*data.load_cifar10("test"), run.args.test_subset)
    return train, test


def _gapjitter(run: Run) -> dict:
    a, cfg = run.args, _config(run)
    (train_x, train_y), (test_x, test_y) = _data(run)
    method_kw = {"arch": "resnet18", "width": a.width}
    probe_train = balanced(train_x, train_y, a.probe_train)
    results, (model, trained) = gap_jitter(
        train_x, probe_train, (test_x, test_y), test_x, cfg, run.device, method_kw, progress=not a.quiet
    )
    if a.run:
        save_run(
            Path(a.run),
            model,
            trained,
            {**method_kw, **VARIANTS["cured"]},
            cfg,
            run.device,
            len(train_x),
            results["variants"]["cured"]["pretext_top1"],
            run.command,
        )
    return {**results, "n_train": len(train_x), "n_test": len(test_x)}


def _aberration(run: Run) -> dict:
    a, cfg = run.args, _config(run)
    (train_x, _), (test_x, _) = _data(run)
    results = aberration(train_x, test_x, a.strength, cfg, run.device, a.width, progress=not a.quiet)
    return {**results, "n_train": len(train_x), "n_test": len(test_x)}


CLI = Topic(
    "context",
    __doc__,
    {
        "gapjitter": Experiment(
            _gapjitter,
            "the pair network with the cures and without, equal budgets",
            (
                Option("--run", help="also save the cured model as a run folder here (to ship)"),
                Option("--probe-train", type=int, default=10000, help="images for the probes' training"),
            ),
        ),
        "aberration": Experiment(
            _aberration,
            "absolute position from aberrated patches, and from clean ones",
            (Option("--strength", type=float, default=0.05, help="green shrinks by this factor at the edge"),),
        ),
    },
    options=(
        Option("--train-subset", type=int, help="pre-train on a balanced subset of N images"),
        Option("--test-subset", type=int, default=2000, help="held-out test images for every score"),
        Option("--epochs", type=float, default=100),
        Option("--minutes", type=float, help="wall-clock budget per model (the schedule follows it)"),
        Option("--batch-size", type=int, default=256),
        Option("--lr", type=float, default=2e-3),
        Option("--width", type=float, default=0.5, help="ResNet-18 width (the course's 0.5; 0.125 for CPU runs)"),
    ),
    outputs=("run",),
    echo=True,
)
_parser, main = CLI.parser, CLI.main


if __name__ == "__main__":
    sys.exit(main())

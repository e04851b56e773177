"""Colorization's experiments (notebook 02): each one a function, and a command that writes a JSON result.

    python -m sslcourse.experiments.colorization prior   --out sslcourse/results/colorization/prior.json
    python -m sslcourse.experiments.colorization train   --loss rebalanced --device cuda --out runs/colorization_rebalanced
    python -m sslcourse.experiments.colorization measure --runs runs/colorization_l2,runs/colorization_classification,runs/colorization_rebalanced --out sslcourse/results/colorization/losses.json
    python -m sslcourse.experiments.colorization rarity  --out sslcourse/results/colorization/rarity.json

The GPU run (three losses, equal budgets; then ship the rebalanced model and add it to the scoreboard):

    for loss in l2 classification rebalanced; do
      python -m sslcourse.experiments.colorization train --loss $loss --device cuda --width 0.5 --epochs 30 --batch-size 256 --out runs/colorization_$loss --force
    done
    python -m sslcourse.experiments.colorization measure --device cuda --runs runs/colorization_l2,runs/colorization_classification,runs/colorization_rebalanced --sample-indices 429,1917,2890,3531,4919,5592,6044,7532,8223,9399,988,1496 --out sslcourse/results/colorization/losses.json --force
    python -m sslcourse ship runs/colorization_rebalanced colorization_resnet18 --force
    python -m sslcourse eval colorization_resnet18 --device cuda --out sslcourse/results/protocol/colorization_resnet18.json --force

Every result says where it was computed ("computed_on": "GPU" or "CPU"), the exact command, the code version,
the date and the wall time, so a small CPU run can never pass for the real one.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import torch

from sslcourse import data, methods, pretrained, stats
from sslcourse.experiments.runner import CommandError, Experiment, Option, Run, Topic
from sslcourse.methods import colorization as col
from sslcourse.methods.colorization_bins import (
    ab_histogram,
    in_gamut_bins,
    nearest_bin,
    rgb_to_lab,
    smooth_prior,
)
from sslcourse.train import train
from sslcourse.verdicts import Value

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results" / "colorization"
THRESHOLDS = torch.arange(0, 151, dtype=torch.float32)  # ab distances 0..150, the paper's Figure 4 / Table 1
SAMPLE_IMAGES = 12  # test images whose colorizations by every loss are shipped in samples.json


def load(name: str) -> dict:
    """A shipped result, e.g. load("losses")."""
    return json.loads((RESULTS_DIR / f"{name}.json").read_text())


def shipped_prior() -> tuple[torch.Tensor, torch.Tensor]:
    """(centers (Q, 2), smoothed prior (Q,)) of CIFAR-10's training set, from prior.json."""
    r = load("prior")["results"]
    return torch.tensor(r["centers"]), torch.tensor(r["prior"])


def test_subset(n: int | None):
    """(images, labels, indices into the test set) of CIFAR-10's test set, a balanced subset of n when given."""
    x, y = data.load_cifar10("test")
    keep = data.balanced_subset(y, n)
    return x[keep], y[keep], keep


# --------------------------------------------------------------------------- the prior and the bins
def gamut_counts(grid: int = 10) -> dict:
    """How many ab cells the sRGB gamut reaches under a few conventions, to set beside the paper's 313."""
    from sslcourse.methods.colorization_bins import _rgb_cube_surface

    ab = rgb_to_lab(_rgb_cube_surface(256)[:, :, None])[1:, :, 0]  # (2, n) every 8-bit colour on the surface
    v = torch.linspace(0, 1, 64, dtype=torch.float64)
    lab = rgb_to_lab(torch.cartesian_prod(v, v, v).T[:, :, None])[:, :, 0]  # (3, 64^3) the whole cube, coarser
    mid = lab[1:, (lab[0] - 50).abs() <= 5]  # a slice of the gamut: lightness 45..55 only

    def count(points, rule=torch.round):
        return torch.unique(rule(points / grid).long(), dim=1).shape[1]

    return {
        "nearest_centre": count(ab),
        "floor_cells": count(ab, torch.floor),
        "whole_cube_64_levels": count(lab[1:]),
        "lightness_45_to_55_only": count(mid),
        "paper": 313,
    }


def cifar_prior(images: torch.Tensor, sigma: float = 5.0) -> dict:
    """The empirical ab distribution of `images` over the in-gamut bins, and its Gaussian-smoothed version."""
    centers = in_gamut_bins()
    counts = ab_histogram(images, centers)
    prior = smooth_prior(counts, centers, sigma)
    return {
        "centers": centers.tolist(),
        "counts": counts.long().tolist(),
        "prior": prior.tolist(),
        "sigma": sigma,
        "n_pixels": int(counts.sum()),
        "n_bins": len(centers),
        "gamut_counts": gamut_counts(),
    }


# --------------------------------------------------------------------------- training
def build(loss: str, prior: torch.Tensor, width: float = 0.25, **kw) -> col.Colorizer:
    return methods.build("colorization", arch="resnet18", loss=loss, prior=prior, width=width, **kw)


def train_run(
    out: Path, loss: str, train_set, cfg, device, width: float, command: str = "", progress: bool = False
) -> dict:
    """Train one colorizer without labels and write a run folder (model.safetensors + card.json) that
    `python -m sslcourse ship RUN NAME` puts into the registry."""
    from sslcourse.provenance import architecture
    from sslcourse.provenance import card as model_card

    torch.manual_seed(cfg.seed)
    _, prior = shipped_prior()
    model = build(loss, prior, width)
    run = train(model, *train_set, cfg, device=device, progress=progress)
    card = model_card(
        out.name,
        "colorization",
        {"arch": "resnet18", "loss": loss, "lam": model.lam, "width": width},
        methods.get("colorization").summary,
        f"CIFAR-10 train ({len(train_set[0])} images, labels unused)",
        run,
        cfg,
        device,
        command,
        architecture=architecture("colorization", {"arch": "resnet18", "width": width}),
    )
    pretrained.save(model, out, card)
    return card


# --------------------------------------------------------------------------- measurements
def ab_of(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(L (N, 1, H, W), ab (N, 2, H, W)) of uint8 RGB images."""
    lab = rgb_to_lab(images.float() / 255)
    return lab[:, :1], lab[:, 1:]


def predict(
    model: col.Colorizer, L: torch.Tensor, T: float = col.T_PAPER, batch_size: int = 500, decode=col.annealed_mean
) -> torch.Tensor:
    """ab predicted for every image, in eval mode. Shape: (N, 1, H, W) -> (N, 2, H, W) on the CPU."""
    device = model.centers.device
    model.eval()
    return torch.cat([model.predict_ab(b.to(device), T, decode).cpu() for b in L.split(batch_size)])


def within_curve(pred_ab: torch.Tensor, true_ab: torch.Tensor, pixel_weights: torch.Tensor | None = None):
    """The fraction of pixels (weighted) whose predicted ab lies within d of the truth, for d in THRESHOLDS.
    Shape: (N, 2, H, W) twice, weights (N, H, W) or None -> (151,)."""
    d = (pred_ab.float() - true_ab.float()).norm(dim=1).flatten()  # (N*H*W,)
    w = torch.ones_like(d) if pixel_weights is None else pixel_weights.flatten().float()
    first = torch.bucketize(d, THRESHOLDS)  # the first threshold t with d <= t (151: beyond them all)
    mass = torch.bincount(first, weights=w.double(), minlength=len(THRESHOLDS) + 1)[: len(THRESHOLDS)]
    return (mass.cumsum(0) / w.double().sum()).float()


def auc(pred_ab: torch.Tensor, true_ab: torch.Tensor, pixel_weights: torch.Tensor | None = None) -> float:
    """Area under `within_curve` for d = 0..150, in percent (the paper's per-pixel accuracy, Table 1)."""
    within = within_curve(pred_ab, true_ab, pixel_weights)
    return 100 * torch.trapezoid(within, THRESHOLDS).item() / (THRESHOLDS[-1] - THRESHOLDS[0]).item()


def rarity_weights(true_ab: torch.Tensor, centers: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
    """Each pixel weighted by 1 / p(its true colour's bin), normalised to mean 1 (the paper's class-rebalanced
    accuracy). Shape: (N, 2, H, W) -> (N, H, W)."""
    bins = nearest_bin(true_ab.permute(0, 2, 3, 1).reshape(-1, 2), centers)
    w = col.rebalance_weights(prior.double(), lam=0.0)[bins]
    return (w / w.mean()).reshape(true_ab.shape[0], *true_ab.shape[2:]).float()


def per_image_auc(pred_ab: torch.Tensor, true_ab: torch.Tensor, pixel_weights: torch.Tensor):
    """(each image's weighted AuC in percent (N,), each image's total weight (N,)): the rarity-weighted AuC
    is their weighted mean, sum(W A) / sum(W), so its standard error can be computed over images. A pixel's
    area under its own within-d step (trapezoid over THRESHOLDS, as `auc`) is (K - 1 - first + 1/2) / (K - 1),
    1 when it is exact, 0 beyond the last threshold. Shape: (N, 2, H, W) twice, (N, H, W) -> (N,), (N,)."""
    d = (pred_ab.float() - true_ab.float()).norm(dim=1)  # (N, H, W)
    k = len(THRESHOLDS)
    first = torch.bucketize(d, THRESHOLDS).double()  # the first threshold t with d <= t (k: beyond them all)
    area = ((k - 1 - first).clamp(min=0) + 0.5 * ((first >= 1) & (first <= k - 1))) / (k - 1)  # (N, H, W)
    w = pixel_weights.double()
    total = w.sum(dim=(1, 2))  # (N,)
    return 100 * (w * area).sum(dim=(1, 2)) / total, total


def rarity_noise(pred_ab: torch.Tensor, true_ab: torch.Tensor, pixel_weights: torch.Tensor) -> dict:
    """The rarity-weighted AuC's standard error over test images (`stats.weighted_mean_se`) and how many
    effective images its weights leave (`stats.effective_n`): 1/p weights let a few rare images dominate."""
    a, w = per_image_auc(pred_ab, true_ab, pixel_weights)
    return {
        "auc_rebalanced_se": round(stats.weighted_mean_se(a.numpy(), w.numpy()), 3),
        "effective_images": round(stats.effective_n(w.numpy()), 1),
    }


def chroma(ab: torch.Tensor) -> float:
    """Mean chroma sqrt(a^2 + b^2): how colourful. Shape: (N, 2, H, W) -> float."""
    return ab.norm(dim=1).mean().item()


def measure(pred_ab: torch.Tensor, true_ab: torch.Tensor, centers, prior) -> dict:
    w = rarity_weights(true_ab, centers, prior)
    curve = within_curve(pred_ab, true_ab)
    return {
        "auc": round(auc(pred_ab, true_ab), 2),
        "auc_rebalanced": round(auc(pred_ab, true_ab, w), 2),
        **rarity_noise(pred_ab, true_ab, w),
        "mean_chroma": round(chroma(pred_ab), 2),
        "curve": [round(v, 4) for v in curve[::5].tolist()],
    }


def measure_runs(runs: dict[str, str], test_set, device, T: float = col.T_PAPER) -> dict:
    """Per-pixel accuracy (plain and rarity-weighted) and colourfulness of every run, of a grey guess and of
    the truth; plus the colorizations of the first SAMPLE_IMAGES test images, for the notebook's pictures."""
    centers, prior = shipped_prior()
    L, true_ab = ab_of(test_set[0])
    rows = {
        "grey (ab = 0)": measure(torch.zeros_like(true_ab), true_ab, centers, prior),
        "ground truth": measure(true_ab, true_ab, centers, prior),
    }
    samples = {}
    for name, run in runs.items():
        model = pretrained.load(run, device=device, full=True)
        pred = predict(model, L, T)
        rows[name] = measure(pred, true_ab, centers, prior)
        if model.loss != "l2":  # the mode (T -> 0) and the mean (T = 1) for comparison
            rows[name]["mean_chroma_T1"] = round(chroma(predict(model, L, 1.0)), 2)
        samples[name] = pred[:SAMPLE_IMAGES].round().to(torch.int8).tolist()
        print(f"{name}: {rows[name]}", flush=True)
    return {
        "rows": rows,
        "samples": samples,
        "sample_indices": test_set[2][:SAMPLE_IMAGES].tolist(),
        "T": T,
        "curve_thresholds": THRESHOLDS[::5].tolist(),
    }


# --------------------------------------------------------------------------- a student's short run
def chroma_value(pred_ab: torch.Tensor) -> Value:
    """Mean chroma with its standard error over images (each image's mean chroma is one sample; pixels of an
    image are not independent). Shape: (N, 2, H, W) -> Value."""
    per_image = pred_ab.float().norm(dim=1).mean(dim=(1, 2)).double().numpy()  # (N,)
    if len(per_image) < 2:
        raise ValueError(f"a standard error over images needs at least 2 test images, got {len(per_image)}")
    se = float(per_image.std(ddof=1) / len(per_image) ** 0.5)
    return Value(float(per_image.mean()), se, f"spread over {len(per_image)} test images, one seed")


def short_run(
    loss: str,
    train_images: torch.Tensor,
    test_images: torch.Tensor,
    seconds: float | None,
    device,
    epochs: float = 10.0,
    batch_size: int = 64,
    width: float = 0.25,
    seed: int = 0,
) -> dict:
    """Train one colorizer with `loss` for `seconds` of wall clock (or `epochs` over `train_images`, whichever
    ends first; None: epochs only), from the shipped runs' recipe (AdamW, lr 2e-3) but with smaller batches, as
    a short run needs its steps; then measure it on `test_images` as `measure_runs` measures the shipped runs
    (annealed mean, T = 0.38). Returns {"model", "run" (TrainResult), "chroma" (a Value, SE over images),
    "auc", "auc_over_grey" (a Value: the plain AuC minus that of painting every pixel grey, on the same
    images, with the paired SE), "auc_rebalanced" and its SE, "n_test"}."""
    if loss not in col.LOSSES:
        raise ValueError(f"loss must be one of {col.LOSSES}, got {loss!r}")
    if seconds is not None and seconds <= 0:
        raise ValueError(f"seconds must be positive (or None for an epoch budget), got {seconds}")
    centers, prior = shipped_prior()
    torch.manual_seed(seed)
    model = build(loss, prior, width)
    cfg = replace(
        methods.get("colorization").recipe,
        epochs=epochs,
        minutes=None if seconds is None else seconds / 60,
        batch_size=min(batch_size, len(train_images)),
        seed=seed,
        nan_check_every=10,
    )
    no_labels = torch.zeros(len(train_images), dtype=torch.long)  # colorization never reads them
    run = train(model, train_images, no_labels, cfg, device=device, progress=False)
    L, true_ab = ab_of(test_images)
    pred = predict(model, L)
    row = measure(pred, true_ab, centers, prior)
    uniform = torch.ones(true_ab.shape[0], *true_ab.shape[2:])  # every pixel counts alike: the plain AuC
    mine, _ = per_image_auc(pred, true_ab, uniform)
    grey, _ = per_image_auc(torch.zeros_like(true_ab), true_ab, uniform)
    over_grey = Value(
        (mine - grey).mean().item(),
        stats.paired_difference_se(mine.numpy(), grey.numpy(), scale=1.0),
        f"paired over the same {len(test_images)} test images",
    )
    return {
        "model": model,
        "run": run,
        "chroma": chroma_value(pred),
        "auc": row["auc"],
        "auc_over_grey": over_grey,
        "auc_rebalanced": row["auc_rebalanced"],
        "auc_rebalanced_se": row["auc_rebalanced_se"],
        "n_test": len(test_images),
    }


# --------------------------------------------------------------------------- command line
def _prior(run: Run) -> dict:
    results = cifar_prior(data.load_cifar10("train")[0])
    print(f"{results['n_bins']} bins; gamut counts {results['gamut_counts']}")
    return results


def _rarity(run: Run) -> dict:
    """How many effective test images the rarity-weighted AuC rests on: it depends on the true colours and the
    shipped prior only, not on any model, so it holds for every row of losses.json."""
    test_set = test_subset(run.args.test_subset)
    centers, prior = shipped_prior()
    _, true_ab = ab_of(test_set[0])
    per_image = rarity_weights(true_ab, centers, prior).double().sum(dim=(1, 2)).numpy()  # (N,)
    top = sorted(per_image, reverse=True)[:10]
    results = {
        "n_test": len(per_image),
        "effective_images": round(stats.effective_n(per_image), 1),
        "top10_weight_share": round(float(sum(top) / per_image.sum()), 4),
    }
    print(json.dumps(results))
    return results


def _train(run: Run) -> None:
    """One loss's training, written as a run folder at --out (model.safetensors + card.json) to ship."""
    a = run.args
    x, y = data.load_cifar10("train")
    keep = data.balanced_subset(y, a.train_subset)
    cfg = replace(
        methods.get("colorization").recipe,
        epochs=a.epochs,
        minutes=a.minutes,
        batch_size=a.batch_size,
        seed=a.seed,
        compile=a.compile,
        **({"lr": a.lr} if a.lr else {}),
    )
    card = train_run(run.out, a.loss, (x[keep], y[keep]), cfg, run.device, a.width, run.command, progress=not a.quiet)
    summary = {k: card[k] for k in ("wall_time_s", "epochs", "final_loss")}
    print(json.dumps({"out": str(run.out), **summary}))


def _measure(run: Run) -> dict:
    a = run.args
    if not a.runs:
        raise CommandError("measure needs --runs (run folders or shipped names, comma-separated)")
    runs = dict(
        r.split("=", 1) if "=" in r else (pretrained.card(r)["method_kwargs"]["loss"], r) for r in a.runs.split(",")
    )
    test_set = test_subset(a.test_subset)
    results = measure_runs(runs, test_set, run.device)
    results.update(n_test=len(test_set[1]), runs={k: pretrained.card(v) for k, v in runs.items()})
    if a.sample_indices:  # the notebook's pictures: chosen test images, by every loss
        idx = torch.tensor([int(i) for i in a.sample_indices.split(",")])
        L, _ = ab_of(data.load_cifar10("test")[0][idx])
        results["sample_indices"] = idx.tolist()
        results["samples"] = {
            name: predict(pretrained.load(path, device=run.device, full=True), L).round().to(torch.int8).tolist()
            for name, path in runs.items()
        }
    return results


CLI = Topic(
    "colorization",
    __doc__,
    {
        "prior": Experiment(_prior, "the empirical ab distribution of CIFAR-10 over the in-gamut bins, smoothed"),
        "rarity": Experiment(
            _rarity,
            "the effective number of test images behind the rarity-weighted AuC (its 1/p weights)",
        ),
        "train": Experiment(
            _train,
            "one loss's training, a run folder to ship",
            (
                Option("--loss", choices=col.LOSSES, default="rebalanced", help="which loss"),
                Option("--train-subset", type=int, help="train on a balanced subset of N images"),
            ),
        ),
        "measure": Experiment(
            _measure,
            "per-pixel accuracy (plain and rarity-weighted) and colourfulness of every run",
            (
                Option("--runs", help="run folders or shipped names, comma-separated (name=path to rename)"),
                Option("--sample-indices", help="test images (comma-separated) whose colorizations to ship"),
                Option("--test-subset", type=int, help="measure on a balanced subset of N test images"),
            ),
        ),
    },
    options=(
        Option("--epochs", type=float, default=30),
        Option("--minutes", type=float, help="wall-clock budget per training (the schedule follows it)"),
        Option("--batch-size", type=int, default=256),
        Option("--lr", type=float, help="default: the colorization recipe's"),
        Option("--width", type=float, default=0.25, help="ResNet-18 width (0.5: 32-64-128-256 channels)"),
    ),
    out_help="the JSON result (a run folder for train)",
    compact=True,  # the samples are 70,000 numbers
)
_parser, main = CLI.parser, CLI.main


if __name__ == "__main__":
    sys.exit(main())

"""SimCLR's studies at CIFAR scale: which augmentations matter, the temperature, the projection head.

    python -m sslcourse.experiments.simclr grid --device cuda --scale gpu --out sslcourse/results/simclr/augmentation_grid.json --force
    python -m sslcourse.experiments.simclr temperature --device cuda --scale gpu --out sslcourse/results/simclr/temperature.json --force
    python -m sslcourse.experiments.simclr head --device cuda --scale gpu --out sslcourse/results/simclr/head.json --force
    python -m sslcourse.experiments.simclr colour --device cuda --scale gpu --seeds 0,1,2 --out sslcourse/results/simclr/colour_strength.json --force

The grid follows the paper's Figure 5 protocol: the targeted transformation(s) on one branch, the other branch
the identity (`"protocol": "one_branch"`; grid files without that key are the old protocol, both views
transformed). It is 49 runs: a session cut short keeps the cells it finished (the file is rewritten after
each), and the same command with --resume instead of --force runs the others. The diagonal and crop's row and
column run first (--lead-only stops after them). `--seed` seeds every run of a grid, temperature or head study
(one file per seed; the colour study takes its seeds together, --seeds).

Every run in a study is a short SimCLR training of the same budget (`Scale`), scored by a linear probe and
kNN on frozen features; the JSON keeps every setting and where, when and by what code it was computed.
The "cpu" scale is a tiny stand-in (a few thousand images downsampled to 16x16, a width-0.125 ResNet-18,
seconds per run): it shows the shape of a result, not its size.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F

from sslcourse import augment, data, evaluate
from sslcourse.experiments.runner import CommandError, Experiment, Option, Run, Topic
from sslcourse.methods.simclr import HEADS, HeadOutput, SimCLR, nt_xent_loss, pair_augmentation
from sslcourse.models import build_model
from sslcourse.stats import independent_difference_se
from sslcourse.train import TrainConfig, train
from sslcourse.verdicts import binomial_se

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results" / "simclr"
# The seven augmentations of the paper's Figure 5 ("color" is jitter then drop, as there).
GRID_AUGMENTATIONS = ("crop", "cutout", "color", "sobel", "noise", "blur", "rotate")
TEMPERATURES = (0.05, 0.1, 0.2, 0.5, 1.0)  # the paper's Table 5 tries 0.05 to 1.0
COLOUR_STRENGTHS = ("0.125", "0.25", "0.5", "1", "1+blur")  # the paper's Table 1 (1/8 to 1, then 1 with blur)
PROTOCOLS = ("one_branch", "symmetric")  # the paper's Figure 5; the grid this course ran before (both views)


@dataclass(frozen=True)
class Scale:
    """The size of one short run; every run of a study gets the same one."""

    n_train: int  # balanced subset of the training set (50000 = all of it)
    n_test: int
    image_size: int  # 32 = CIFAR-10's own; less = downsampled (cheaper on a CPU)
    width: float  # ResNet-18 width multiplier
    hidden_dim: int  # of the projection head
    batch_size: int  # pairs a step
    epochs: float
    lr: float
    weight_decay: float = 5e-4
    temperature: float = 0.2


SCALES = {
    "cpu": Scale(
        n_train=5000,
        n_test=1000,
        image_size=16,
        width=0.125,
        hidden_dim=256,
        batch_size=64,
        epochs=(100 + 0.5) / 78,
        lr=0.3,
    ),  # 100 steps: about 30 s a run on one CPU core
    "gpu": Scale(
        n_train=50000, n_test=10000, image_size=32, width=0.5, hidden_dim=2048, batch_size=512, epochs=15, lr=0.3
    ),  # 15 epochs: about 20 s a run on an H200
}


def load_data(scale: Scale):
    """Balanced train/test subsets at the scale's resolution, uint8.
    Shape: ((N, 3, S, S), (N,)), ((M, 3, S, S), (M,))."""
    out = []
    for split, n in (("train", scale.n_train), ("test", scale.n_test)):
        x, y = data.load_cifar10(split)
        if n < len(y):
            keep = data.balanced_subset(y, n)
            x, y = x[keep], y[keep]
        if scale.image_size != x.shape[-1]:  # area averaging: the small image keeps the mean colour of each block
            x = F.interpolate(x.float(), size=scale.image_size, mode="area").round().clamp(0, 255).to(torch.uint8)
        out.append((x, y))
    return tuple(out)


def short_run(
    augmentation,
    scale: Scale,
    train_data,
    device="cpu",
    temperature: float | None = None,
    head: str = "mlp",
    loss_fn=nt_xent_loss,
    seed: int = 0,
    on_log=None,
    second_view=None,
    compile: bool = False,
):
    """Train one SimCLR of `scale` with `augmentation` for one view and `second_view` (default: the same) for
    the other; returns (model, TrainResult). `compile`: the whole step compiled (GPU runs)."""
    torch.manual_seed(seed)
    model = SimCLR(
        build_model("resnet18", width=scale.width),
        temperature=temperature or scale.temperature,
        loss_fn=loss_fn,
        augmentation=augmentation,
        hidden_dim=scale.hidden_dim,
        head=head,
        second_view=second_view,
    )
    cfg = TrainConfig(
        epochs=scale.epochs,
        batch_size=scale.batch_size,
        lr=scale.lr,
        weight_decay=scale.weight_decay,
        warmup=0.05,
        seed=seed,
        nan_check_every=10,
        compile=compile,
    )
    result = train(model, *train_data, cfg, device=device, progress=False, on_log=on_log)
    return model, result


def probe(backbone, train_data, test_data, device="cpu") -> dict:
    """Linear probe and kNN (k=20) accuracy (%) of `backbone.forward_features` on the given data."""
    backbone = backbone.to(device)
    f_train = evaluate.extract_features(backbone, train_data[0], device=device)
    f_test = evaluate.extract_features(backbone, test_data[0], device=device)
    out = evaluate.linear_probe(f_train, train_data[1], f_test, test_data[1], device=device)
    out.update(evaluate.knn_accuracy(f_train, train_data[1], f_test, test_data[1], k=20))
    return {"linear_top1": round(out["linear_top1"], 2), "knn_top1": round(out["knn_top1"], 2)}


def _random_init(scale: Scale, train_data, test_data, device) -> dict:
    """The floor: the same network untrained (seed 0), probed the same way."""
    torch.manual_seed(0)
    return probe(build_model("resnet18", width=scale.width).eval(), train_data, test_data, device)


def _run_record(result, started: float) -> dict:
    return {
        "final_loss": round(result.final_loss, 4),
        "steps": result.steps,
        "seconds": round(time.perf_counter() - started, 1),
    }


# --------------------------------------------------------------------------- the three studies
def augmentation_grid(
    scale: Scale,
    augmentations=GRID_AUGMENTATIONS,
    ordered: bool = True,
    device="cpu",
    log=print,
    done=(),
    on_cell=None,
    protocol: str = "one_branch",
    compile: bool = False,
    seed: int = 0,
    lead_only: bool = False,
) -> dict:
    """SimCLR's Figure 5 at CIFAR scale: one run per pair (first, second) of augmentations, composed in order
    (row = first, column = second; the diagonal: one augmentation alone). `ordered=False` runs each unordered
    pair once. The diagonal and the first augmentation's row and column (crop's: crop alone against crop plus
    each other) run before the rest, so a grid cut off holds the cells the paper's argument rests on first;
    `lead_only` stops there. Every run is seeded with `seed`. protocol "one_branch" (the paper's): the composition makes one view and the other view is the
    image itself, so a cell measures what that composition alone asks the network to ignore. (The paper crops
    both branches first because ImageNet images differ in size; CIFAR images all have one size, so no crop is
    forced here.) "symmetric": both views get the composition (the protocol of this course's first grid).
    `done`: cells measured before (skipped); `on_cell(partial_result)` after each cell, e.g. to save it."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    identity = augment.compose([]) if protocol == "one_branch" else None
    train_data, test_data = load_data(scale)
    result = {
        "experiment": "augmentation_grid",
        "protocol": protocol,
        "augmentations": list(augmentations),
        "ordered": ordered,
        "seed": seed,
        "cells": list(done),
        "random_init": _random_init(scale, train_data, test_data, device),
    }
    measured = {(c["first"], c["second"]) for c in done}
    lead = augmentations[0]
    pairs = [
        (first, second)
        for i, first in enumerate(augmentations)
        for j, second in enumerate(augmentations)
        if (ordered or j >= i) and (first, second) not in measured
    ]
    # sorted is stable: row by row within the cells of the lead and the diagonal, then within the rest
    pairs = sorted(pairs, key=lambda pair: not (pair[0] == pair[1] or lead in pair))
    for first, second in pairs:
        if lead_only and not (first == second or lead in (first, second)):
            break
        t = time.perf_counter()
        model, run = short_run(
            pair_augmentation(first, second),
            scale,
            train_data,
            device,
            second_view=identity,
            compile=compile,
            seed=seed,
        )
        cell = {
            "first": first,
            "second": second,
            **probe(model.backbone, train_data, test_data, device),
            **_run_record(run, t),
        }
        result["cells"].append(cell)
        log(f"{first:>7s} + {second:<7s} linear {cell['linear_top1']:5.1f}%  kNN {cell['knn_top1']:5.1f}%")
        if on_cell:
            on_cell(result)
    return result


def colour_augmentation(strength: str, size: int) -> augment.Augment:
    """The default pipeline (crop, flip, colour) at a colour strength of the paper's Table 1: "0.5", "1+blur"."""
    blur = strength.endswith("+blur")
    s = float(strength.removesuffix("+blur"))
    names = ["crop", "flip", "color"] + (["blur"] if blur else [])
    overrides = dict(crop=dict(size=size, scale=(0.2, 1.0)), color=dict(strength=s, jitter_p=0.8, drop_p=0.2))
    return augment.compose(names, **overrides)


def _over_seeds(runs: list[dict], keys=("linear_top1", "knn_top1")) -> dict:
    """Mean and sample standard deviation over a setting's seeds."""
    out = {}
    for k in keys:
        values = torch.tensor([r[k] for r in runs], dtype=torch.float64)
        out[k] = round(values.mean().item(), 2)
        out[k + "_sd"] = round(values.std().item(), 2) if len(values) > 1 else None
    return out


def colour_strength(
    scale: Scale, strengths=COLOUR_STRENGTHS, seeds=(0,), device="cpu", log=print, compile: bool = False
) -> dict:
    """The paper's Table 1 at CIFAR scale: the default pipeline on both views at each colour strength, each
    strength trained with every seed; the result keeps every run and the mean and spread per strength."""

    def is_strength(s: str) -> bool:
        try:
            return float(s.removesuffix("+blur")) > 0
        except ValueError:
            return False

    unknown = [s for s in strengths if not is_strength(s)]
    if unknown:
        raise ValueError(f"colour strengths are numbers, optionally with '+blur' (e.g. 0.5, 1+blur); got {unknown}")
    train_data, test_data = load_data(scale)
    per_strength = []
    for strength in strengths:
        runs = []
        for seed in seeds:
            t = time.perf_counter()
            model, result = short_run(
                colour_augmentation(strength, scale.image_size), scale, train_data, device, seed=seed, compile=compile
            )
            runs.append(
                {"seed": seed, **probe(model.backbone, train_data, test_data, device), **_run_record(result, t)}
            )
        per_strength.append({"strength": strength, **_over_seeds(runs), "runs": runs})
        log(f"colour strength {strength:<7s} linear {per_strength[-1]['linear_top1']:5.1f}% over {len(runs)} seed(s)")
    return {
        "experiment": "colour_strength",
        "seeds": list(seeds),
        "strengths": per_strength,
        "random_init": _random_init(scale, train_data, test_data, device),
    }


def temperature_sweep(scale: Scale, temperatures=TEMPERATURES, device="cpu", log=print, seed: int = 0) -> dict:
    """The paper's Table 5 at CIFAR scale: the default pipeline (crop, flip, colour) at each temperature."""
    train_data, test_data = load_data(scale)
    runs = []
    for tau in temperatures:
        t = time.perf_counter()
        model, result = short_run(
            augment.simclr_pipeline(scale.image_size), scale, train_data, device, temperature=tau, seed=seed
        )
        runs.append(
            {"temperature": tau, **probe(model.backbone, train_data, test_data, device), **_run_record(result, t)}
        )
        log(f"temperature {tau:<5g} linear {runs[-1]['linear_top1']:5.1f}%  kNN {runs[-1]['knn_top1']:5.1f}%")
    return {
        "experiment": "temperature",
        "seed": seed,
        "runs": runs,
        "random_init": _random_init(scale, train_data, test_data, device),
    }


def head_study(scale: Scale, heads=HEADS, device="cpu", log=print, seed: int = 0) -> dict:
    """The paper's Figure 8 and Section 4.2 at CIFAR scale: train with each head (non-linear, linear, none),
    then probe the representation h (before the head) and z (after it)."""
    train_data, test_data = load_data(scale)
    runs = []
    for head in heads:
        t = time.perf_counter()
        model, result = short_run(
            augment.simclr_pipeline(scale.image_size), scale, train_data, device, head=head, seed=seed
        )
        run = {"head": head, "h": probe(model.backbone, train_data, test_data, device)}
        if head != "none":  # without a head, z is h
            run["z"] = probe(HeadOutput(model), train_data, test_data, device)
        runs.append({**run, **_run_record(result, t)})
        log(
            f"head {head:6s} h: linear {run['h']['linear_top1']:5.1f}%"
            + (f"   z: linear {run['z']['linear_top1']:5.1f}%" if "z" in run else "")
        )
    return {
        "experiment": "head",
        "seed": seed,
        "runs": runs,
        "random_init": _random_init(scale, train_data, test_data, device),
    }


# --------------------------------------------------------------------------- the live demo of notebook 03
def live_run(
    loss_fn=nt_xent_loss,
    steps: int = 300,
    probe_every: int = 100,
    n_train: int = 2000,
    batch_size: int = 32,
    device="cpu",
    classify=None,
) -> dict:
    """A tiny SimCLR for a CPU (16x16 images, width-0.125 ResNet-18): the loss every 10 steps and kNN
    accuracy (on a 1000-image test subset) every `probe_every` steps, step 0 included. `classify` is the kNN
    classifier the probe uses (a student's own `knn_classify`, say); None: the library's."""
    epochs = (steps + 0.5) / (n_train // batch_size)  # the loop runs int(epochs * steps_per_epoch) steps
    scale = replace(SCALES["cpu"], n_train=n_train, batch_size=batch_size, epochs=epochs)
    train_data, test_data = load_data(scale)
    curve = {"step": [], "loss": [], "knn_step": [0], "knn_top1": []}

    def knn(backbone):
        f_train = evaluate.extract_features(backbone, train_data[0], device=device)
        f_test = evaluate.extract_features(backbone, test_data[0], device=device)
        knn_top1 = evaluate.knn_accuracy(
            f_train, train_data[1], f_test, test_data[1], classify=classify or evaluate.knn_classify
        )["knn_top1"]
        return round(knn_top1, 1)

    def on_log(record):
        curve["step"].append(record["step"])
        curve["loss"].append(record["loss"])
        if record["step"] % probe_every == 0 or record["step"] == steps:
            curve["knn_step"].append(record["step"])
            curve["knn_top1"].append(knn(model.backbone))

    torch.manual_seed(0)
    model = SimCLR(
        build_model("resnet18", width=scale.width),
        loss_fn=loss_fn,
        hidden_dim=scale.hidden_dim,
        augmentation=augment.simclr_pipeline(scale.image_size),
    ).to(device)
    cfg = TrainConfig(epochs=scale.epochs, batch_size=batch_size, lr=scale.lr, warmup=0.05, nan_check_every=10)
    threads = torch.get_num_threads()
    # Tensors this small run faster on one CPU thread than on several (which wait on each other), and one
    # thread gives the same numbers on any machine.
    torch.set_num_threads(1)
    try:
        curve["knn_top1"].append(knn(model.backbone))
        train(model, *train_data, cfg, device=device, progress=False, on_log=on_log)
    finally:
        torch.set_num_threads(threads)
    return curve


# --------------------------------------------------------------------------- results: files and plots
def load_result(name: str) -> dict:
    """A shipped result, e.g. load_result("augmentation_grid")."""
    return json.loads((RESULTS_DIR / f"{name}.json").read_text())


def label(result: dict) -> str:
    """Where a result comes from, for plot titles."""
    from sslcourse.provenance import label as provenance_label

    return provenance_label(result)


def grid_matrix(result: dict, metric: str = "linear_top1") -> torch.Tensor:
    """The grid as a matrix (rows: first augmentation, columns: second), NaN where nothing was measured;
    an unordered grid fills both triangles. Shape: (A, A)."""
    names = result["augmentations"]
    m = torch.full((len(names), len(names)), float("nan"))
    for c in result["cells"]:
        i, j = names.index(c["first"]), names.index(c["second"])
        m[i, j] = c[metric]
        if not result["ordered"]:
            m[j, i] = c[metric]
    return m


def plot_grid(result: dict, metric: str = "linear_top1", ax=None, ceiling: float | None = None):
    """The heatmap of the paper's Figure 5, from whatever grid `result` holds.

    Each cell shows its accuracy and, under it, two binomial standard errors from the grid's test-set size
    (one seed per cell, so that is all the noise we know). The colour scale runs from the untrained
    network's accuracy to `ceiling` (the best supervised result, 100 if not given): colour shows what training
    added on the scale that matters, not the spread between cells stretched to fill the palette. When every
    pair of cells is within two standard errors of their difference, the title says the grid shows no
    pattern at this scale."""
    import matplotlib.pyplot as plt

    m, names = grid_matrix(result, metric), result["augmentations"]
    n_test = result.get("settings", {}).get("n_test")
    floor = result["random_init"][metric]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 1.5 + 0.85 * len(names)), 1.8 + 0.8 * len(names)))
    measured = m[~m.isnan()]
    low, high = min(floor, float(measured.min())), max(100.0 if ceiling is None else ceiling, float(measured.max()))
    im = ax.imshow(m.numpy(), cmap="viridis", vmin=low, vmax=high)
    mid = (low + high) / 2
    top, bottom = float(measured.max()), float(measured.min())
    spread = independent_difference_se(binomial_se(top, n_test), binomial_se(bottom, n_test)) if n_test else None
    within = spread is not None and top - bottom <= 2 * spread
    for i in range(len(names)):
        for j in range(len(names)):
            if not torch.isnan(m[i, j]):
                value = float(m[i, j])
                text = f"{value:.1f}" + (f"\n±{2 * binomial_se(value, n_test):.1f}" if n_test else "")
                colour = "black" if value > mid else "white"
                ax.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    if result["ordered"]:
        ax.set_xlabel("2nd transformation (applied after the 1st)")
        ax.set_ylabel("1st transformation")
        order = ""
    else:  # an unordered grid has no first or second: each pair ran once, in one order
        ax.set_xlabel("transformation")
        ax.set_ylabel("transformation")
        order = "\n(unordered: each pair run once, shown in both triangles)"
    if result.get("protocol", "symmetric") == "symmetric":
        order += "\n(old protocol: both views transformed; the paper transforms one branch only)"
    noise = f"\n± under each cell: 2 standard errors ({n_test:,} test images, 1 seed)" if n_test else ""
    if within:
        noise += "\nevery cell within two standard errors of every other: no pattern at this scale"
    ax.set_title(
        f"{'linear probe' if metric == 'linear_top1' else 'kNN'} accuracy (%); untrained net: {floor:.1f}{noise}\n"
        f"{label(result)}{order}",
        fontsize=9,
    )
    bar = plt.colorbar(im, ax=ax, fraction=0.046)
    bar.set_label(
        f"accuracy (%): untrained {floor:.1f} to " + ("supervised" if ceiling is not None else "") + f" {high:.1f}"
    )
    return ax


# --------------------------------------------------------------------------- command line
def _scale(run: Run) -> Scale:
    """The --scale's budget, with --epochs in place of its own when given."""
    scale = SCALES[run.args.scale]
    return scale if run.args.epochs is None else replace(scale, epochs=run.args.epochs)


def _record(run: Run, result: dict, complete: bool) -> dict:
    """SimCLR's layout: the study's own keys at the top, then the provenance, the scale and whether it is whole
    (a grid cut off, or run --lead-only, keeps the cells it finished; --resume completes it)."""
    if result.get("experiment") == "augmentation_grid":
        a = len(result["augmentations"])
        complete = complete and len(result["cells"]) == (a * a if result["ordered"] else a * (a + 1) // 2)
    return {
        **result,
        **run.provenance(),
        "scale": run.args.scale,
        "settings": asdict(_scale(run)),
        "complete": complete,
    }


def _grid(run: Run) -> dict:
    a, scale = run.args, _scale(run)
    previous = json.loads(run.out.read_text()) if a.resume and run.out.exists() else {"cells": ()}
    if previous["cells"] and previous["settings"] != asdict(scale):
        raise CommandError(f"{run.out} was made with other settings ({previous['settings']}); not resuming")
    if previous["cells"] and previous.get("protocol", "symmetric") != a.protocol:
        raise CommandError(
            f"{run.out} holds a {previous.get('protocol', 'symmetric')} grid, not {a.protocol}; not resuming"
        )
    if previous["cells"] and previous.get("seed", 0) != a.seed:
        raise CommandError(f"{run.out} holds a grid of seed {previous.get('seed', 0)}, not {a.seed}; not resuming")
    return augmentation_grid(
        scale,
        tuple(a.augs.split(",")) if a.augs else GRID_AUGMENTATIONS,
        ordered=not a.unordered,
        device=run.device,
        done=previous["cells"],
        on_cell=lambda partial: run.save(partial, complete=False),  # cut off: the cells so far are kept
        protocol=a.protocol,
        compile=a.compile,
        seed=a.seed,
        lead_only=a.lead_only,
    )


def _colour(run: Run) -> dict:
    a = run.args
    strengths = tuple(a.strengths.split(",")) if a.strengths else COLOUR_STRENGTHS
    seeds = tuple(int(v) for v in a.seeds.split(","))
    return colour_strength(_scale(run), strengths, seeds, device=run.device, compile=a.compile)


def _temperature(run: Run) -> dict:
    temps = tuple(float(v) for v in run.args.temperatures.split(",")) if run.args.temperatures else TEMPERATURES
    return temperature_sweep(_scale(run), temps, device=run.device, seed=run.args.seed)


def _head(run: Run) -> dict:
    return head_study(_scale(run), device=run.device, seed=run.args.seed)


CLI = Topic(
    "simclr",
    __doc__,
    {
        "grid": Experiment(
            _grid,
            "every pair of augmentations, one run each (the paper's Figure 5)",
            (
                Option("--augs", help="comma-separated augmentations (default: the seven of the paper)"),
                Option("--unordered", action="store_true", help="each unordered pair once"),
                Option(
                    "--protocol",
                    choices=PROTOCOLS,
                    default="one_branch",
                    help="transform one branch (the paper's Figure 5, default) or both",
                ),
                Option(
                    "--lead-only",
                    action="store_true",
                    help="only the diagonal and the first augmentation's row and column (crop alone against crop "
                    "plus each other): the cells run first; --resume without it runs the rest",
                ),
            ),
            resume="keep the cells --out holds and run the others",
        ),
        "temperature": Experiment(
            _temperature,
            "the NT-Xent temperature (the paper's Table 5)",
            (Option("--temperatures", help="comma-separated values"),),
        ),
        "head": Experiment(
            _head, "each head (non-linear, linear, none), probing h before it and z after it (the paper's Figure 8)"
        ),
        "colour": Experiment(
            _colour,
            "the colour distortion's strength (the paper's Table 1)",
            (
                Option("--strengths", help=f"comma-separated strengths (default {','.join(COLOUR_STRENGTHS)})"),
                Option("--seeds", default="0", help="comma-separated seeds, every strength trained with each"),
            ),
        ),
    },
    options=(
        Option("--scale", choices=sorted(SCALES), default="cpu"),
        Option("--epochs", type=float, help="override the scale's epochs per run"),
        Option("--compile", action="store_true", help="compile each run's whole training step (GPU)"),
        Option("--seed", type=int, default=0, help="the seed of every run (grid, temperature, head; colour: --seeds)"),
    ),
    out_help="the JSON file to write",
    training=False,  # every run of a study seeds itself (--seed; the colour study's --seeds)
    record=_record,
)
_parser, main = CLI.parser, CLI.main


if __name__ == "__main__":
    sys.exit(main())

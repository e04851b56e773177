"""What SimCLR training at laptop scale can resolve: crop then colour against crop alone, linear probe against steps.

    python -m sslcourse.experiments.simclr_curve curve --device cpu --out sslcourse/results/simclr/laptop_curve.json

The shortcut grid (`sslcourse.experiments.simclr_shortcut`) shows that crop alone leaves the colour histogram to
match on and crop then colour does not. Whether a network trained on a CPU for minutes already turns that into
better features is this curve's question. Each pipeline is the grid's one-branch cell (the composition on one
view, the image itself on the other) trained with the "cpu" scale of `sslcourse.experiments.simclr` (16x16
images, a width-0.125 ResNet-18, 64 pairs a step), one run of the largest budget per seed, its linear probe
taken on all 10,000 test images at each budget on the way (so a budget's number is that many steps into the
longest schedule, not a run of its own). The result keeps every seed's probes and, per budget, the mean, the
spread over seeds and the difference between the pipelines with its standard error.

At the default budgets (100, 300, 1,000 and 3,000 steps, 3 seeds) it trains 18,000 steps in all: the shipped
result (sslcourse/results/simclr/laptop_curve.json) took 29 minutes on one CPU core with `--threads 1`.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from dataclasses import asdict, replace

import torch

from sslcourse import augment, stats
from sslcourse.experiments.runner import Experiment, Option, Run, Topic
from sslcourse.experiments.simclr import SCALES, load_data, probe
from sslcourse.methods.simclr import SimCLR, pair_augmentation
from sslcourse.models import build_model
from sslcourse.train import TrainConfig, train

PIPELINES = {"crop then colour": ("crop", "color"), "crop alone": ("crop", "crop")}
STEPS = (100, 300, 1000, 3000)
SEEDS = (0, 1, 2)


def one_run(pipeline: tuple[str, str], steps, scale, train_data, test_data, seed: int, device="cpu") -> list[dict]:
    """One SimCLR of max(steps) steps on the one-branch cell `pipeline`, its linear probe (and kNN) at each of
    `steps` on the way. Returns one record per budget."""
    torch.manual_seed(seed)
    model = SimCLR(
        build_model("resnet18", width=scale.width),
        temperature=scale.temperature,
        augmentation=pair_augmentation(*pipeline),
        hidden_dim=scale.hidden_dim,
        second_view=augment.compose([]),  # the other branch: the image itself
    )
    steps_per_epoch = scale.n_train // scale.batch_size
    cfg = TrainConfig(
        epochs=(max(steps) + 0.5) / steps_per_epoch,  # the loop runs int(epochs * steps_per_epoch) steps
        batch_size=scale.batch_size,
        lr=scale.lr,
        weight_decay=scale.weight_decay,
        warmup=0.05,
        seed=seed,
        nan_check_every=math.gcd(*steps),  # on_log fires at every budget
    )
    records, started = [], time.perf_counter()

    def on_log(record):
        if record["step"] in steps:
            records.append(
                {
                    "steps": record["step"],
                    "loss": round(record["loss"], 4),
                    **probe(model.backbone, train_data, test_data, device),
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
            model.train()

    train(model, *train_data, cfg, device=device, progress=False, on_log=on_log)
    return records


def _summary(runs: dict[int, list[dict]], steps) -> list[dict]:
    """Per budget: the mean and sample standard deviation of the linear probe over seeds."""
    out = []
    for s in steps:
        values = [r["linear_top1"] for rs in runs.values() for r in rs if r["steps"] == s]
        out.append(
            {
                "steps": s,
                "linear_top1": round(statistics.fmean(values), 2),
                "linear_top1_sd": round(statistics.stdev(values), 2) if len(values) > 1 else None,
                "linear_top1_seeds": values,
            }
        )
    return out


def curve(scale, steps=STEPS, seeds=SEEDS, pipelines=PIPELINES, device="cpu", log=print) -> dict:
    """Both pipelines, every seed, probed at every budget; and per budget the difference of the means (first
    pipeline minus second) with its standard error: the test set's and the seeds' noise, from `sslcourse.stats`."""
    train_data, test_data = load_data(scale)
    result = {"pipelines": {}, "steps": list(steps), "seeds": list(seeds)}
    for name, pipeline in pipelines.items():
        runs = {}
        for seed in seeds:
            runs[seed] = one_run(pipeline, steps, scale, train_data, test_data, seed, device)
            log(f"{name}, seed {seed}: " + ", ".join(f"{r['steps']} steps {r['linear_top1']:.1f}%" for r in runs[seed]))
        result["pipelines"][name] = {"cell": list(pipeline), "runs": runs, "by_steps": _summary(runs, steps)}
    first, second = list(pipelines)
    result["difference"] = []

    def mean_se(name: str, budget: int) -> tuple[float, float]:
        """The seeds' mean at a budget, with the test set's and the seeds' noise together (`stats`)."""
        values = [
            r["linear_top1"]
            for runs in result["pipelines"][name]["runs"].values()
            for r in runs
            if r["steps"] == budget
        ]
        mean, se, _ = stats.mean_over_seeds(values, scale.n_test)
        return mean, se

    for a, b in zip(result["pipelines"][first]["by_steps"], result["pipelines"][second]["by_steps"]):
        se = stats.independent_difference_se(mean_se(first, a["steps"])[1], mean_se(second, b["steps"])[1])
        result["difference"].append(
            {
                "steps": a["steps"],
                "what": f"{first} minus {second}",
                "linear_top1": round(a["linear_top1"] - b["linear_top1"], 2),
                "se": None if se is None else round(se, 2),
            }
        )
    return result


# --------------------------------------------------------------------------- the figure
def plot_curve(record: dict, ax=None, floor: float | None = None, floor_label: str = "untrained network"):
    """Linear probe against training steps, one line per pipeline: each point the mean over seeds with two
    standard errors (test set and seeds together, `sslcourse.stats`), each seed's own probe a faint dot.
    `floor`: the untrained network's probe, drawn as a dashed line and named by `floor_label`."""
    import matplotlib.pyplot as plt

    r = record["results"]
    n_test = record["settings"]["n_test"]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    for (name, p), colour, marker in zip(r["pipelines"].items(), ("#0072B2", "#D55E00"), ("o", "s")):
        steps = [b["steps"] for b in p["by_steps"]]
        means, errors = [], []
        for b in p["by_steps"]:
            mean, se, _ = stats.mean_over_seeds(b["linear_top1_seeds"], n_test)
            means.append(mean)
            errors.append(2 * se)
            ax.scatter(
                [b["steps"]] * len(b["linear_top1_seeds"]), b["linear_top1_seeds"], s=10, alpha=0.35, color=colour
            )
        ax.errorbar(
            steps,
            means,
            yerr=errors,
            fmt=marker + "-",
            capsize=3,
            color=colour,
            label=f"{name} ({len(r['seeds'])} seeds, ±2 SE)",
        )
    if floor is not None:
        ax.axhline(floor, color="grey", linestyle="--", linewidth=1, label=f"{floor_label} ({floor:.1f}%)")
    ax.set_xscale("log")
    ax.set_xticks(r["steps"], [f"{s:,}" for s in r["steps"]])
    ax.minorticks_off()
    ax.set_xlabel("training steps (64 pairs each, one CPU core)")
    ax.set_ylabel(f"linear probe top-1 (%), {n_test:,} test images")
    ax.set_title(f"SimCLR at laptop scale: one branch distorted, {record['computed_on']}-trained")
    ax.legend(fontsize=8)
    return ax


# --------------------------------------------------------------------------- command line
def _curve(run: Run) -> dict:
    a = run.args
    scale = replace(SCALES["cpu"], n_test=a.n_test, n_train=a.n_train)
    steps = tuple(int(s) for s in a.steps.split(","))
    seeds = tuple(int(s) for s in a.seeds.split(","))
    run.settings["scale"] = asdict(scale)
    run.settings["epochs"] = max(steps) * scale.batch_size / scale.n_train  # of the longest budget
    if a.threads:
        torch.set_num_threads(a.threads)
    return curve(scale, steps, seeds, device=run.device)


CLI = Topic(
    "simclr_curve",
    __doc__,
    {"curve": Experiment(_curve, "crop then colour against crop alone, linear probe against training steps")},
    options=(
        Option("--steps", default=",".join(map(str, STEPS)), help="the budgets, in steps of one run"),
        Option("--seeds", default=",".join(map(str, SEEDS)), help="comma-separated seeds, each pipeline run with each"),
        Option("--n-train", type=int, default=SCALES["cpu"].n_train, help="training images (balanced subset)"),
        Option("--n-test", type=int, default=10000, help="test images the probe scores (default: all 10,000)"),
        Option("--threads", type=int, help="torch threads (default: torch's own)"),
    ),
    training=False,
)
_parser, main = CLI.parser, CLI.main


if __name__ == "__main__":
    sys.exit(main())

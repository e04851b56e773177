"""MAE's experiments (notebook 04): each one a function, and a command that writes a JSON result with its provenance.

    python -m sslcourse.experiments.mae sweep    --device cuda --out sslcourse/results/mae/sweep.json
    python -m sslcourse.experiments.mae finetune --device cuda --out sslcourse/results/mae/finetune.json
    python -m sslcourse.experiments.mae cost     --device cuda --out sslcourse/results/mae/cost.json
    python -m sslcourse.experiments.mae pretrain --device cuda --out runs/mae_vit   # a run folder to ship

`--help` lists the budgets (epochs or minutes, data subsets, model size). Every result file says where it was
computed ("computed_on": "GPU" or "CPU"), the exact command, the code version, the date, the wall time and
every setting, so a small CPU run can never pass for the real one.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from sslcourse import data, evaluate, methods, pretrained
from sslcourse.device import precision_for
from sslcourse.experiments.runner import Experiment, Option, Run, Topic
from sslcourse.methods.mae import MAE, random_masking
from sslcourse.models import vit_tiny
from sslcourse.train import TrainConfig, train

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results" / "mae"


def load(name: str) -> dict:
    """A shipped result, e.g. load("sweep")."""
    return json.loads((RESULTS_DIR / f"{name}.json").read_text())


def load_data(train_subset: int | None = None, test_subset: int | None = None):
    """((train_images, train_labels), (test_images, test_labels)), balanced subsets when sizes are given."""
    out = []
    for split, n in (("train", train_subset), ("test", test_subset)):
        x, y = data.load_cifar10(split)
        keep = data.balanced_subset(y, n)
        out.append((x[keep], y[keep]))
    return tuple(out)


# --------------------------------------------------------------------------- the building blocks
def pretrain(
    train_set,
    mask_ratio: float,
    cfg: TrainConfig,
    device,
    arch_kw: dict | None = None,
    decoder_kw: dict | None = None,
    norm_pix: bool = True,
    progress: bool = False,
):
    """Pre-train an MAE without labels. Returns (the MAE, its TrainResult)."""
    torch.manual_seed(cfg.seed)
    method = MAE(vit_tiny(**(arch_kw or {})), mask_ratio, norm_pix=norm_pix, **(decoder_kw or {}))
    result = train(method, *train_set, cfg, device=device, progress=progress)
    return method, result


def probe(encoder, train_set, test_set, device) -> dict:
    """kNN (k = 20) and linear probe on the frozen encoder's cls-token features (the paper's linear protocol)."""
    f_train = evaluate.extract_features(encoder, train_set[0], device=device)
    f_test = evaluate.extract_features(encoder, test_set[0], device=device)
    k = min(20, len(f_train))
    knn = evaluate.knn_accuracy(f_train, train_set[1], f_test, test_set[1], k=k)["knn_top1"]
    linear = evaluate.linear_probe(f_train, train_set[1], f_test, test_set[1])["linear_top1"]
    return {"knn_top1": round(knn, 2), "linear_top1": round(linear, 2)}


def finetune(
    encoder,
    train_set,
    test_set,
    cfg: TrainConfig,
    device,
    arch_kw: dict | None = None,
    progress: bool = False,
    head_from_probe: bool = False,
) -> dict:
    """Fine-tune every weight with the labels, starting from `encoder` (None: from scratch). Both starts go
    through the same method, recipe and budget, so the only difference is the initialisation.

    head_from_probe: start the classifier from the linear probe on the starting encoder's frozen features
    (LP-FT, Kumar et al. 2022), so fine-tuning begins where the linear probe ends instead of from a random
    head whose first gradients scramble the features it was given."""
    torch.manual_seed(cfg.seed)
    method = methods.build("vit_supervised", **(arch_kw or {}))
    if encoder is not None:
        missing, unexpected = method.backbone.load_state_dict(encoder.state_dict(), strict=False)
        if unexpected or set(missing) != {"head.weight", "head.bias"}:
            raise ValueError(f"encoder does not fit the ViT: missing {missing}, unexpected {unexpected}")
    if head_from_probe:
        f_train = evaluate.extract_features(method.backbone, train_set[0], device=device)
        head = method.backbone.head
        head.load_state_dict(evaluate.linear_head(f_train, train_set[1], num_classes=head.out_features).state_dict())
    result = train(method, *train_set, cfg, device=device, progress=progress)
    top1 = evaluate.classifier_accuracy(method.backbone, *test_set, device=device)
    return {"test_top1": round(top1, 2), "epochs": round(result.epochs, 2), "seconds": round(result.seconds, 1)}


# --------------------------------------------------------------------------- the three experiments
def sweep(
    ratios,
    train_set,
    test_set,
    pretrain_cfg: TrainConfig,
    finetune_cfg: TrainConfig,
    device,
    arch_kw=None,
    decoder_kw=None,
    norm_pix: bool = True,
    progress: bool = False,
    head_from_probe: bool = False,
) -> dict:
    """The paper's Figure 5 at our scale: one MAE per masking ratio, equal budgets, each scored by
    kNN, linear probe and fine-tuning (`head_from_probe`: see `finetune`)."""
    rows = {}
    for ratio in ratios:
        mae, run = pretrain(train_set, ratio, pretrain_cfg, device, arch_kw, decoder_kw, norm_pix, progress)
        rows[f"{ratio:g}"] = {
            **probe(mae.backbone, train_set, test_set, device),
            "finetune_top1": finetune(
                mae.backbone, train_set, test_set, finetune_cfg, device, arch_kw, progress, head_from_probe
            )["test_top1"],
            "pretrain_loss": round(run.final_loss, 4),
            "pretrain_epochs": round(run.epochs, 2),
            "pretrain_seconds": round(run.seconds, 1),
        }
        print(f"mask ratio {ratio:g}: {rows[f'{ratio:g}']}", flush=True)
    return {"ratios": rows}


def finetune_vs_scratch(
    train_set,
    test_set,
    pretrain_cfg: TrainConfig,
    finetune_cfg: TrainConfig,
    device,
    arch_kw=None,
    decoder_kw=None,
    init: str | None = None,
    progress: bool = False,
    head_from_probe: bool = False,
) -> dict:
    """The 75% MAE fine-tuned vs the same ViT trained from scratch with the same fine-tuning budget.
    `init` takes shipped or run-folder MAE weights instead of pre-training here. With `head_from_probe`
    (LP-FT, see `finetune`) both starts use it, and the MAE is also fine-tuned from a fresh head with the
    same budget ("fresh_head_top1"), so the result shows what the recipe changes."""
    if init:
        encoder, pre = pretrained.load(init, device=device), {"init": init}
    else:
        mae, run = pretrain(train_set, 0.75, pretrain_cfg, device, arch_kw, decoder_kw, progress=progress)
        encoder, pre = (
            mae.backbone,
            {"pretrain_epochs": round(run.epochs, 2), "pretrain_seconds": round(run.seconds, 1)},
        )
    out = {
        "mae": {
            **probe(encoder, train_set, test_set, device),
            **finetune(encoder, train_set, test_set, finetune_cfg, device, arch_kw, progress, head_from_probe),
        },
        **pre,
        "head": "from the linear probe (LP-FT)" if head_from_probe else "fresh",
    }
    if head_from_probe:
        fresh = finetune(encoder, train_set, test_set, finetune_cfg, device, arch_kw, progress)
        out["mae"]["fresh_head_top1"] = fresh["test_top1"]
    torch.manual_seed(finetune_cfg.seed)
    scratch = vit_tiny(**(arch_kw or {})).to(device)
    out["scratch"] = {
        **probe(scratch, train_set, test_set, device),  # the probes of an untrained ViT: the floor
        **finetune(None, train_set, test_set, finetune_cfg, device, arch_kw, progress, head_from_probe),
    }
    return out


def _step_seconds(steps_to_time, steps: int, device) -> list[list[float]]:
    """Seconds of each timed step of each function, the functions taking turns (one step of each, `steps`
    rounds) so that a machine that slows down or speeds up mid-measurement affects them alike."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for step in steps_to_time:
        for _ in range(3):  # warm-up: allocation, autotuning
            step()
    times = [[] for _ in steps_to_time]
    for _ in range(steps):
        for step, t in zip(steps_to_time, times):
            sync()
            start = time.perf_counter()
            step()
            sync()
            t.append(time.perf_counter() - start)
    return times


def _mean_se(xs: list[float]) -> tuple[float, float | None]:
    """Mean and its standard error (None from a single step: no spread to measure)."""
    if len(xs) < 2:
        return xs[0], None
    return statistics.fmean(xs), statistics.stdev(xs) / math.sqrt(len(xs))


def encoder_cost(device, batch_size: int = 256, mask_ratio: float = 0.75, steps: int = 20, arch_kw=None) -> dict:
    """Encoder throughput (forward + backward, images/s) on the visible tokens only (MAE) vs on all tokens
    with a mask token in every hole (as BEiT and SimMIM do). Self-attention is quadratic in the tokens, the
    rest linear, so the speed-up is at least L / K."""
    torch.manual_seed(0)
    encoder = vit_tiny(**(arch_kw or {})).to(device).train()
    mask_token = torch.zeros(1, 1, encoder.feature_dim, device=device, requires_grad=True)
    x = torch.rand(batch_size, 3, encoder.img_size, encoder.img_size, device=device)
    g = torch.Generator(device).manual_seed(0)
    precision = precision_for(device)  # the course's one rule: bf16 only where the GPU has bf16 units (not a T4)

    def visible_only():
        with precision.autocast(device):
            visible, _, _ = random_masking(encoder.embed(x), mask_ratio, g)  # (B, K, D)
            loss = encoder.forward_tokens(visible).float().square().mean()
        loss.backward()

    def all_tokens():
        with precision.autocast(device):
            tokens = encoder.embed(x)
            _, mask, _ = random_masking(tokens, mask_ratio, g)
            tokens = torch.where(mask[..., None].bool(), mask_token.to(tokens.dtype), tokens)  # (B, L, D)
            loss = encoder.forward_tokens(tokens).float().square().mean()
        loss.backward()

    L = encoder.num_patches
    K = int(L * (1 - mask_ratio))
    (fast, fast_se), (slow, slow_se) = map(_mean_se, _step_seconds((visible_only, all_tokens), steps, device))
    speedup = slow / fast
    # The ratio's standard error from the two means' (first-order propagation of their relative errors).
    speedup_se = None if fast_se is None else speedup * math.hypot(fast_se / fast, slow_se / slow)
    return {
        "tokens_visible": K,
        "tokens_all": L,
        "images_per_s_visible_only": round(batch_size / fast, 1),
        "images_per_s_all_tokens": round(batch_size / slow, 1),
        "speedup": round(speedup, 2),
        "speedup_se": None if speedup_se is None else round(speedup_se, 3),
        "timed_steps": steps,
    }


def pretrain_run(
    out: Path,
    train_set,
    test_set,
    mask_ratio: float,
    cfg: TrainConfig,
    device,
    arch_kw=None,
    decoder_kw=None,
    norm_pix: bool = True,
    command: str = "",
    progress: bool = False,
) -> dict:
    """Pre-train one MAE and write a run folder (model.safetensors + card.json) that
    `python -m sslcourse ship RUN NAME` puts into the registry."""
    from sslcourse.provenance import architecture
    from sslcourse.provenance import card as model_card

    mae, run = pretrain(train_set, mask_ratio, cfg, device, arch_kw, decoder_kw, norm_pix, progress)
    g = torch.Generator(device).manual_seed(0)
    with torch.no_grad():
        x = test_set[0][:1000].to(device).float() / 255
        test_loss = mae.eval()(x, generator=g)[0].item()  # reconstruction loss on held-out images
    kwargs = {
        "arch": "vit_tiny",
        "mask_ratio": mask_ratio,
        "norm_pix": norm_pix,
        **(arch_kw or {}),
        **(decoder_kw or {}),
    }
    card = model_card(
        out.name,
        "mae",
        kwargs,
        methods.get("mae").summary,
        f"CIFAR-10 train ({len(train_set[0])} images, labels unused)",
        run,
        cfg,
        device,
        command,
        {"test_reconstruction_loss": round(test_loss, 4)},
        architecture=architecture("mae", kwargs),
    )
    pretrained.save(mae, out, card)
    return card


# --------------------------------------------------------------------------- command line
def _model(run: Run) -> tuple[dict, dict]:
    """(encoder, decoder) sizes from the command line."""
    a = run.args
    arch_kw = {"dim": a.dim, "depth": a.depth, "heads": a.heads}
    return arch_kw, {"decoder_dim": a.decoder_dim, "decoder_depth": a.decoder_depth, "decoder_heads": a.decoder_heads}


def _configs(run: Run) -> tuple[TrainConfig, TrainConfig]:
    """(pre-training, fine-tuning) configs: the mae and vit_supervised recipes with the command line's budgets;
    recorded with the result."""
    a = run.args
    common = dict(batch_size=a.batch_size, seed=a.seed, compile=a.compile)
    pre = replace(
        methods.get("mae").recipe,
        epochs=a.pretrain_epochs,
        minutes=a.pretrain_minutes,
        **common,
        **({"lr": a.lr} if a.lr else {}),
    )
    ft = replace(
        methods.get("vit_supervised").recipe,
        epochs=a.finetune_epochs,
        minutes=a.finetune_minutes,
        **common,
        **({"lr": a.finetune_lr} if a.finetune_lr else {}),
    )
    run.settings.update(pretrain_config=dict(pre.__dict__), finetune_config=dict(ft.__dict__))
    return pre, ft


def _sweep(run: Run) -> dict:
    a, (pre, ft), (arch_kw, decoder_kw) = run.args, _configs(run), _model(run)
    train_set, test_set = load_data(a.train_subset, a.test_subset)
    ratios = [float(r) for r in a.ratios.split(",")]
    results = sweep(
        ratios,
        train_set,
        test_set,
        pre,
        ft,
        run.device,
        arch_kw,
        decoder_kw,
        not a.no_norm_pix,
        not a.quiet,
        a.finetune_head == "probe",
    )
    return {**results, "n_train": len(train_set[1]), "n_test": len(test_set[1])}


def _finetune(run: Run) -> dict:
    a, (pre, ft), (arch_kw, decoder_kw) = run.args, _configs(run), _model(run)
    train_set, test_set = load_data(a.train_subset, a.test_subset)
    results = finetune_vs_scratch(
        train_set, test_set, pre, ft, run.device, arch_kw, decoder_kw, a.init, not a.quiet, a.finetune_head == "probe"
    )
    return {**results, "n_train": len(train_set[1]), "n_test": len(test_set[1])}


def _cost(run: Run) -> dict:
    a, (arch_kw, _) = run.args, _model(run)
    _configs(run)  # not used by the measurement, recorded as every MAE result records them
    return encoder_cost(run.device, a.batch_size, a.mask_ratio, a.steps, arch_kw)


def _pretrain(run: Run) -> None:
    """One MAE, written as a run folder at --out (model.safetensors + card.json) to ship."""
    a, (pre, _), (arch_kw, decoder_kw) = run.args, _configs(run), _model(run)
    train_set, test_set = load_data(a.train_subset, a.test_subset)
    card = pretrain_run(
        run.out,
        train_set,
        test_set,
        a.mask_ratio,
        pre,
        run.device,
        arch_kw,
        decoder_kw,
        not a.no_norm_pix,
        run.command,
        not a.quiet,
    )
    print(json.dumps({"out": str(run.out), "wall_time_s": card["wall_time_s"], **card["metrics"]}))


CLI = Topic(
    "mae",
    __doc__,
    {
        "sweep": Experiment(
            _sweep,
            "pre-train at each masking ratio, then probe and fine-tune each",
            (Option("--ratios", default="0.1,0.25,0.5,0.75,0.9", help="the masking ratios"),),
        ),
        "finetune": Experiment(
            _finetune,
            "fine-tune a pre-trained MAE against the same ViT from scratch",
            (Option("--init", help="MAE weights (shipped name or run folder) instead of pre-training"),),
        ),
        "cost": Experiment(
            _cost,
            "encoder images/s on the visible tokens only (MAE) and on all tokens (BEiT, SimMIM)",
            (Option("--steps", type=int, default=20, help="timed steps per variant"),),
        ),
        "pretrain": Experiment(_pretrain, "one MAE, a run folder to ship"),
    },
    options=(
        Option("--mask-ratio", type=float, default=0.75, help="pretrain, cost"),
        Option("--no-norm-pix", action="store_true", help="reconstruct raw pixels (default: per-patch normalised)"),
        Option("--train-subset", type=int, help="train on a balanced subset of N images (CPU runs)"),
        Option("--test-subset", type=int, help="evaluate on a balanced subset of N test images"),
        Option("--pretrain-epochs", type=float, default=200),
        Option("--pretrain-minutes", type=float, help="wall-clock budget per pre-training (the schedule follows it)"),
        Option("--finetune-epochs", type=float, default=50),
        Option("--finetune-minutes", type=float),
        Option("--batch-size", type=int, default=512),
        Option("--lr", type=float, help="pre-training learning rate (default: the mae recipe's)"),
        Option("--finetune-lr", type=float, help="default: the vit_supervised recipe's"),
        Option(
            "--finetune-head",
            choices=("fresh", "probe"),
            default="fresh",
            help="fine-tuning's classifier starts fresh (the paper) or from the linear probe (LP-FT: short CPU runs)",
        ),
        Option("--dim", type=int, default=192, help="encoder width (ViT-Tiny: 192)"),
        Option("--depth", type=int, default=6),
        Option("--heads", type=int, default=3),
        Option("--decoder-dim", type=int, default=128),
        Option("--decoder-depth", type=int, default=2),
        Option("--decoder-heads", type=int, default=4),
    ),
    out_help="the JSON result (a run folder for pretrain)",
    echo=True,
)
_parser, main = CLI.parser, CLI.main


if __name__ == "__main__":
    sys.exit(main())

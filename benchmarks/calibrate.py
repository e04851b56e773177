"""Calibration, the first step of every GPU session: how fast each model the plan trains runs here.

For each model (half-width ResNet-18 SimCLR, half-width ResNet-18 supervised, ViT-Tiny MAE) the library's own
training step (`sslcourse.train.make_step`: augmentation, bf16, optimizer) is timed eagerly and compiled
whole (augmentation inside the graph, tensor learning rate); then the aggregate views/s of 1, 2 and 4 such
trainings run side by side in separate processes on the one device. The plan (scripts/gpu_plan.py) sizes
every later step from the JSON this writes, which names the card (`card`, its memory in `card_memory_gib`):
the rates of an H100 and an H200 differ, and every estimate says which it comes from. The plan's call 0 runs
it eager only, 1 and 2 side by side, 2 s each: under a minute.

    python benchmarks/calibrate.py --device cuda --seconds 2 --modes eager --concurrency 1,2 --out runs/gpu_plan/calibration/calibration.json
    python benchmarks/calibrate.py --device cpu --tiny --out /tmp/calibration.json   # the CPU smoke
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

MODELS = ("simclr", "supervised", "mae")
# (batch of images, views per image, build kwargs) at the plan's sizes and tiny for a CPU smoke run
SIZES = {
    False: {"simclr": (512, 2, dict(width=0.5)), "supervised": (512, 1, dict(width=0.5)), "mae": (256, 1, {})},
    True: {
        "simclr": (8, 2, dict(width=0.125, hidden_dim=32)),
        "supervised": (8, 1, dict(width=0.125)),
        "mae": (8, 1, dict(dim=32, depth=1, heads=2, decoder_dim=32, decoder_depth=1, decoder_heads=2)),
    },
}


def build(model: str, tiny: bool):
    from sslcourse import methods
    from sslcourse.methods.simclr import SimCLR
    from sslcourse.models import build_model

    kwargs = dict(SIZES[tiny][model][2])
    if model == "simclr":  # the flagship's head: hidden_dim 2048 unless tiny
        hidden = kwargs.pop("hidden_dim", 2048)
        return SimCLR(build_model("resnet18", **kwargs), hidden_dim=hidden)
    return methods.build(model, **kwargs)


def views_per_s(model: str, compiled: bool, device: torch.device, seconds: float, tiny: bool, ready=None) -> dict:
    """Time the library's training step on random uint8 images resident on the device.
    `ready()` is called after warm-up (compilation) and before timing: the side-by-side barrier."""
    from sslcourse.methods import get
    from sslcourse.train import TrainConfig, make_step, setup

    batch, views, _ = SIZES[tiny][model]
    method = build(model, tiny)
    recipe = get(model).recipe
    cfg = TrainConfig(epochs=1, batch_size=batch, optimizer=recipe.optimizer, lr=recipe.lr, compile=compiled)
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (4 * batch, 3, 32, 32), dtype=torch.uint8, generator=g)
    run = setup(method, images, torch.arange(4 * batch) % 10, cfg, device, None, False)
    step = make_step(run)
    method.train()

    def one():
        idx = torch.randint(len(run.x), (batch,), device=device)
        return step(run.x[idx], run.y[idx], cfg.lr * 0.1)

    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    t = time.perf_counter()
    for _ in range(3):  # compilation and autotuning happen here
        one()
    sync()
    warmup_s = time.perf_counter() - t
    if ready:
        ready()
    n, t = 0, time.perf_counter()
    while n < 3 or time.perf_counter() - t < seconds:
        loss = one()
        n += 1
    loss.item()
    sync()
    elapsed = time.perf_counter() - t
    return {
        "views_per_s": round(n * batch * views / elapsed, 1),
        "steps": n,
        "batch": batch,
        "views_per_image": views,
        "warmup_s": round(warmup_s, 1),
    }


def side_by_side(model: str, compiled: bool, k: int, device: str, seconds: float, tiny: bool) -> dict:
    """Aggregate views/s of k trainings in separate processes, timed together (after all have warmed up)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = (
            [
                sys.executable,
                __file__,
                "--worker",
                model,
                "--device",
                device,
                "--seconds",
                str(seconds),
                "--barrier",
                tmp,
            ]
            + (["--compile-step"] if compiled else [])
            + (["--tiny"] if tiny else [])
        )
        procs = [subprocess.Popen(args, stdout=subprocess.PIPE, text=True) for _ in range(k)]
        deadline = time.monotonic() + 600
        while len(list(Path(tmp).glob("ready-*"))) < k:
            if any(p.poll() not in (None, 0) for p in procs) or time.monotonic() > deadline:
                for p in procs:
                    p.kill()
                raise RuntimeError(f"a side-by-side worker failed before timing ({k} processes)")
            time.sleep(0.05)
        (Path(tmp) / "go").touch()
        outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    if any(p.returncode for p in procs):
        raise RuntimeError(f"a side-by-side worker failed ({k} processes)")
    total = sum(o["views_per_s"] for o in outs)
    return {
        "processes": k,
        "aggregate_views_per_s": round(total, 1),
        "per_process_views_per_s": [o["views_per_s"] for o in outs],
    }


def calibrate(
    device: torch.device,
    seconds: float,
    tiny: bool,
    concurrency=(1, 2, 4),
    models=MODELS,
    modes=("eager", "compiled"),
    log=print,
) -> dict:
    result = {"models": {}, "side_by_side": {}}
    for model in models:
        entry = {}
        for compiled in [m == "compiled" for m in modes]:
            entry["compiled" if compiled else "eager"] = m = views_per_s(model, compiled, device, seconds, tiny)
            log(
                f"{model:10s} {'compiled' if compiled else 'eager':8s} {m['views_per_s']:10.0f} views/s "
                f"(warm-up {m['warmup_s']} s)"
            )
        entry["best"] = max(modes, key=lambda mode: entry[mode]["views_per_s"])
        result["models"][model] = entry
    # side by side: the plan's most frequent run (SimCLR) in its faster mode
    lead = models[0]
    compiled = result["models"][lead]["best"] == "compiled"
    rows = [side_by_side(lead, compiled, k, str(device), seconds, tiny) for k in concurrency]
    one = rows[0]["aggregate_views_per_s"]
    for row in rows:
        row["speedup"] = round(row["aggregate_views_per_s"] / one, 2)
        log(
            f"{row['processes']} x {lead} side by side: {row['aggregate_views_per_s']:10.0f} views/s "
            f"({row['speedup']}x one)"
        )
    result["side_by_side"] = {"model": lead, "mode": "compiled" if compiled else "eager", "rows": rows}
    return result


def _worker(args) -> int:
    from sslcourse.device import pick_device

    barrier = Path(args.barrier)

    def ready():
        (barrier / f"ready-{os.getpid()}").touch()
        while not (barrier / "go").exists():
            time.sleep(0.01)

    if not torch.cuda.is_available():
        torch.set_num_threads(1)  # CPU smoke: processes side by side share the cores
    out = views_per_s(
        args.worker, args.compile_step, pick_device(args.device, verbose=False), args.seconds, args.tiny, ready
    )
    print(json.dumps(out))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", help="the JSON to write (with provenance)")
    p.add_argument("--seconds", type=float, default=4.0, help="timed seconds per measurement (after warm-up)")
    p.add_argument("--concurrency", default="1,2,4", help="numbers of trainings side by side")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument(
        "--modes", default="eager,compiled", help="eager, compiled or both (compiling on a CPU takes minutes)"
    )
    p.add_argument("--tiny", action="store_true", help="tiny models and batches: a CPU smoke run")
    p.add_argument("--force", action="store_true", help="replace --out")
    p.add_argument("--worker", choices=MODELS, help=argparse.SUPPRESS)
    p.add_argument("--compile-step", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--barrier", help=argparse.SUPPRESS)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.worker:
        return _worker(args)
    from sslcourse.device import pick_device
    from sslcourse.experiments import provenance

    models = tuple(args.models.split(","))
    modes = tuple(args.modes.split(","))
    unknown = [m for m in models if m not in MODELS] + [m for m in modes if m not in ("eager", "compiled")]
    if unknown or not args.out:
        why = f"unknown model(s) or mode(s) {unknown}; models: {', '.join(MODELS)}; modes: eager, compiled"
        print(f"error: {why if unknown else '--out is required'}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"error: {out} exists; pass --force to replace it", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(out.parent, os.W_OK):
        print(f"error: cannot write into {out.parent}; choose another --out", file=sys.stderr)
        return 2
    device = pick_device(args.device)
    card = {"card": "cpu", "card_memory_gib": None}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        card = {"card": props.name, "card_memory_gib": round(props.total_memory / 2**30, 1)}
    print(f"card: {card['card']}" + (f", {card['card_memory_gib']} GiB" if card["card_memory_gib"] else ""))
    t = time.perf_counter()
    result = calibrate(
        device, args.seconds, args.tiny, tuple(int(k) for k in args.concurrency.split(",")), models, modes
    )
    command = "python benchmarks/calibrate.py " + " ".join(sys.argv[1:] if argv is None else argv)
    result.update(provenance(device, command, time.perf_counter() - t), **card, tiny=args.tiny, seconds=args.seconds)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

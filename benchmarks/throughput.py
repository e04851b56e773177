"""SimCLR-style training throughput: the sslcourse engine vs the conventional pipeline vs the compute bound.

Same model, batch and loss in all three; only the way the images reach the model differs:
  engine        CIFAR-10 resident on the device as uint8, batched augmentation there (sslcourse.augment),
                bf16 autocast and channels_last on CUDA;
  conventional  torchvision PIL transforms in DataLoader workers (one per core), fp32, the usual tutorial;
  bound         images already on the device as floats, no augmentation at all (engine's precision):
                the most the model itself allows.
Sizes shrink on a CPU so the run takes about a minute. The last line printed is JSON.
With --compile the engine runs the library's compiled whole step (`sslcourse.train.make_step`: augmentation
inside the graph, tensor learning rate) and the bound a compiled model. The model FLOP utilisation (MFU) is
the FLOPs of one step (counted by torch's FlopCounterMode) times steps/s over the chip's dense bf16 peak.

    python benchmarks/throughput.py --device cuda --compile --width 0.5 --json half.json
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
from torch.utils.data import DataLoader, Dataset

from sslcourse import augment, data
from sslcourse.device import describe, pick_device
from sslcourse.methods.simclr import SimCLR, nt_xent_loss
from sslcourse.models import resnet18


class PairDataset(Dataset):
    """Two PIL-augmented views per image: the conventional SimCLR input pipeline."""

    def __init__(self, images: torch.Tensor):
        from PIL import Image
        from torchvision import transforms as T

        self.pil = [Image.fromarray(im.permute(1, 2, 0).numpy()) for im in images]
        self.t = T.Compose(
            [
                T.RandomResizedCrop(32, scale=(0.2, 1.0)),
                T.RandomHorizontalFlip(),
                T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
                T.RandomGrayscale(p=0.2),
                T.ToTensor(),
            ]
        )

    def __len__(self):
        return len(self.pil)

    def __getitem__(self, i):
        return self.t(self.pil[i]), self.t(self.pil[i])


def timed(step, warmup: int, steps: int, device: torch.device) -> float:
    """Seconds per step after `warmup` untimed steps."""
    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / steps


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--width", type=float, help="ResNet-18 width (default 1.0 on CUDA, 0.25 on CPU)")
    p.add_argument("--batch", type=int, help="image pairs per step (default 512 on CUDA, 64 on CPU)")
    p.add_argument("--steps", type=int, help="timed steps per pipeline (default 50 on CUDA, 4 on CPU)")
    p.add_argument("--workers", type=int, default=os.cpu_count(), help="DataLoader workers (default: one per core)")
    p.add_argument(
        "--compile", action="store_true", help="the engine's whole step compiled; the bound's model compiled"
    )
    p.add_argument("--peak-tflops", type=float, help="dense bf16 peak for MFU (default: 989 on an H100/H200)")
    p.add_argument("--json", help="also write the JSON result to this file")
    return p


def step_flops(width: float, batch: int, device: torch.device) -> int:
    """FLOPs of one training step's model work (forward and backward of 2 x batch views)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = SimCLR(resnet18(width=width)).to(device)
    x = torch.rand(2 * batch, 3, 32, 32, device=device)
    with FlopCounterMode(display=False) as counter:
        z = model(x)
        nt_xent_loss(*z.float().chunk(2), 0.2).backward()
    return counter.get_total_flops()


def peak_flops(args, device) -> float | None:
    if args.peak_tflops:
        return args.peak_tflops * 1e12
    name = describe(device)
    return 989e12 if device.type == "cuda" and ("H100" in name or "H200" in name) else None


def main(argv=None) -> None:
    args = parser().parse_args(argv)

    device = pick_device(args.device)
    cuda = device.type == "cuda"
    width = args.width or (1.0 if cuda else 0.25)
    batch = args.batch or (512 if cuda else 64)
    steps = args.steps or (50 if cuda else 4)
    warmup = 10 if cuda else 1
    torch.backends.cudnn.benchmark = True

    images, _ = data.load_cifar10("train")
    model = SimCLR(resnet18(width=width)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    gen = torch.Generator(device).manual_seed(0)

    def optimise(v1, v2, autocast: bool):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast and cuda):
            z = model(torch.cat([v1, v2]))
            loss = nt_xent_loss(*z.chunk(2), 0.2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    results = {}
    # 1. engine: resident uint8, batched augmentation on the device, bf16 + channels_last on CUDA
    # (NHWC feeds the tensor cores; on a CPU it is slower, so the engine keeps NCHW there, as train() does)
    fmt = torch.channels_last if cuda else torch.contiguous_format
    model.to(memory_format=fmt)
    resident = images.to(device)
    pipeline = augment.simclr_pipeline()
    if args.compile:  # the library's compiled whole step, on its own copy of the model
        from sslcourse.train import TrainConfig, make_step, setup

        method = SimCLR(resnet18(width=width))
        cfg = TrainConfig(batch_size=batch, lr=0.01, compile=True)
        run = setup(method, images[: batch * 4], torch.zeros(batch * 4, dtype=torch.long), cfg, device, None, False)
        library_step = make_step(run)
        unused_labels = torch.zeros(batch, dtype=torch.long, device=device)
        method.train()
        model.compile()

    def engine_step():
        idx = torch.randint(len(resident), (batch,), device=device, generator=gen)
        x = resident[idx]
        if args.compile:
            library_step(x, unused_labels, 0.01)  # SimCLR ignores labels
            return
        optimise(
            pipeline(x, gen).contiguous(memory_format=fmt),
            pipeline(x, gen).contiguous(memory_format=fmt),
            autocast=True,
        )

    results["engine"] = timed(engine_step, warmup, steps, device)

    # 2. compute bound: the same, minus augmentation (images already float on the device)
    floats = augment.to_float(resident[: batch * 4]).contiguous(memory_format=fmt)

    def bound_step():
        idx = torch.randint(len(floats), (batch,), device=device, generator=gen)
        x = floats[idx]
        optimise(x, x, autocast=True)

    results["bound"] = timed(bound_step, warmup, steps, device)

    # 3. conventional: PIL transforms in DataLoader workers, fp32, contiguous memory
    model = SimCLR(resnet18(width=width)).to(device)  # fresh, uncompiled, NCHW
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    n_conv = batch * (warmup + steps + 2)
    loader = DataLoader(
        PairDataset(images[:n_conv]),
        batch_size=batch,
        shuffle=True,
        drop_last=True,
        num_workers=args.workers,
        pin_memory=cuda,
        persistent_workers=args.workers > 0,
    )
    batches = iter(loader)

    def conventional_step():
        v1, v2 = next(batches)
        optimise(v1.to(device, non_blocking=True), v2.to(device, non_blocking=True), autocast=False)

    results["conventional"] = timed(conventional_step, warmup, steps, device)

    views = {k: 2 * batch / s for k, s in results.items()}
    flops, peak = step_flops(width, batch, device), peak_flops(args, device)
    mfu = {k: round(flops / results[k] / peak, 3) if peak else None for k in ("engine", "bound")}
    print(
        f"device {describe(device)}; ResNet-18 width {width}, {batch} pairs a step, {steps} timed steps, "
        f"{args.workers} loader workers, compile={args.compile}"
    )
    for k, v in views.items():
        print(f"  {k:13s} {v:10.0f} views/s")
    print(
        f"  model FLOPs a step {flops / 1e9:.1f} GFLOP; MFU engine {mfu['engine']}, bound {mfu['bound']}"
        + (f" of {peak / 1e12:.0f} TFLOP/s" if peak else " (no peak known for this device)")
    )
    record = {
        "device": describe(device),
        "width": width,
        "batch_pairs": batch,
        "workers": args.workers,
        "compile": args.compile,
        "engine_views_per_s": round(views["engine"]),
        "conventional_views_per_s": round(views["conventional"]),
        "compute_bound_views_per_s": round(views["bound"]),
        "ratio_vs_conventional": round(views["engine"] / views["conventional"], 2),
        "ratio_vs_bound": round(views["engine"] / views["bound"], 2),
        "step_gflops": round(flops / 1e9, 2),
        "peak_tflops": peak / 1e12 if peak else None,
        "mfu_engine": mfu["engine"],
        "mfu_bound": mfu["bound"],
        "torch": torch.__version__,
    }
    print(json.dumps(record))
    if args.json:
        from pathlib import Path

        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()

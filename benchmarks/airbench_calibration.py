"""airbench (Keller Jordan's fast CIFAR-10 trainer, `pip install airbench`) on exactly this course's data.

Its 94% recipe (`airbench.train94`) is trained on our CIFAR-10 (the JPEG-encoded copy `sslcourse.data` serves),
handed to it as the tensors its loader reads, so its accuracy calibrates our supervised target: if it cannot
reach 93% here, the target becomes its number minus half a point. airbench needs CUDA (it builds its net in
fp16 on the GPU); without CUDA this only writes the data it would read.

The GPU machine has no network: airbench 0.1.8 is a 12 kB pure-Python package, carried as a wheel in the
git-ignored `.whl/` (`pip wheel --no-deps airbench==0.1.8 -w .whl` here) and imported from it as a zip.

    python benchmarks/airbench_calibration.py --device cuda --out runs/gpu_plan/airbench/airbench.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
WHEELS = ROOT / ".whl"


def export_for_airbench(folder: Path) -> dict:
    """Write folder/cifar10/{train,test}.pt in airbench's layout (uint8 NHWC images, int64 labels, class names)
    from this course's data; returns the shapes written."""
    from sslcourse import data

    target = Path(folder) / "cifar10"
    target.mkdir(parents=True, exist_ok=True)
    shapes = {}
    for split in ("train", "test"):
        x, y = data.load_cifar10(split)  # (N, 3, 32, 32) uint8, (N,)
        images = x.permute(0, 2, 3, 1).contiguous()  # airbench permutes NHWC back itself
        torch.save({"images": images, "labels": y.long(), "classes": list(data.CLASSES)}, target / f"{split}.pt")
        shapes[split] = list(images.shape)
    return shapes


def import_airbench():
    """airbench from the environment, or from a carried wheel in .whl/ (a pure-Python wheel imports as a zip)."""
    try:
        import airbench

        return airbench
    except ImportError:
        wheels = sorted(WHEELS.glob("airbench-*.whl"))
        if not wheels:
            raise ImportError(
                "airbench is not installed and no airbench wheel is in .whl/; here, with network: "
                "pip wheel --no-deps airbench==0.1.8 -w .whl"
            ) from None
        sys.path.insert(0, str(wheels[-1]))
        import airbench

        return airbench


def run(work: Path, runs: int = 1) -> dict:
    airbench = import_airbench()
    export_for_airbench(work)
    cwd = os.getcwd()
    os.chdir(work)  # airbench reads its test set from ./cifar10
    try:
        hyp = airbench.lib_airbench94.hyp
        accs = []
        for i in range(runs):
            loader = airbench.CifarLoader(
                "cifar10", train=True, batch_size=hyp["opt"]["batch_size"], aug=hyp["aug"], altflip=True
            )
            model = airbench.train94(loader, run=i, verbose=False)  # returns the trained net
            test = airbench.CifarLoader("cifar10", train=False, batch_size=2000)
            accs.append(float(airbench.evaluate(model, test, tta_level=hyp["net"]["tta_level"])))
    finally:
        os.chdir(cwd)
    return {
        "airbench_version": getattr(airbench, "__version__", "0.1.8"),
        "recipe": "train94",
        "test_accuracy": [round(100 * a, 2) for a in accs],
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda")
    p.add_argument("--out", required=True)
    p.add_argument("--runs", type=int, default=3, help="independent airbench runs (their spread is the noise)")
    p.add_argument("--work", default="runs/airbench_data", help="where our data is written in airbench's layout")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    from sslcourse.device import pick_device
    from sslcourse.experiments import provenance

    device = pick_device(args.device)
    if device.type != "cuda":
        shapes = export_for_airbench(Path(args.work))
        print(f"airbench needs CUDA ({device} here): wrote its data only {shapes}; nothing trained", file=sys.stderr)
        return 0
    t = time.perf_counter()
    result = run(Path(args.work).resolve(), args.runs)
    acc = torch.tensor(result["test_accuracy"])
    result.update(
        mean=round(acc.mean().item(), 2),
        sd=round(acc.std().item(), 2) if len(acc) > 1 else None,
        supervised_target=round(min(93.0, acc.mean().item() - 0.5), 2),
    )
    result.update(
        provenance(
            device, "python benchmarks/airbench_calibration.py " + " ".join(sys.argv[1:]), time.perf_counter() - t
        )
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

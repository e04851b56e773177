"""How long each shortcut measurement takes on this machine, on all 10,000 test images.

    SSLCOURSE_DATA=../shared/data python benchmarks/shortcuts.py [--threads 2]

SimCLR: both cues on the 49 cells of the Figure 5 grid (sslcourse.experiments.simclr_shortcut), with the time
spent augmenting, computing the cues and matching. MAE: both baselines at the five masking ratios, then the
shipped MAE at the same ratios (sslcourse.experiments.mae_shortcut). The target is under a minute each on 2
cores, for the baselines. The load average is printed beside the times: on a shared machine they are upper
bounds. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    from sslcourse import data, pretrained
    from sslcourse.experiments import mae_shortcut, simclr_shortcut

    images, _ = data.load_cifar10("test")
    load = os.getloadavg()[0]
    t = time.perf_counter()
    simclr_shortcut.shortcut_grid(images, log=lambda _: None)
    simclr_s = time.perf_counter() - t
    t = time.perf_counter()
    mae_shortcut.ratio_sweep(images, log=lambda _: None)
    baselines_s = time.perf_counter() - t
    model = pretrained.load("mae_vit", device="cpu", full=True)
    x = images.float() / 255
    t = time.perf_counter()
    for i, ratio in enumerate(mae_shortcut.RATIOS):
        mae_shortcut.mae_prediction(model, x, mae_shortcut.patch_masks(len(x), ratio, seed=i))
    model_s = time.perf_counter() - t
    print(
        f"{len(images)} test images, {torch.get_num_threads()} threads ({os.cpu_count()} cores, load average "
        f"{load:.1f} at the start): SimCLR's 49-cell grid, both cues {simclr_s:.1f} s; MAE's baselines at "
        f"{len(mae_shortcut.RATIOS)} ratios {baselines_s:.1f} s, the shipped MAE's reconstructions {model_s:.1f} s"
    )
    print(
        json.dumps(
            {
                "images": len(images),
                "threads": torch.get_num_threads(),
                "load_average": round(load, 2),
                "simclr_grid_s": round(simclr_s, 1),
                "mae_baselines_s": round(baselines_s, 1),
                "mae_model_s": round(model_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()

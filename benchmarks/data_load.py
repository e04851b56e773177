"""CIFAR-10 load times: cold (decoding the JPEG tree) and warm (from the cache), both splits.

    SSLCOURSE_DATA=../shared/data python benchmarks/data_load.py

Cold loads use a fresh temporary cache folder, so the real cache is untouched. The last line is JSON.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

import torch


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SSLCOURSE_CACHE"] = tmp
        os.environ["SSLCOURSE_OFFLINE"] = "1"
        from sslcourse import data

        if data.jpeg_root() is None or not data.jpeg_root().is_dir():
            raise SystemExit("set SSLCOURSE_DATA to the folder that holds cifar10-jpeg/")
        t = time.perf_counter()
        n = sum(len(data.load_cifar10(s)[0]) for s in ("train", "test"))
        cold = time.perf_counter() - t
        t = time.perf_counter()
        for s in ("train", "test"):
            data.load_cifar10(s)
        warm = time.perf_counter() - t
    print(
        f"{n} images on {torch.get_num_threads()} threads ({os.cpu_count()} cores): "
        f"cold from the JPEG tree {cold:.1f} s, warm from the cache {warm:.2f} s"
    )
    print(
        json.dumps(
            {"images": n, "cold_jpeg_s": round(cold, 2), "warm_cache_s": round(warm, 3), "cores": os.cpu_count()}
        )
    )


if __name__ == "__main__":
    main()

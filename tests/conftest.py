"""Shared fixtures. Tests read CIFAR-10 offline from $SSLCOURSE_DATA/cifar10-jpeg (see .ci/run)."""

from pathlib import Path

import pytest
import torch

torch.set_num_threads(min(2, torch.get_num_threads()))  # the suite is sized for 2 cores


@pytest.fixture(scope="session")
def jpeg_root() -> Path:
    from sslcourse import data

    root = data.jpeg_root()
    if root is None or not root.is_dir():
        pytest.skip("set SSLCOURSE_DATA to the folder holding cifar10-jpeg/ (CI does: see .ci/run)")
    return root


@pytest.fixture(scope="session")
def cifar(jpeg_root):
    """Both splits, through the project's normal cache (built once per machine)."""
    from sslcourse import data

    return {split: data.load_cifar10(split) for split in ("train", "test")}


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """A fresh, empty cache folder and no network for one test."""
    monkeypatch.setenv("SSLCOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SSLCOURSE_OFFLINE", "1")
    monkeypatch.delenv("SSLCOURSE_PACK", raising=False)
    return tmp_path / "cache"

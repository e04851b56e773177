import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sslcourse import data, pack
from sslcourse.device import pick_device, seed_everything
from sslcourse.instructor import datapack

# The published checksum of the offline tree (../shared/data/README.md).
TREE_SHA256 = "c217601eebcfee757a51b381539a30bc3b0a89cac54850a81d992750b4fa8352"


def test_jpeg_tree_loads_completely_with_correct_labels(jpeg_root, isolated_cache):
    for split, n in data.SPLIT_SIZES.items():
        images, labels = data.load_cifar10(split)
        assert images.shape == (n, 3, 32, 32) and images.dtype == torch.uint8
        assert labels.shape == (n,) and labels.dtype == torch.int64
        assert torch.bincount(labels).tolist() == [n // 10] * 10
        # spot-check: image i is the file it claims to be, with the label of its folder
        files = data.jpeg_files(jpeg_root, split)
        for i in (0, n // 3, n - 1):
            path, label = files[i]
            assert labels[i] == label == data.CLASSES.index(path.parent.name)
            pil = np.asarray(Image.open(path).convert("RGB")).transpose(2, 0, 1)
            # torchvision and PIL use different JPEG decoders: equal up to rounding of the IDCT/upsampling
            assert np.abs(pil.astype(int) - images[i].numpy().astype(int)).mean() < 3
        assert data.cache_path(split).is_file()


def test_cache_round_trips_without_touching_the_source(cifar, monkeypatch):
    def no_source(split):
        raise AssertionError("the cache should have been used")
        yield

    monkeypatch.setattr(data, "_sources", no_source)
    for split in ("train", "test"):
        images, labels = data.load_cifar10(split)
        assert torch.equal(images, cifar[split][0]) and torch.equal(labels, cifar[split][1])
    assert (
        "JPEG tree" in data.describe_source() or "pack" in data.describe_source() or "files" in data.describe_source()
    )


def _tamper(path: Path, **changes):
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays.update(changes)
    np.savez(path, **arrays)


@pytest.mark.parametrize("damage", ["pixels", "shape", "labels", "garbage", "truncated"])
def test_invalid_cache_is_rebuilt_never_used(jpeg_root, isolated_cache, damage):
    images, labels = data.load_cifar10("test")
    path = data.cache_path("test")
    if damage == "pixels":  # same shape, one pixel changed: only the checksum catches it
        bad = images.numpy().copy()
        bad[5, 0, 0, 0] ^= 0xFF
        _tamper(path, images=bad)
    elif damage == "shape":
        _tamper(path, images=images.numpy()[:100])
    elif damage == "labels":
        _tamper(path, labels=np.full(10_000, 42, dtype=np.int64))
    elif damage == "garbage":
        path.write_bytes(b"not a cache at all")
    else:
        path.write_bytes(path.read_bytes()[:1000])
    with pytest.warns(UserWarning, match="invalid CIFAR-10 cache"):
        again, again_labels = data.load_cifar10("test")
    assert torch.equal(again, images) and torch.equal(again_labels, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt cache is valid: no warning the next time
        data.load_cifar10("test")


def test_missing_source_gives_one_clear_error(tmp_path, isolated_cache, monkeypatch):
    monkeypatch.setenv("SSLCOURSE_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(data.DataNotFoundError) as err:
        data.load_cifar10("train")
    message = str(err.value)
    for hint in ("internet", "cifar-10-batches-py", "SSLCOURSE_DATA", "data pack"):
        assert hint in message


def test_bad_split_is_rejected():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.load_cifar10("validation")


def test_pack_is_lossless_and_loads_like_the_tree(jpeg_root, cifar, tmp_path, isolated_cache, monkeypatch):
    out = tmp_path / "cifar10.pack"
    header = datapack.write_pack(jpeg_root, out)
    assert header["tree_sha256"] == TREE_SHA256  # byte-identical to the published tree
    assert pack.verify_pack(out) == TREE_SHA256
    assert out.stat().st_size < 20e6  # the bodies alone, without 60,000 copies of the shared header
    _, files = pack.read_pack(out)
    first = data.jpeg_files(jpeg_root, "train")[0][0]
    assert files[0] == first.read_bytes()

    monkeypatch.setenv("SSLCOURSE_PACK", str(out))
    monkeypatch.setenv("SSLCOURSE_DATA", str(tmp_path / "no-tree"))  # the pack must suffice
    images, labels = data.load_cifar10("test")
    assert torch.equal(images, cifar["test"][0]) and torch.equal(labels, cifar["test"][1])
    assert "pack" in data.describe_source("test")


def test_corrupt_pack_is_detected(jpeg_root, tmp_path):
    out = tmp_path / "cifar10.pack"
    datapack.write_pack(jpeg_root, out)
    raw = bytearray(out.read_bytes())
    raw[-10] ^= 0xFF
    out.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="corrupt"):
        pack.verify_pack(out)
    out.write_bytes(b"hello")
    with pytest.raises(ValueError, match="not an sslcourse pack"):
        pack.read_pack(out)


def test_few_label_subset_is_balanced_deterministic_and_nested(cifar):
    labels = cifar["train"][1]
    small = data.few_label_indices(labels, 5)
    big = data.few_label_indices(labels, 50)
    assert torch.bincount(labels[small]).tolist() == [5] * 10
    assert torch.bincount(labels[big]).tolist() == [50] * 10
    assert torch.equal(small, data.few_label_indices(labels, 5))
    assert set(small.tolist()) <= set(big.tolist())
    assert not torch.equal(small, data.few_label_indices(labels, 5, seed=1))
    with pytest.raises(ValueError, match="per_class"):
        data.few_label_indices(labels, 5001)


def test_sample_photos_are_real_photographs():
    photos = data.sample_photos()
    assert {"astronaut", "coffee", "chelsea", "rocket", "motorcycle", "camera"} <= set(photos)
    for name, im in photos.items():
        assert im.dtype == torch.uint8 and im.ndim == 3 and min(im.shape[1:]) >= 256
        assert im.shape[0] == (1 if name == "camera" else 3)
        assert im.float().std() > 20  # a photograph, not a blank


def test_device_and_seeds(capsys):
    assert pick_device("cpu").type == "cpu"
    assert "cpu" in capsys.readouterr().out
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available"):
            pick_device("cuda", verbose=False)
    seed_everything(3)
    a = (torch.rand(3), np.random.rand(), __import__("random").random())
    seed_everything(3)
    b = (torch.rand(3), np.random.rand(), __import__("random").random())
    assert torch.equal(a[0], b[0]) and a[1:] == b[1:]


def test_balanced_subset_is_the_one_way_to_take_n_examples():
    labels = torch.arange(1000) % 10
    keep = data.balanced_subset(labels, 200)
    assert len(keep) == 200 and torch.bincount(labels[keep]).tolist() == [20] * 10
    assert torch.equal(keep, data.few_label_indices(labels, 20))  # the same nested subsets
    assert len(data.balanced_subset(labels, 3)) == 10  # at least one of each class
    assert torch.equal(data.balanced_subset(labels, None), torch.arange(1000))
    assert torch.equal(data.balanced_subset(labels, 0), torch.arange(1000))

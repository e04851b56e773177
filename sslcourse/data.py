"""CIFAR-10 as uint8 tensors, from whichever source this machine has.

`load_cifar10(split)` tries, in order:
  1. the compact cache this module writes (validated by shape, count and sha256),
  2. torchvision's official CIFAR-10 files in the data folder,
  3. a pack written by `python -m sslcourse data pack` (for machines without network),
  4. the ImageFolder JPEG tree at `$SSLCOURSE_DATA/cifar10-jpeg`,
  5. a torchvision download (skipped when `SSLCOURSE_OFFLINE=1`),
and writes the cache after the first successful load, so later loads take well under a second.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from sslcourse import pack

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SPLIT_SIZES = {"train": 50_000, "test": 10_000}
IMAGE_SHAPE = (3, 32, 32)
# Per-channel statistics of the training set (official release), for input normalisation.
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)

_REPO_ROOT = Path(__file__).resolve().parents[1]


class DataNotFoundError(FileNotFoundError):
    """No source of CIFAR-10 exists on this machine."""


def data_dir() -> Path:
    """The folder that holds the cache (and any official files or pack).

    `$SSLCOURSE_CACHE` if set; else the repository's `data/` when running from a checkout;
    else `~/.cache/sslcourse` (a pip install, e.g. on Colab).
    """
    if os.environ.get("SSLCOURSE_CACHE"):
        return Path(os.environ["SSLCOURSE_CACHE"]).expanduser()
    if (_REPO_ROOT / "pyproject.toml").is_file() and (_REPO_ROOT / "data").is_dir():
        return _REPO_ROOT / "data"
    return Path.home() / ".cache" / "sslcourse"


def jpeg_root() -> Path | None:
    """`$SSLCOURSE_DATA/cifar10-jpeg`, the offline JPEG tree, or None when the variable is unset."""
    root = os.environ.get("SSLCOURSE_DATA")
    return Path(root).expanduser() / "cifar10-jpeg" if root else None


def pack_path() -> Path:
    return Path(os.environ.get("SSLCOURSE_PACK") or data_dir() / "cifar10.pack")


def _check_split(split: str) -> None:
    if split not in SPLIT_SIZES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


# --------------------------------------------------------------------------- cache
def cache_path(split: str) -> Path:
    return data_dir() / f"cifar10-{split}.npz"


def _digest(images: np.ndarray, labels: np.ndarray) -> str:
    h = hashlib.sha256(np.ascontiguousarray(images).data)
    h.update(np.ascontiguousarray(labels).data)
    return h.hexdigest()


def _write_cache(split: str, images: torch.Tensor, labels: torch.Tensor, source: str) -> Path | None:
    path = cache_path(split)
    im, lb = images.numpy(), labels.numpy()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez(tmp, images=im, labels=lb, sha256=np.array(_digest(im, lb)), source=np.array(source))
        os.replace(tmp, path)  # atomic: a reader never sees half a cache
        return path
    except OSError as err:  # a read-only checkout still works, just without a cache
        warnings.warn(f"could not write the CIFAR-10 cache to {path}: {err}", stacklevel=3)
        return None


def _read_cache(split: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The cached split, or None when there is none; a cache that fails validation is deleted."""
    path = cache_path(split)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            images, labels, digest = f["images"], f["labels"], str(f["sha256"])
        n = SPLIT_SIZES[split]
        problem = None
        if images.shape != (n, *IMAGE_SHAPE) or images.dtype != np.uint8:
            problem = f"images are {images.dtype}{list(images.shape)}, expected uint8{[n, *IMAGE_SHAPE]}"
        elif labels.shape != (n,) or labels.dtype != np.int64:
            problem = f"labels are {labels.dtype}{list(labels.shape)}, expected int64[{n}]"
        elif labels.min() < 0 or labels.max() >= len(CLASSES):
            problem = "labels outside 0..9"
        elif _digest(images, labels) != digest:
            problem = "content checksum mismatch"
    except Exception as err:  # truncated zip, missing key, garbage bytes
        problem = f"unreadable ({type(err).__name__}: {err})"
    if problem:
        warnings.warn(f"ignoring invalid CIFAR-10 cache {path}: {problem}; rebuilding it", stacklevel=3)
        path.unlink(missing_ok=True)
        return None
    return torch.from_numpy(images), torch.from_numpy(labels)


# --------------------------------------------------------------------------- sources
def _from_official(split: str, root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import CIFAR10

    ds = CIFAR10(str(root), train=split == "train", download=False)
    images = torch.from_numpy(np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)))  # (N,H,W,C) -> (N,C,H,W)
    return images, torch.tensor(ds.targets, dtype=torch.int64)


def _official_present(root: Path) -> bool:
    return (root / "cifar-10-batches-py" / "test_batch").is_file()


def decode_jpegs(blobs: list[bytes]) -> torch.Tensor:
    """Decode JPEG byte strings to a uint8 tensor (N, 3, H, W), one decoder for every source.

    torchvision's batched decoder is about 3x faster than PIL here; PIL is the fallback for a
    torchvision without it (its image I/O is deprecated from 0.29 on in favour of torchcodec).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from torchvision.io import ImageReadMode, decode_jpeg

            tensors = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in blobs]
            return torch.stack(decode_jpeg(tensors, mode=ImageReadMode.RGB))
    except (ImportError, AttributeError, RuntimeError):
        import io

        from PIL import Image

        arrays = [np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in blobs]
        return torch.from_numpy(np.stack(arrays).transpose(0, 3, 1, 2).copy())


def jpeg_files(root: Path, split: str) -> list[tuple[Path, int]]:
    """(path, label) for every JPEG of one split of the ImageFolder tree, in sorted order."""
    out = []
    for label, name in enumerate(CLASSES):
        folder = root / split / name
        if not folder.is_dir():
            raise DataNotFoundError(f"{folder} is missing: the JPEG tree at {root} is incomplete")
        out += [(p, label) for p in sorted(folder.glob("*.jpg"))]
    return out


def _from_pack(path: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One split of a pack, decoded like the JPEG tree: images (N, 3, 32, 32) uint8, labels (N,)."""
    header, files = pack.read_pack(path)
    picked = [(e[1], b) for e, b in zip(header["entries"], files) if e[0] == split]
    images = decode_jpegs([b for _, b in picked])
    return images, torch.tensor([label for label, _ in picked], dtype=torch.int64)


def _from_jpeg_tree(split: str, root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    files = jpeg_files(root, split)
    images = decode_jpegs([p.read_bytes() for p, _ in files])
    return images, torch.tensor([label for _, label in files], dtype=torch.int64)


def _from_download(split: str, root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import CIFAR10

    CIFAR10(str(root), train=split == "train", download=True)
    return _from_official(split, root)


def _sources(split: str):
    """(description, loader) for each source that exists here, in order of preference."""
    root = data_dir()
    if _official_present(root):
        yield f"torchvision's CIFAR-10 files in {root}", lambda: _from_official(split, root)
    if pack_path().is_file():
        yield f"the pack {pack_path()}", lambda: _from_pack(pack_path(), split)
    jroot = jpeg_root()
    if jroot is not None and jroot.is_dir():
        yield f"the JPEG tree {jroot}", lambda: _from_jpeg_tree(split, jroot)
    if os.environ.get("SSLCOURSE_OFFLINE", "") not in ("1", "true", "yes"):
        yield "a torchvision download", lambda: _from_download(split, root)


def _no_source_message(errors: list[str]) -> str:
    tried = "".join(f"\n  - {e}" for e in errors) or "\n  - (no source was found)"
    return (
        "CIFAR-10 is not available on this machine. Tried:" + tried + "\n"
        "Any one of these fixes it:\n"
        "  1. connect to the internet and run again (torchvision downloads the official files, 163 MB);\n"
        f"  2. put torchvision's official 'cifar-10-batches-py' folder in {data_dir()};\n"
        "  3. set SSLCOURSE_DATA to a folder that holds 'cifar10-jpeg/{train,test}/<class>/*.jpg';\n"
        f"  4. copy a pack made by `python -m sslcourse data pack` to {pack_path()} (or set SSLCOURSE_PACK)."
    )


def load_cifar10(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 images and labels.

    Shape: images (N, 3, 32, 32) uint8, labels (N,) int64; N = 50,000 (train) or 10,000 (test).
    """
    _check_split(split)
    cached = _read_cache(split)
    if cached is not None:
        return cached
    errors = []
    for what, load in _sources(split):
        try:
            images, labels = load()
        except DataNotFoundError as err:
            errors.append(f"{what}: {err}")
            continue
        except Exception as err:  # a broken download, a corrupt file: try the next source
            errors.append(f"{what}: {type(err).__name__}: {err}")
            continue
        n = SPLIT_SIZES[split]
        if tuple(images.shape) != (n, *IMAGE_SHAPE):
            errors.append(f"{what}: gave {list(images.shape)} images, expected {[n, *IMAGE_SHAPE]}")
            continue
        _write_cache(split, images, labels, what)
        return images, labels
    raise DataNotFoundError(_no_source_message(errors))


def describe_source(split: str = "train") -> str:
    """Where the cached split came from (e.g. 'the JPEG tree ...'), or 'not loaded yet'."""
    try:
        with np.load(cache_path(split), allow_pickle=False) as f:
            return str(f["source"])
    except (OSError, KeyError, ValueError):
        return "not loaded yet"


# --------------------------------------------------------------------------- subsets and photos
def balanced_subset(labels: torch.Tensor, n: int | None, seed: int = 0) -> torch.Tensor:
    """Indices of a balanced subset of about n examples (n // 10 of every class, at least 1): the quick,
    smaller runs of the experiments and the CLI. None or 0: every index.

    Shape: (N,) -> (about n,) sorted.
    """
    if not n:
        return torch.arange(len(labels))
    return few_label_indices(labels, max(1, n // len(CLASSES)), seed)


def few_label_indices(labels: torch.Tensor, per_class: int, seed: int = 0) -> torch.Tensor:
    """Indices of a balanced subset with `per_class` examples of every class.

    Deterministic for a seed, and nested: the subset for 10 per class contains the one for 5, so
    accuracy-vs-labels curves compare like with like.
    """
    counts = torch.bincount(labels, minlength=len(CLASSES))
    if per_class < 1 or per_class > int(counts.min()):
        raise ValueError(f"per_class must be in 1..{int(counts.min())} for these labels, got {per_class}")
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(labels), generator=g)
    picked = [order[labels[order] == c][:per_class] for c in range(len(CLASSES))]
    return torch.sort(torch.cat(picked)).values


def sample_photos() -> dict[str, torch.Tensor]:
    """Real photographs that scikit-image ships, as uint8 tensors (C, H, W).

    `camera` is a black-and-white photo (C = 1); the others are colour (C = 3).
    """
    from skimage import data as skdata

    photos = {
        "astronaut": skdata.astronaut(),
        "coffee": skdata.coffee(),
        "chelsea": skdata.chelsea(),
        "rocket": skdata.rocket(),
        "motorcycle": skdata.stereo_motorcycle()[0],
        "camera": skdata.camera()[..., None],
    }
    return {k: torch.from_numpy(np.ascontiguousarray(v.transpose(2, 0, 1))) for k, v in photos.items()}

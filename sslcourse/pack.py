"""All of CIFAR-10's JPEG tree in one compact file, for machines without network.

The 60,000 JPEGs of the offline tree share their first bytes (the same quantisation and Huffman
tables), so the pack stores that prefix once and each file's remaining body after it: about 18 MB
instead of 55 MB in 60,000 files. Unpacking gives back every file byte for byte.

Layout: MAGIC, an 8-byte little-endian header length, a zlib-compressed JSON header, then the
bodies back to back in header order.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import zlib
from pathlib import Path

import torch

MAGIC = b"SSLCOURSE-PACK-1\n"


def _common_prefix(blobs: list[bytes]) -> bytes:
    prefix = blobs[0]
    for b in blobs[1:]:
        n = min(len(prefix), len(b))
        i = 0
        while i < n and prefix[i] == b[i]:
            i += 1
        prefix = prefix[:i]
    return prefix


def tree_checksum(files: list[tuple[str, bytes]]) -> str:
    """sha256 over the sorted `sha256sum` lines of a tree (the checksum in the data README)."""
    lines = [f"{hashlib.sha256(b).hexdigest()}  ./{rel}\n" for rel, b in sorted(files)]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def write_pack(jpeg_root: Path, out: Path) -> dict:
    """Pack the tree `jpeg_root/{train,test}/<class>/*.jpg` into `out`; returns the header."""
    from sslcourse.data import CLASSES, jpeg_files

    jpeg_root, out = Path(jpeg_root), Path(out)
    entries, blobs = [], []
    for split in ("train", "test"):
        for path, label in jpeg_files(jpeg_root, split):
            entries.append([split, label, path.name])
            blobs.append(path.read_bytes())
    prefix = _common_prefix(blobs)
    bodies = [b[len(prefix):] for b in blobs]
    header = {
        "format": 1,
        "classes": list(CLASSES),
        "prefix": base64.b64encode(prefix).decode(),
        "entries": entries,  # [split, label, file name]
        "lengths": [len(b) for b in bodies],
        "tree_sha256": tree_checksum(
            [(f"{s}/{CLASSES[c]}/{name}", b) for (s, c, name), b in zip(entries, blobs)]
        ),
    }
    packed = zlib.compress(json.dumps(header, separators=(",", ":")).encode(), 9)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<Q", len(packed)) + packed)
        for b in bodies:
            f.write(b)
    os.replace(tmp, out)
    return header


def read_pack(path: Path) -> tuple[dict, list[bytes]]:
    """The header and every file's full bytes (prefix + body), in header order."""
    raw = Path(path).read_bytes()
    if not raw.startswith(MAGIC):
        raise ValueError(f"{path} is not an sslcourse pack (it does not start with {MAGIC!r})")
    (n,) = struct.unpack_from("<Q", raw, len(MAGIC))
    start = len(MAGIC) + 8
    header = json.loads(zlib.decompress(raw[start:start + n]))
    prefix = base64.b64decode(header["prefix"])
    pos, files = start + n, []
    for length in header["lengths"]:
        files.append(prefix + raw[pos:pos + length])
        pos += length
    if pos != len(raw):
        raise ValueError(f"{path} is truncated or has trailing bytes ({len(raw)} bytes, expected {pos})")
    return header, files


def verify_pack(path: Path) -> str:
    """Recompute the tree checksum from the pack; raises ValueError on a mismatch."""
    header, files = read_pack(path)
    classes = header["classes"]
    got = tree_checksum([(f"{s}/{classes[c]}/{name}", b) for (s, c, name), b in zip(header["entries"], files)])
    if got != header["tree_sha256"]:
        raise ValueError(f"{path} is corrupt: tree checksum {got} != recorded {header['tree_sha256']}")
    return got


def load_split(path: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One split of a pack, decoded like the JPEG tree: images (N, 3, 32, 32) uint8, labels (N,)."""
    from sslcourse.data import decode_jpegs

    header, files = read_pack(path)
    picked = [(e[1], b) for e, b in zip(header["entries"], files) if e[0] == split]
    images = decode_jpegs([b for _, b in picked])
    return images, torch.tensor([label for label, _ in picked], dtype=torch.int64)

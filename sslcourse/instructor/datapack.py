"""Writing a pack: all of CIFAR-10's JPEG tree in one 18 MB file (`python -m sslcourse data pack`), for a GPU
machine or a classroom without network. The format, and reading it, live in `sslcourse.pack`."""

from __future__ import annotations

import base64
import json
import os
import struct
import zlib
from pathlib import Path

from sslcourse.data import CLASSES, jpeg_files
from sslcourse.pack import MAGIC, tree_checksum


def _common_prefix(blobs: list[bytes]) -> bytes:
    prefix = blobs[0]
    for b in blobs[1:]:
        n = min(len(prefix), len(b))
        i = 0
        while i < n and prefix[i] == b[i]:
            i += 1
        prefix = prefix[:i]
    return prefix


def write_pack(jpeg_root: Path, out: Path) -> dict:
    """Pack the tree `jpeg_root/{train,test}/<class>/*.jpg` into `out`; returns the header."""
    jpeg_root, out = Path(jpeg_root), Path(out)
    entries, blobs = [], []
    for split in ("train", "test"):
        for path, label in jpeg_files(jpeg_root, split):
            entries.append([split, label, path.name])
            blobs.append(path.read_bytes())
    prefix = _common_prefix(blobs)
    bodies = [b[len(prefix) :] for b in blobs]
    header = {
        "format": 1,
        "classes": list(CLASSES),
        "prefix": base64.b64encode(prefix).decode(),
        "entries": entries,  # [split, label, file name]
        "lengths": [len(b) for b in bodies],
        "tree_sha256": tree_checksum([(f"{s}/{CLASSES[c]}/{name}", b) for (s, c, name), b in zip(entries, blobs)]),
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

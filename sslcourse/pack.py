"""All of CIFAR-10's JPEG tree in one compact file, for machines without network: reading and checking it
(`sslcourse.data` loads from a pack; `sslcourse.instructor.datapack` writes one).

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
import struct
import zlib
from pathlib import Path

MAGIC = b"SSLCOURSE-PACK-1\n"


def tree_checksum(files: list[tuple[str, bytes]]) -> str:
    """sha256 over the sorted `sha256sum` lines of a tree (the checksum in the data README)."""
    lines = [f"{hashlib.sha256(b).hexdigest()}  ./{rel}\n" for rel, b in sorted(files)]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def read_pack(path: Path) -> tuple[dict, list[bytes]]:
    """The header and every file's full bytes (prefix + body), in header order."""
    raw = Path(path).read_bytes()
    if not raw.startswith(MAGIC):
        raise ValueError(f"{path} is not an sslcourse pack (it does not start with {MAGIC!r})")
    (n,) = struct.unpack_from("<Q", raw, len(MAGIC))
    start = len(MAGIC) + 8
    header = json.loads(zlib.decompress(raw[start : start + n]))
    prefix = base64.b64decode(header["prefix"])
    pos, files = start + n, []
    for length in header["lengths"]:
        files.append(prefix + raw[pos : pos + length])
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

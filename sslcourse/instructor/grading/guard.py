"""Keeping the files a submission must not touch as they were: checked after each one, restored if changed.

A submission runs as the instructor's user, so it can reach any file by its absolute path. The guard
holds, in memory, the bytes of every submission and of the sheet and its progress file. After each
submission it compares the files with those bytes (a cheap size and modification-time look first,
then a hash), writes back any that changed or vanished, removes what appeared where nothing should
be (a fake sheet), and says what it repaired: the note goes on the row of the submission that did it.

Nothing is ever removed: what stands where a kept file should be (a changed submission, a folder made
in the sheet's place) is moved aside as `NAME.changed-N` before the original goes back, so nobody's
work is lost, whoever made it. Only the grader's own regular files (the sheet, its progress file) are
simply overwritten. The checkers' code is not guarded here: the process that grades loaded it before
any submission ran (see `job`), and in the sandbox the course is read-only (see `sandbox`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class _Kept:
    data: bytes | None  # None: the file must not exist
    sha256: str
    stat: tuple | None
    owned: bool  # the grader's own file: a change is simply undone


def _stat(path: Path) -> tuple | None:
    try:
        s = path.stat()
    except OSError:
        return None
    return (s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino)  # ctime: os.utime cannot set it back


class Guard:
    def __init__(self):
        self.files: dict[Path, _Kept] = {}

    def keep(self, path: Path, data: bytes | None = None, owned: bool = False) -> None:
        """Remember `path` as it is now (or as `data`, when given); a missing file must stay missing."""
        path = Path(path).absolute()
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder: the guard keeps files (and never removes a folder)")
        if data is None and path.is_file():
            data = path.read_bytes()
        self.files[path] = _Kept(
            data, hashlib.sha256(data or b"").hexdigest(), _stat(path) if data is not None else None, owned
        )

    def repair(self) -> list[str]:
        """Put every kept file back as it was; returns what was repaired, in words (empty: nothing)."""
        repaired = []
        for path, kept in self.files.items():
            now = _stat(path)
            if kept.data is None:
                if os.path.lexists(path):
                    repaired.append(self._put_aside(path, kept, "created"))
                continue
            if now is not None and now == kept.stat:
                continue
            if now is not None and path.is_file() and not path.is_symlink():
                if hashlib.sha256(path.read_bytes()).hexdigest() == kept.sha256:
                    kept.stat = now
                    continue
            if os.path.lexists(path):
                note = self._put_aside(path, kept, "changed")
            else:
                note = f"restored {path}, which it deleted"
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.restoring")
            tmp.write_bytes(kept.data)
            os.replace(tmp, path)
            kept.stat = _stat(path)
            repaired.append(note)
        return repaired

    @staticmethod
    def _put_aside(path: Path, kept: _Kept, what: str) -> str:
        """Move what is at `path` out of the way: the grader's own regular file is dropped (it is about to be
        written again), anything else (someone's file, a folder) goes to NAME.changed-N, never deleted."""
        verb = "restored" if kept.data is not None else "removed"
        if kept.owned and path.is_file() and not path.is_symlink():
            path.unlink()
            return f"{verb} {path}, which it {what}"
        n = 1
        while os.path.lexists(path.with_name(f"{path.name}.changed-{n}")):
            n += 1
        aside = path.with_name(f"{path.name}.changed-{n}")
        os.replace(path, aside)
        return f"{verb} {path}, which it {what} (what it found there is kept as {aside.name})"

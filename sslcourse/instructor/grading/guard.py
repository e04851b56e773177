"""Keeping the files a submission must not touch as they were: checked after each one, restored if changed.

A submission runs as the instructor's user, so it can reach any file by its absolute path. The guard
holds, in memory, the bytes of every submission and of the sheet and its progress file. After each
submission it compares the files with those bytes (a cheap size and modification-time look first,
then a hash), writes back any that changed or vanished, removes what appeared where nothing should
be (a fake sheet), and says what it repaired: the note goes on the row of the submission that did it.

Nothing is destroyed on a guess: a changed file the grader does not own (a submission: someone may
have edited it on purpose during a long run) is set aside as `NAME.changed-N` before the original
goes back. Only the grader's own files (the sheet, its progress file) are simply overwritten. The
checkers' code is not guarded here: the process that grades loaded it before any submission ran
(see `job`), and rewriting a source tree that people may be editing would undo their work.
"""
from __future__ import annotations

import hashlib
import os
import shutil
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
        if data is None and path.is_file():
            data = path.read_bytes()
        self.files[path] = _Kept(data, hashlib.sha256(data or b"").hexdigest(),
                                 _stat(path) if data is not None else None, owned)

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
        """Remove what is at `path` (the grader's own file) or move it to NAME.changed-N (anyone else's)."""
        verb = "restored" if kept.data is not None else "removed"
        if kept.owned:
            _remove(path)
            return f"{verb} {path}, which it {what}"
        n = 1
        while os.path.lexists(path.with_name(f"{path.name}.changed-{n}")):
            n += 1
        aside = path.with_name(f"{path.name}.changed-{n}")
        os.replace(path, aside)
        return f"{verb} {path}, which it {what} (what it found there is kept as {aside.name})"


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif os.path.lexists(path):
            path.unlink()
    except OSError:
        pass

"""`python -m sslcourse release`: the git tag that the notebooks' badges open and their Colab setup cells
install (`colab.release_ref()`, `v<version>`), made and checked, so a student on Colab gets exactly the code
the notebook was executed with."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sslcourse.instructor import course
from sslcourse.instructor.colab import release_ref


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)


def release(root: Path = course.ROOT, create: bool = True) -> int:
    """`python -m sslcourse release`: make the tag that every badge opens and every setup cell installs
    (`release_ref()`) point at a commit whose notebooks were built from that commit's code, and check it.

    Refused (1, with what to do) when the checkout has uncommitted changes, when pyproject.toml's version is
    not the package's, when any notebook, student version or Colab cell is out of date (`notebooks check`),
    or when the tag already names another commit. `create=False` only checks. Pushing the tag is yours."""
    import re

    tag = release_ref()
    if _git(root, "rev-parse", "--git-dir").returncode != 0:
        print(f"release {tag}: {root} is not a git checkout")
        return 1
    if _git(root, "status", "--porcelain", "--untracked-files=no").stdout.strip():
        print(f"release {tag}: the checkout has uncommitted changes; commit them first (the tag names a commit)")
        return 1
    pyproject = (Path(root) / "pyproject.toml").read_text() if (Path(root) / "pyproject.toml").is_file() else ""
    declared = re.search(r'^version\s*=\s*"([^"]+)"', pyproject, flags=re.M)
    if not declared or f"v{declared.group(1)}" != tag:
        print(
            f"release {tag}: pyproject.toml's version ({declared and declared.group(1)}) is not the package's "
            f"(sslcourse.__version__ gives {tag}); make them one"
        )
        return 1
    from sslcourse.instructor.nbtools import sync

    if sync.check(root=root) != 0:
        print(f"release {tag}: the notebooks above are out of date; sync and assign them, commit, then release")
        return 1
    head = _git(root, "rev-parse", "HEAD").stdout.strip()
    tagged = _git(root, "rev-parse", "-q", "--verify", f"refs/tags/{tag}^{{commit}}")
    if tagged.returncode != 0:
        if not create:
            print(f"release {tag}: no such tag yet; `python -m sslcourse release` creates it")
            return 1
        made = _git(root, "tag", "-a", tag, "-m", f"sslcourse {tag}: the code its notebooks were executed with")
        if made.returncode != 0:
            print(f"release {tag}: git could not make the tag: {made.stderr.strip()}")
            return 1
        tagged = _git(root, "rev-parse", "-q", "--verify", f"refs/tags/{tag}^{{commit}}")
    if tagged.stdout.strip() != head:
        print(
            f"release {tag}: the tag already names commit {tagged.stdout.strip()[:12]}, not this one "
            f"({head[:12]}); raise the version (pyproject.toml and sslcourse/__init__.py) for a new release"
        )
        return 1
    print(
        f"release {tag}: tag at {head[:12]}, whose notebooks and student versions are up to date. Publish it with "
        f"`git push origin {tag}`: the badges open, and the Colab setup cells install, exactly this commit."
    )
    return 0

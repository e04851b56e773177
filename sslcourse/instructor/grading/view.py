"""The `sslcourse` package as the worker sees it: no answers in it.

While a submission's functions are checked, the library's own implementations of the graded exercises
must be out of their reach: a function that calls (or reads and runs) `sslcourse.methods.simclr.nt_xent_loss`
would otherwise pass on the course's work. The worker's sandbox shows, in place of the package, this
copy of its Python files, where
- each graded exercise's reference (a top-level function of that name outside checks/ and instructor/)
  keeps its signature and loses its body: calling it raises `ReferenceUnavailable`, and the
  worker counts the call (a submission that delegates scores 0 for that exercise, with a note);
- each checker module (`checks/<topic>.py`, which holds naive references to compare with) is reduced
  to its `check_*` names, stubs too;
- no bytecode caches, weights or results: only source, so nothing compiled from the originals remains.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import sslcourse

PACKAGE = Path(sslcourse.__file__).resolve().parent
_NOT_REFERENCES = {"checks", "instructor"}  # packages whose functions are not the course's answers
_CHECK_HELPERS = {"__init__", "compare", "sandbox"}  # the checks framework: no answer in it, the worker uses it
_MESSAGE = (
    "the library's {name} is not available while your function is checked: an exercise is graded on your own code"
)


def _raise(name: str) -> list[ast.stmt]:
    return ast.parse(f"raise ReferenceUnavailable({_MESSAGE.format(name=name)!r})").body


def _stub_references(source: str, names: set[str]) -> str | None:
    """`source` with the bodies of its top-level functions in `names` replaced by a raise; None: none there."""
    tree = ast.parse(source)
    hit = False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            node.body, node.decorator_list, hit = _raise(node.name), [], True
    if not hit:
        return None
    tree.body.append(ast.parse("class ReferenceUnavailable(RuntimeError):\n    pass").body[0])  # used at call time
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _stub_checker(source: str) -> str:
    """A checker module reduced to stubs of its `check_*` functions."""
    names = [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name.startswith("check_")]
    lines = [
        '"""Not available to a submission\'s code."""',
        "",
        "",
        "class ReferenceUnavailable(RuntimeError):",
        "    pass",
        "",
    ]
    for name in names:
        lines += [
            "",
            f"def {name}(*args, **kwargs):",
            f"    raise ReferenceUnavailable({_MESSAGE.format(name=name)!r})",
            "",
        ]
    return "\n".join(lines)


def build(dest: Path, names: set[str], package: Path = PACKAGE) -> Path:
    """Write the view of `package` for the graded exercise `names` into `dest` (which must not exist)."""
    dest.mkdir(parents=True)
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if "__pycache__" in rel.parts:
            continue
        source = path.read_text(encoding="utf-8")
        if rel.parts[0] == "checks" and len(rel.parts) == 2 and rel.stem not in _CHECK_HELPERS:
            source = _stub_checker(source)
        elif not (set(rel.parts[:-1]) & _NOT_REFERENCES):
            try:
                source = _stub_references(source, names) or source
            except SyntaxError:
                pass
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(source, encoding="utf-8")
    for data in package.rglob("*.json"):  # small tables some modules read when imported (no answers in them)
        rel = data.relative_to(package)
        if rel.parts[0] not in {"weights", "results"} and data.stat().st_size < 1 << 20:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(data, dest / rel)
    return dest

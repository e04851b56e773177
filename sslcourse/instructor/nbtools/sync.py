"""`python -m sslcourse notebooks sync` and `... notebooks check`: keep each .ipynb the executed image of its .py.

sync: refresh the generated Colab cells in the .py, build the .ipynb from it, execute it on the CPU in
notebooks/, write it. A .ipynb edited by hand since the last sync is never overwritten without --force
(the last sync records a digest of the cells it wrote). check: say which pairs (and student versions)
are out of date, without executing anything.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from sslcourse.instructor import course
from sslcourse.instructor.colab import ensure_colab_cells, widget_problems
from sslcourse.instructor.nbtools.assign import student_notebook
from sslcourse.instructor.nbtools.pairs import (
    Pair,
    build,
    edited_by_hand,
    find_pairs,
    inputs_digest,
    inputs_of,
    read_notebook,
    read_source,
    write_notebook,
)


def _layout(text: str) -> str:
    """The text less its header's jupytext_version line (jupytext writes its own version there)."""
    return re.sub(r"^#\s+jupytext_version:.*\n", "", text, flags=re.M)


def refresh_source(pair: Pair) -> list[str]:
    """Add or refresh the badge and setup cells in the .py itself (the reviewed source shows what runs)."""
    import jupytext

    text = pair.source.read_text()
    nb = jupytext.reads(text, fmt="py:percent")
    same = jupytext.writes(nb, fmt="py:percent")
    changes = ensure_colab_cells(nb, pair.stem)
    if not changes:
        return []
    jupytext_meta = nb.metadata.setdefault("jupytext", {})
    keys = str(jupytext_meta.get("cell_metadata_filter", "")).split(",")
    if "-all" in keys and "tags" not in keys:  # jupytext keeps only the metadata the file had: add tags
        jupytext_meta["cell_metadata_filter"] = ",".join(["tags", *keys])
    if _layout(same) != _layout(text):  # jupytext would reformat more than the generated cells: leave the file alone
        raise ValueError(
            f"{pair.source.name}: its Colab cells need an update ({', '.join(changes)}), but rewriting "
            "the file would also change its layout; run `jupytext --to py:percent` on it once, or "
            'paste the cells from `python -c "from sslcourse.instructor import colab; '
            'print(colab.setup_cell_source())"`'
        )
    pair.source.write_text(jupytext.writes(nb, fmt="py:percent"))
    return changes


def sync_pair(pair: Pair, force: bool = False, timeout: int = 1200) -> str:
    """Rebuild and execute one pair; returns what happened, in words. Raises ValueError (with what to do)
    when the .ipynb was edited by hand, the exercise markup is wrong, or a cell fails."""
    from sslcourse.instructor.nbtools.run import NotebookFailed, execute

    changes = refresh_source(pair)
    nb = build(pair)
    if edited_by_hand(pair.notebook, expected=nb) and not force:
        raise ValueError(
            f"{pair.notebook.name} was edited after its last sync, and syncing would overwrite that: "
            f"move the edits into {pair.source.name} (e.g. `jupytext --update --to py:percent "
            f"{pair.notebook.name}` after reviewing), or pass --force to discard them"
        )
    try:
        execute(nb, cwd=pair.source.parent, timeout=timeout)
    except NotebookFailed as err:
        failed = pair.source.parent.parent / "build" / "failed" / pair.notebook.name
        write_notebook(nb, failed)
        raise ValueError(
            f"{pair.notebook.name} not written (the partly executed notebook is in {failed}): {err}"
        ) from None
    nb.metadata["sslcourse"]["inputs_sha256"] = inputs_digest(nb)
    wrote = write_notebook(nb, pair.notebook)
    return "; ".join([*changes, "executed, " + ("written" if wrote else "unchanged")])


def sync(names=(), root: Path = course.ROOT, force: bool = False, timeout: int = 1200) -> int:
    """Sync the named pairs (all when none are named); 0 when all went well, 1 otherwise."""
    pairs = find_pairs(names, root)
    if not pairs:
        print(f"There are no notebook sources ({Path(root) / 'notebooks'}/NN_topic.py) yet: nothing to sync.")
        return 0
    failed = []
    for pair in pairs:
        t = time.perf_counter()
        try:
            print(f"{pair.stem}: {sync_pair(pair, force, timeout)} ({time.perf_counter() - t:.0f} s)")
        except ValueError as err:
            print(f"{pair.stem}: NOT synced: {err}")
            failed.append(pair.stem)
    if failed:
        print(f"{len(failed)} of {len(pairs)} notebooks not synced: {', '.join(failed)}")
    return 1 if failed else 0


def pair_problems(pair: Pair) -> list[str]:
    """Why `pair` is out of sync, in words (empty when it is in sync); executes nothing."""

    try:
        expected = build(pair)
    except ValueError as err:
        return [str(err)]
    problems = []
    changes = ensure_colab_cells(read_source(pair.source), pair.stem)
    if changes:
        problems.append(f"{pair.source.name} needs its Colab cells updated ({', '.join(changes)})")
    code = "\n".join(c.source for c in expected.cells if c.cell_type == "code")
    problems += [f"widgets: {p}" for p in widget_problems(code)]
    if pair.notebook.is_file():
        current = read_notebook(pair.notebook)
        if inputs_of(current) != inputs_of(expected):
            problems.append(
                f"{pair.notebook.name} differs from {pair.source.name}"
                + (" (and was edited by hand)" if edited_by_hand(pair.notebook) else "")
            )
        elif any(
            c.cell_type == "code"
            and c.execution_count is None
            and "skip-execution" not in c.get("metadata", {}).get("tags", [])
            for c in current.cells
        ):
            problems.append(f"{pair.notebook.name} has cells that were never executed")
    else:
        problems.append(f"{pair.notebook.name} does not exist yet")
    if not pair.student.is_file():
        problems.append(f"it has no student version ({pair.student.parent.name}/{pair.student.name})")
    else:
        handed_out = read_notebook(pair.student)
        if inputs_of(handed_out) != inputs_of(student_notebook(pair)):
            problems.append(f"its student version {pair.student.parent.name}/{pair.student.name} is out of date")
        elif any(c.cell_type == "code" and (c.get("outputs") or c.get("execution_count")) for c in handed_out.cells):
            problems.append(
                f"its student version {pair.student.parent.name}/{pair.student.name} carries outputs "
                "(a student would read the results before predicting them)"
            )
    return problems


def check(names=(), root: Path = course.ROOT) -> int:
    """Report the pairs whose .ipynb or student version does not match the .py; 1 when any does not."""
    pairs = find_pairs(names, root)
    folder = Path(root) / "notebooks"
    notebooks = [] if names else sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    orphans = [p for p in notebooks if not p.with_suffix(".py").is_file()]
    if not pairs and not orphans:
        print(f"There are no notebook sources ({folder}/NN_topic.py) yet: nothing to check.")
        return 0
    bad = {}
    for pair in pairs:
        problems = pair_problems(pair)
        if problems:
            bad[pair.stem] = problems
        print(f"{pair.stem}: " + ("in sync" if not problems else "OUT OF SYNC: " + "; ".join(problems)))
    for nb in orphans:
        bad[nb.stem] = ["no .py source"]
        print(
            f"{nb.stem}: OUT OF SYNC: {nb.name} has no .py source (write one with `jupytext --to py:percent {nb.name}`)"
        )
    if bad:
        print(
            f"out of sync: {', '.join(bad)}. Run `python -m sslcourse notebooks sync {' '.join(bad)}` "
            f"and `python -m sslcourse assign {' '.join(bad)}`."
        )
    return 1 if bad else 0

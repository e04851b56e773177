"""The notebook toolchain on a demo notebook (tests/fixtures/99_demo.py), and the course's own notebooks.

The demo is synced, assigned and run under nbval once per session in a scratch copy of the layout
(tmp/notebooks/), so these tests do not depend on the course notebooks being written. The course's
notebooks themselves run under nbval through pyproject's addopts (testpaths include notebooks/).
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from sslcourse.instructor import colab, course
from sslcourse.instructor.nbtools import assign, pairs, run, sync

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "fixtures" / "99_demo.py"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A scratch course with the demo notebook, synced (executed on the CPU: ~4 s) and assigned (no outputs)."""
    root = tmp_path_factory.mktemp("course")
    (root / "notebooks").mkdir()
    shutil.copy(DEMO, root / "notebooks" / DEMO.name)
    assert sync.sync(root=root) == 0
    assert assign.assign(root=root) == 0
    return pairs.find_pairs(root=root)[0]


def cells(path):
    return nbformat.read(path, as_version=4).cells


# --------------------------------------------------------------------------- sync
def test_sync_adds_the_colab_cells_to_the_source(demo):
    nb = pairs.read_source(demo.source)
    assert colab.BADGE_TAG in nb.cells[0].metadata["tags"]
    assert nb.cells[0].source == course.colab_badge("99_demo", "notebooks")  # the solved one opens itself
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert colab.SETUP_TAG in first_code.metadata["tags"] and first_code.source == colab.setup_cell_source()


def test_the_executed_notebook_is_clean_and_deterministic(demo):
    nb = nbformat.read(demo.notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert "sslcourse: computing on cpu" in code[0].outputs[0].text  # SSLCOURSE_DEVICE=cpu reached the kernel
    assert all("execution" not in c.metadata for c in nb.cells)
    assert "version" not in nb.metadata.language_info and "widgets" not in nb.metadata
    assert nb.metadata.kernelspec.name == "python3" and nb.metadata.accelerator == "GPU"
    rebuilt = pairs.build(demo)
    assert [c.id for c in nb.cells] == [c.id for c in rebuilt.cells]  # ids from content, not random
    assert all(re.fullmatch(r"[0-9a-f]{8}(-\d+)?", c.id) for c in nb.cells)
    assert nb.cells[5].metadata["nbgrader"] == {
        "grade": True,
        "grade_id": "check_knn_classify",
        "points": 2,
        "solution": False,
        "locked": False,
        "task": False,
        "schema_version": 3,
    }


def test_resyncing_an_unchanged_source_changes_no_byte(demo):
    before = demo.notebook.read_bytes()
    assert sync.sync_pair(demo).endswith("unchanged")
    assert demo.notebook.read_bytes() == before


def test_check_names_the_pair_that_is_out_of_sync(demo, capsys):
    assert sync.check(root=demo.source.parents[1]) == 0
    original = demo.source.read_text()
    try:
        demo.source.write_text(original + '\n# %%\nprint("a new cell")\n')
        assert sync.check(root=demo.source.parents[1]) == 1
        out = capsys.readouterr().out
        assert "99_demo: OUT OF SYNC" in out and "99_demo.ipynb differs from 99_demo.py" in out
        assert "student version" in out and "notebooks sync 99_demo" in out
    finally:
        demo.source.write_text(original)
    assert sync.check(root=demo.source.parents[1]) == 0


def test_check_names_a_student_version_that_carries_outputs(demo, capsys):
    original = demo.student.read_text()
    try:
        executed = assign.run_student(demo)  # an executed student copy, as assign wrote them before
        executed.metadata["sslcourse"]["inputs_sha256"] = pairs.inputs_digest(executed)
        pairs.write_notebook(executed, demo.student)
        assert sync.check(root=demo.source.parents[1]) == 1
        assert "student/99_demo.ipynb carries outputs" in capsys.readouterr().out
    finally:
        demo.student.write_text(original)


def test_a_notebook_edited_by_hand_is_never_overwritten_silently(demo):
    original = demo.notebook.read_text()
    nb = nbformat.read(demo.notebook, as_version=4)
    nb.cells[-1].source = "My notes, written in JupyterLab."
    nbformat.write(nb, demo.notebook)
    try:
        assert sync.edited_by_hand(demo.notebook)
        with pytest.raises(ValueError, match="edited after its last sync.*--force"):
            sync.sync_pair(demo)
        assert "My notes" in demo.notebook.read_text()
    finally:
        demo.notebook.write_text(original)


HEADER = """# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.16.0
# ---

# %% [markdown]
# # A source with a jupytext header

# %%
x = 1
"""


def test_the_colab_cells_go_into_any_source_once(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_header.py").write_text(HEADER)
    [pair] = pairs.find_pairs(root=tmp_path)
    assert sync.refresh_source(pair) == ["added the colab-badge cell", "added the colab-setup cell"]
    text = pair.source.read_text()
    assert text.count("# %%") == 4 and 'tags=["colab-setup"]' in text and "x = 1\n" in text
    assert "formats: ipynb,py:percent" in text and text.index("colab-badge") < text.index("# # A source")
    assert sync.refresh_source(pair) == [] and pair.source.read_text() == text


def test_a_cell_sync_does_not_run_is_not_run_by_nbval_either():
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("train_for_an_hour()", metadata={"tags": ["skip-execution"]})]
    )
    assert pairs.normalize(nb, "x.py").cells[0].metadata.tags == ["skip-execution", "nbval-skip"]


def test_a_failing_cell_leaves_the_notebook_alone_and_says_where(tmp_path, capsys):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_broken.py").write_text('# %%\nprint("fine")\n\n# %%\nraise ValueError("boom")\n')
    assert sync.sync(root=tmp_path) == 1
    out = capsys.readouterr().out
    assert "01_broken: NOT synced" in out and "ValueError: boom" in out and "1 of 1 notebooks not synced" in out
    assert not (tmp_path / "notebooks" / "01_broken.ipynb").exists()
    assert "boom" in (tmp_path / "build" / "failed" / "01_broken.ipynb").read_text()


def test_exercise_markup_is_validated():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("def f():\n    # BEGIN SOLUTION\n    return 1\n"),
            nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade": True, "grade_id": "a"}}),
            nbformat.v4.new_code_cell("y = 1", metadata={"nbgrader": {"grade": True, "grade_id": "a", "points": 1}}),
            nbformat.v4.new_code_cell("# END SOLUTION"),
        ]
    )
    errors = pairs.exercise_errors(nb)
    assert any("never closed" in e for e in errors) and any("without a BEGIN" in e for e in errors)
    assert any("no number of points" in e for e in errors) and any("reuses grade_id 'a'" in e for e in errors)


def test_names_resolve_to_pairs(demo):
    root = demo.source.parents[1]
    assert pairs.find_pairs(["99"], root) == pairs.find_pairs(["99_demo"], root) == [demo]
    with pytest.raises(ValueError, match="there are: 99_demo"):
        pairs.find_pairs(["07"], root)


def test_commands_are_calm_without_notebooks(tmp_path, capsys):
    (tmp_path / "notebooks").mkdir()
    assert sync.sync(root=tmp_path) == sync.check(root=tmp_path) == assign.assign(root=tmp_path) == 0
    assert capsys.readouterr().out.count("yet: nothing to") == 3


# --------------------------------------------------------------------------- assign
def test_assign_replaces_each_solution_by_a_stub_below_the_docstring(demo):
    exercise = next(c for c in cells(demo.student) if c.metadata.get("nbgrader", {}).get("solution"))
    assert (
        exercise.source.splitlines()[-1]
        == '    raise NotImplementedError("exercise knn_classify: write your solution here")'
    )
    assert "def knn_classify(train_features, train_labels, query_features, k=20):" in exercise.source
    assert "Shape: (N, D), (N,), (M, D) -> (M,)" in exercise.source
    assert course.colab_badge("99_demo", "notebooks/student") == cells(demo.student)[0].source


def test_the_student_notebook_is_handed_out_without_outputs(demo):
    """As nbgrader releases an assignment: nothing printed, nothing run, so no reveal and no result shows."""
    code = [c for c in cells(demo.student) if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert nbformat.read(demo.student, as_version=4).metadata["sslcourse"]["student"] is True


def test_the_student_notebook_runs_on_with_the_reference(demo):
    executed = assign.run_student(demo)  # what `assign --run` and CI do; the file keeps no outputs
    outputs = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert all(c.outputs == [] for c in cells(demo.student) if c.cell_type == "code")
    assert "… knn_classify: not implemented yet" in outputs
    assert "Using the library's reference knn_classify" in outputs
    assert "kNN accuracy on the held-out points" in outputs


def solution_lines(nb) -> set[str]:
    """Lines that occur only in the solution: between solution markers, or in a model answer (a markdown cell
    marked as a solution), and nowhere else in the solution notebook."""
    inside, outside = set(), []
    for cell in nb.cells:
        lines = cell.source.splitlines()
        regions = pairs.solution_regions(cell.source) if cell.cell_type == "code" else []
        hidden = {i for first, last, _ in regions for i in range(first + 1, last)}
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
            hidden = set(range(len(lines)))  # the model answer, every line of it
        inside |= {lines[i].strip() for i in hidden if len(lines[i].strip()) > 3}
        outside += [line.strip() for i, line in enumerate(lines) if i not in hidden]
    return {line for line in inside if line not in outside}


def assert_no_leak(solution_nb, student_path, student=None):
    secret = solution_lines(solution_nb)
    assert secret, "the solution notebook has no solution lines to look for"
    student = student if student is not None else nbformat.read(student_path, as_version=4)
    text = json.dumps([[c.source, c.get("outputs", [])] for c in student.cells])
    text = "\n".join([text, *(c.source for c in student.cells)])
    leaked = [line for line in secret if line in text]
    assert not leaked, f"{student_path.name if student_path else 'the student version'} shows solution lines: {leaked}"


def test_a_fresh_student_notebook_leaks_no_solution(demo):
    assert_no_leak(nbformat.read(demo.notebook, as_version=4), demo.student)


def test_assign_refuses_to_overwrite_a_student_notebook_edited_by_hand(demo):
    original = demo.student.read_text()
    nb = nbformat.read(demo.student, as_version=4)
    nb.cells[-1].source = "An extra hint the instructor added."
    nbformat.write(nb, demo.student)
    try:
        with pytest.raises(ValueError, match="edited since `assign` wrote it; pass --force"):
            assign.assign_pair(demo)
        assert "An extra hint" in demo.student.read_text()
        assert assign.assign_pair(demo, force=True).startswith("written")
        assert "An extra hint" not in demo.student.read_text()
    finally:
        demo.student.write_text(original)


# --------------------------------------------------------------------------- nbval
def test_nbval_passes_both_notebooks_and_catches_a_changed_number(demo):
    """Strict nbval with the sanitizer, and the root conftest.py: solution and student pass; a changed key number
    fails; a student notebook (no outputs to compare) still fails when one of its cells raises."""
    root = demo.source.parents[1]
    tampered = demo.notebook.with_name("99_tampered.ipynb")
    nb = nbformat.read(demo.notebook, as_version=4)
    key = next(c for c in nb.cells if "kNN accuracy" in c.source)
    key.outputs[0].text = re.sub(r"\d+\.\d%", "12.3%", key.outputs[0].text)
    nbformat.write(nb, tampered)
    broken = demo.student.with_name("99_broken.ipynb")
    nb = nbformat.read(demo.student, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell('raise RuntimeError("a cell a student cannot run")'))
    nbformat.write(nb, broken)
    (root / "pytest.ini").write_text("[pytest]\n")
    shutil.copy(ROOT / "conftest.py", root / "conftest.py")
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        f"--rootdir={root}",
        f"-c={root / 'pytest.ini'}",
        "-p",
        "no:cacheprovider",
        "-v",
        "--nbval",
        "--nbval-current-env",
        f"--nbval-sanitize-with={ROOT / 'tests' / 'nbval_sanitize.cfg'}",
        "notebooks/99_demo.ipynb",
        "notebooks/student/99_demo.ipynb",
        "notebooks/99_tampered.ipynb",
        "notebooks/student/99_broken.ipynb",
    ]
    try:
        proc = subprocess.run(cmd, cwd=root, env=run.kernel_env(), capture_output=True, text=True, timeout=300)
    finally:
        tampered.unlink()
        broken.unlink()
        (root / "pytest.ini").unlink()
        (root / "conftest.py").unlink()
    verdicts = [
        (path.replace("::ipynb", ".ipynb"), verdict)  # pytest 9 shows notebooks/x::ipynb::Cell 0
        for path, verdict in re.findall(r"^(notebooks/\S+?)::Cell \d+ (PASSED|FAILED)", proc.stdout, re.M)
    ]
    failed = {path for path, verdict in verdicts if verdict == "FAILED"}
    assert {path for path, _ in verdicts} == {
        "notebooks/99_demo.ipynb",
        "notebooks/student/99_demo.ipynb",
        "notebooks/99_tampered.ipynb",
        "notebooks/student/99_broken.ipynb",
    }, proc.stdout[-3000:]
    assert failed == {"notebooks/99_tampered.ipynb", "notebooks/student/99_broken.ipynb"}, proc.stdout[-3000:]
    assert "12.3%" in proc.stdout and "a cell a student cannot run" in proc.stdout
    student_cells = [v for path, v in verdicts if path == "notebooks/student/99_broken.ipynb"]
    assert student_cells.count("FAILED") == 1  # only the raising cell: the others are run, not compared


def test_sanitizer_hides_noise_but_not_numbers():
    patterns = re.findall(r"^regex: (.*)$\n^replace: (.*)$", (ROOT / "tests" / "nbval_sanitize.cfg").read_text(), re.M)

    def clean(text):
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    assert clean("sslcourse: computing on cpu (16 threads)") == clean("sslcourse: computing on cpu (2 threads)")
    assert clean("<function f at 0x7f3a2b1c9d30>") == clean("<function f at 0x7f00aa11bb22>")
    assert clean("/home/ci/work/.venv/lib/python3.12/site-packages/torch/nn/x.py:12: UserWarning") == clean(
        "/tmp/venv/lib/python3.11/site-packages/torch/nn/x.py:99: UserWarning"
    )
    assert clean("epoch 3: 100%|██████████| 20/20 [00:01<00:00, 12.34it/s]") == clean(
        "epoch 3: 100%|██████████| 20/20 [00:03<00:00, 6.10it/s]"
    )
    assert clean("trained in 3.2 s, 41,000 images/s") == clean("trained in 12 s, 9,000 images/s")
    assert clean("kNN accuracy 85.3%, linear 87.1%") != clean("kNN accuracy 85.4%, linear 87.1%")
    assert clean("see https://github.com/sslcourse/sslcourse") == "see https://github.com/sslcourse/sslcourse"


# --------------------------------------------------------------------------- the course's own notebooks
COURSE_PAIRS = pairs.find_pairs()


@pytest.mark.skipif(not COURSE_PAIRS, reason="no course notebooks (notebooks/NN_topic.py) yet")
def test_course_notebooks_are_in_sync(capsys):
    assert sync.check() == 0, capsys.readouterr().out


@pytest.mark.skipif(not COURSE_PAIRS, reason="no course notebooks (notebooks/NN_topic.py) yet")
@pytest.mark.parametrize("pair", COURSE_PAIRS, ids=lambda p: p.stem)
def test_course_student_notebooks_leak_no_solution(pair):
    """What a student opens: no outputs (no printed reveal, no result to predict), no solution line, no model
    answer. The generated version is checked, and the file handed out."""
    assert_no_leak(pairs.build(pair), None, assign.student_notebook(pair))
    if not pair.student.is_file():
        pytest.fail(f"no student version of {pair.stem}: run `python -m sslcourse assign {pair.stem}`")
    handed_out = nbformat.read(pair.student, as_version=4)
    ran = [i for i, c in enumerate(handed_out.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not ran, (
        f"student/{pair.student.name} carries outputs (cells {ran[:5]}...): a student would read the reveals "
        f"before predicting; run `python -m sslcourse assign {pair.stem}`"
    )
    assert_no_leak(pairs.build(pair), pair.student)


# Exercises whose text asks the student to find something: what must not be handed to them in the student
# notebook (a docstring they keep, a hint) before they do. The checkers' hints are tested in test_checks_*.
ANSWERS_TO_FIND = {
    "00_gelato_bet": {"the similarity knn_classify's design question asks for (cosine)": r"[Cc]osine"},
    "02_colorization": {"annealed_mean's exponent a(T) = 1/T": r"1\s*/\s*T\b|\^\s*\(?\s*1\s*/|\*\*\s*\(?\s*1\s*/"},
}


@pytest.mark.skipif(not COURSE_PAIRS, reason="no course notebooks (notebooks/NN_topic.py) yet")
@pytest.mark.parametrize("pair", COURSE_PAIRS, ids=lambda p: p.stem)
def test_what_an_exercise_asks_for_is_not_in_the_text_students_keep(pair):
    student = assign.student_notebook(pair)
    text = "\n".join(c.source for c in student.cells)
    for answer, pattern in ANSWERS_TO_FIND.get(pair.stem, {}).items():
        found = re.findall(rf".{{0,40}}(?:{pattern}).{{0,20}}", text)
        assert not found, f"{pair.stem}: the student notebook states {answer}: {found}"


PYTHON_START = re.compile(
    r"^(?:[A-Za-z_][\w.]*(?:\[[^\]]*\])?(?:\s*,\s*[A-Za-z_]\w*)*\s*=[^=]|print\(|import |from \S+ import |for .+:$|if .+:$|def |return )"
)


def python_in_markdown(source: str) -> list[str]:
    """Lines of a markdown cell, outside fenced code blocks, that are Python statements (they show as raw text
    and never run)."""
    import ast

    found, fenced = [], False
    for line in source.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        text = line.strip()
        if fenced or not PYTHON_START.match(text):
            continue
        try:
            ast.parse(text.rstrip(":") + (":\n    pass" if text.endswith(":") else ""))
        except SyntaxError:
            continue
        found.append(text)
    return found


def test_python_in_markdown_is_recognised():
    answer = "The fringes give the place away.\ncond = ab['results']\nprint(f'{x:.3f}')\nfor name in names:"
    assert python_in_markdown(answer) == ["cond = ab['results']", "print(f'{x:.3f}')", "for name in names:"]
    prose = "If the gap is zero, the border continues: a = 1 is no code here.\n```python\nx = 1\n```\nfrom 40.7 to 46.3"
    assert python_in_markdown(prose) == []


@pytest.mark.skipif(not COURSE_PAIRS, reason="no course notebooks (notebooks/NN_topic.py) yet")
@pytest.mark.parametrize("pair", COURSE_PAIRS, ids=lambda p: p.stem)
def test_no_python_hides_in_a_markdown_cell(pair):
    """01's model answer once held the code that printed its numbers: as markdown it showed as raw text and never
    ran. Numbers a text needs come from a code cell."""
    for i, cell in enumerate(pairs.build(pair).cells):
        if cell.cell_type == "markdown":
            assert not python_in_markdown(cell.source), f"{pair.stem}, cell {i}: {python_in_markdown(cell.source)}"


# What "Run all" must not start unless a flag at the top of its cell says so.
RISKY_CALLS = {"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.Popen", "os.system", "train"}
RISKY_TEXT = re.compile(r"^(cuda|ship)$|sslcourse/(results|weights)")


def risky_unguarded(source: str) -> list[str]:
    """What a cell starts that is long, writes into the package or needs a GPU, outside an `if FLAG:` whose
    FLAG the cell sets to False at its top (Jupyter and Colab ignore the skip-execution tag)."""
    import ast

    tree = ast.parse(source)
    flags = set()
    for stmt in tree.body:  # the flags: `NAME = False` among the cell's first statements
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant) and stmt.value.value is False:
            flags |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
        else:
            break
    guarded = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.If) and isinstance(stmt.test, ast.Name) and stmt.test.id in flags:
            guarded |= {id(n) for n in ast.walk(stmt)}
    risky = []
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name in RISKY_CALLS or name.endswith(".cuda"):
                risky.append(ast.unparse(node)[:80])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and RISKY_TEXT.search(node.value):
            risky.append(repr(node.value))
    return risky


def test_risky_cells_are_recognised():
    assert risky_unguarded('import subprocess\nsubprocess.run(["python", "-m", "sslcourse", "ship", "x", "y"])')
    assert risky_unguarded('args = ["--device", "cuda"]')
    assert risky_unguarded('out = "sslcourse/results/context/gap_jitter.json"')
    assert risky_unguarded("RUN = True\nif RUN:\n    subprocess.run(['x'])")  # a flag that is on
    assert risky_unguarded("x = 1\nRUN = False\nif RUN:\n    subprocess.run(['x'])")  # not at the top
    assert not risky_unguarded(
        "RUN_ON_GPU = False\nif RUN_ON_GPU:\n    import subprocess\n    subprocess.run(['cuda'])"
    )


@pytest.mark.skipif(not COURSE_PAIRS, reason="no course notebooks (notebooks/NN_topic.py) yet")
@pytest.mark.parametrize("pair", COURSE_PAIRS, ids=lambda p: p.stem)
def test_run_all_is_safe(pair):
    """ "Run all" in Jupyter or Colab (which run skip-execution cells too) starts nothing long, nothing that writes
    into the package and nothing that needs a GPU, unless a flag at the top of the cell says so. The Colab setup
    cell installs the course on Colab only; the few-second CPU trainings of 01, 02 and 04 (a few epochs on a few
    hundred images, with the student's functions) are the notebooks' own and counted here."""
    short_trainings = {"01_context": 1, "02_colorization": 1, "04_mae": 1}
    trainings = 0
    for i, cell in enumerate(pairs.build(pair).cells):
        if cell.cell_type != "code" or colab.SETUP_TAG in cell.metadata.get("tags", []):
            continue
        risky = risky_unguarded(cell.source)
        calls = [r for r in risky if r.startswith("train(")]
        trainings += len(calls)
        risky = [r for r in risky if not r.startswith("train(")]
        assert not risky, f"{pair.stem}, cell {i} starts, with no flag at its top: {risky}"
    assert trainings == short_trainings.get(pair.stem, 0), f"{pair.stem}: {trainings} unguarded train() calls"


REVEALS = {"00": "random", "01": "context", "02": "colorization", "03": "simclr", "04": "mae"}


@pytest.mark.skipif(not COURSE_PAIRS, reason="no course notebooks (notebooks/NN_topic.py) yet")
@pytest.mark.parametrize("pair", COURSE_PAIRS, ids=lambda p: p.stem)
def test_each_course_notebook_teaches_the_way_the_course_promises(pair):
    """Issue 18's contract for every notebook: a header with objectives, prerequisites, time and arXiv
    references; two predict-then-run questions and three written, hand-graded ones (issue 28); the scoreboard revealed
    one method at a time, and "the bet so far" at the end of 01 to 04."""
    nb = pairs.build(pair)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    header = next((c.source for c in nb.cells if "## Before you start" in c.source), "")
    for part in ("By the end of this notebook you can", "**You need**", "**Time**", "**References**"):
        assert part in header, f"{pair.stem}: its 'Before you start' cell lacks {part!r}"
    objectives = re.findall(r"^# ?\d\. |^\d\. ", header.split("**You need**")[0], flags=re.M)
    assert 3 <= len(objectives) <= 5, f"{pair.stem}: {len(objectives)} objectives (3 to 5 expected)"
    assert re.search(r"https://arxiv\.org/abs/\d{4}\.\d{4,5}", header), f"{pair.stem}: no arXiv link"
    grading = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    predictions = [g["grade_id"] for g in grading if str(g.get("grade_id", "")).startswith("check_predict_")]
    assert len(predictions) >= 2, (
        f"{pair.stem}: fewer than two predict-then-run questions (graded check_predict_... cells)"
    )
    assert "reveal_" in "\n".join(c.source for c in nb.cells if c.cell_type == "code"), f"{pair.stem}: never reveals"
    written = [c for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")]
    assert len(written) >= 3 and all(
        c.metadata["nbgrader"].get("grade") and c.metadata["nbgrader"].get("points") for c in written
    ), f"{pair.stem}: fewer than three hand-graded written answer cells with points"
    assert "Question 1 (written, graded by hand" in markdown
    number = pair.stem[:2]
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    if number in REVEALS:
        assert f'upto="{REVEALS[number]}"' in code, f"{pair.stem}: the scoreboard is not revealed up to its method"
    if number in ("01", "02", "03", "04"):
        assert f'bet_so_far("{REVEALS[number]}")' in code, f"{pair.stem}: no 'the bet so far' at its end"


def test_kernels_under_nbval_get_this_checkout_and_the_cpu(monkeypatch):
    """The root conftest.py gives the kernel nbval starts for a notebook the environment that `notebooks sync`
    gives its own, while that kernel starts, and leaves the test session's environment as it was."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)

    class IPyNbCell:  # what nbval's items are called
        pass

    monkeypatch.setenv("MPLBACKEND", "Agg")
    before = dict(os.environ)
    wrapper = conftest.pytest_runtest_setup(IPyNbCell())
    next(wrapper)
    assert os.environ["SSLCOURSE_DEVICE"] == "cpu" and os.environ["PYTHONHASHSEED"] == "0"
    assert os.environ["MPLBACKEND"].endswith("backend_inline")
    assert str(run.PACKAGE_ROOT) in os.environ["PYTHONPATH"].split(os.pathsep)
    with pytest.raises(StopIteration):
        wrapper.send(None)
    assert dict(os.environ) == before


def test_nbval_compares_no_output_of_a_student_notebook():
    """The root conftest.py turns nbval's comparison off for the cells of a student notebook (its metadata says
    so), and leaves the course notebooks strict."""
    import importlib.util
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)

    class IPyNbCell:  # what nbval's items are called
        def __init__(self, student):
            metadata = {"sslcourse": {"source": "00_x.py", **({"student": True} if student else {})}}
            self.parent = SimpleNamespace(nb=SimpleNamespace(metadata=metadata))
            self.options = {"check": True}

    solved, student = IPyNbCell(student=False), IPyNbCell(student=True)
    conftest.pytest_collection_modifyitems([solved, student, object()])
    assert solved.options["check"] is True and student.options["check"] is False


def test_the_commands_are_registered(capsys):
    from sslcourse.cli import build_parser, main

    parser = build_parser()
    args = parser.parse_args(["notebooks", "sync", "00", "03_simclr", "--force"])
    assert (args.action, args.names, args.force) == ("sync", ["00", "03_simclr"], True)
    args = parser.parse_args(["assign", "--run"])
    assert (args.names, args.run, args.force) == ([], True, False)
    assert parser.parse_args(["release", "--check"]).check
    assert parser.parse_args(["slides", "00", "--out", "decks"]).out == "decks"
    assert main(["notebooks", "check", "no_such_notebook"]) == 2  # an unknown name is an error, said calmly
    assert "names no notebook source" in capsys.readouterr().err

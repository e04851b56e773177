"""Instructor grading, end to end: a fabricated classroom of the demo notebook (tests/fixtures/99_demo.py).

One module-scoped run of `python -m sslcourse grade` over twelve submissions (~80 s on 2 cores): a
correct one, the untouched stub, one that raises, one that never ends, one that patches the checkers,
one whose checker cell was edited, one that writes a fake `sslcourse` package, one that deletes the
other submissions and writes a fake sheet, a typical mistake, one that calls the library's reference,
one that eats memory, and a file that is not a notebook. Then cheap checks of --resume and --force,
and unit tests of the parts.
"""
import copy
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

from sslcourse.instructor.grading import batch, exercises, guard, sandbox, sheet, wire
from sslcourse.instructor.nbtools import assign, pairs

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "fixtures" / "99_demo.py"
TIMEOUT = 15  # seconds per notebook: the demo runs in ~4

WRONG = '''import torch


def knn_classify(train_features, train_labels, query_features, k=20):
    return -torch.ones(len(query_features), dtype=torch.long)  # never a training label
'''

PATCHER = '''import torch
import sslcourse.checks as checks
import sslcourse.checks.evaluation as evaluation


class CheckResult:  # a fake result that always passed
    name, passed, score, max_score, message = "knn_classify", True, 7, 7, "✓ knn_classify: all 7 checks passed."

    def choose(self, mine, reference):
        return mine


checks.CheckResult = CheckResult
checks.run_check = lambda *args, **kwargs: CheckResult()
evaluation.check_knn_classify = lambda fn: CheckResult()
print("✓ knn_classify: all 7 checks passed.")


def knn_classify(train_features, train_labels, query_features, k=20):
    evaluation.check_knn_classify = lambda fn: CheckResult()  # again, while being checked
    checks.run_check = lambda *args, **kwargs: CheckResult()
    print("✓ knn_classify: all 7 checks passed.")
    return -torch.ones(len(query_features), dtype=torch.long)
'''

FAKE_PACKAGE = '''import os

os.makedirs("sslcourse/checks", exist_ok=True)
open("sslcourse/__init__.py", "w").write("")
open("sslcourse/checks/__init__.py", "w").write("")
open("sslcourse/checks/evaluation.py", "w").write(
    "class R:\\n    passed, score, max_score, message = True, 7, 7, 'passed'\\n"
    "    def choose(self, a, b):\\n        return a\\n"
    "def check_knn_classify(fn):\\n    print('✓ knn_classify: all 7 checks passed.')\\n    return R()\\n")
''' + WRONG

EDITED_CHECKER = '''from sslcourse.checks.evaluation import check_knn_classify

result = check_knn_classify(lambda *args: None)
print("✓ knn_classify: all 7 checks passed.")
result.passed = True
'''

REFERENCE = '''import torch
from sslcourse.evaluate import knn_classify as library_knn


def knn_classify(train_features, train_labels, query_features, k=20):
    return library_knn(train_features, train_labels, query_features, k)
'''

RAISES = '''import torch


def knn_classify(train_features, train_labels, query_features, k=20):
    return train_labels[len(train_labels) + 5]
'''


def vandal_cell(others: list[Path], out: Path) -> str:
    return f'''import os
for path in {[str(p) for p in others]!r}:
    if os.path.exists(path):
        os.remove(path)
open({str(others[0])!r}, "w").write("{{}}")
open({str(out)!r}, "w").write("student,knn_classify,total,max_total,status,notes\\nvandal,2,2,2,ok,\\n")
open({str(out) + ".progress"!r}, "w").write("not json\\n")
'''


def _cells(nb, grade_id):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]


def _with(stub, solution=None, append=(), checker=None, strip_metadata=False):
    nb = copy.deepcopy(stub)
    if solution is not None:
        _cells(nb, "knn_classify")[0].source = solution
    if checker is not None:
        _cells(nb, "check_knn_classify")[0].source = checker
    if strip_metadata:
        for cell in nb.cells:
            cell.metadata.pop("nbgrader", None)
    nb.cells += [nbformat.v4.new_code_cell(source) for source in append]
    return nb


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _grade(*args, check=True):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "sslcourse", "grade", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=600)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """The demo assigned in a scratch course, twelve submissions made from its student notebook, graded once."""
    base = tmp_path_factory.mktemp("classroom")
    (base / "notebooks").mkdir()
    shutil.copy(DEMO, base / "notebooks" / DEMO.name)
    assert assign.assign(root=base, execute=False) == 0
    pair = pairs.find_pairs(root=base)[0]
    stub = nbformat.read(pair.student, as_version=4)
    solution = _cells(pairs.build(pair), "knn_classify")[0].source
    euclid = solution.replace("(unit_query @ unit_train.T)", "(-torch.cdist(query_features, train_features))")
    assert euclid != solution

    subs, out = base / "submitted", base / "grades.csv"
    subs.mkdir()
    names = ["vandal", "correct", "stub", "raises", "loop", "patcher", "edited", "fakepkg", "euclid", "reference",
             "memhog", "garbage"]
    paths = [subs / f"{n}.ipynb" for n in names]
    notebooks = {
        "vandal": _with(stub, WRONG, append=[vandal_cell(paths[1:], out)]),
        "correct": _with(stub, solution),
        "stub": stub,
        "raises": _with(stub, RAISES, append=["1 / 0"]),
        "loop": _with(stub, solution, append=["while True:\n    pass"]),
        "patcher": _with(stub, PATCHER),
        "edited": _with(stub, WRONG, checker=EDITED_CHECKER, strip_metadata=True),
        "fakepkg": _with(stub, FAKE_PACKAGE),
        "euclid": _with(stub, euclid),
        "reference": _with(stub, REFERENCE),
        "memhog": _with(stub, solution, append=["hog = torch.ones(int(3e9), dtype=torch.uint8)"]),
    }
    for name, path in zip(names, paths):
        if name == "garbage":
            path.write_text("this is not a notebook")
        else:
            nbformat.write(notebooks[name], path)
    before = {p: _sha(p) for p in paths}
    done = _grade(*paths, "--out", out, "--assignment", pair.source, "--timeout", TIMEOUT, "--memory", "2G")
    rows = sheet.read_sheet(out)
    return {"rows": {r["student"]: r for r in rows}, "order": [r["student"] for r in rows], "out": out,
            "paths": paths, "before": before, "log": done.stdout + done.stderr, "assignment": pair.source,
            "base": base}


def _row(classroom, name):
    return classroom["rows"][name]


def test_one_row_per_submission_in_input_order_with_the_exercise_columns(classroom):
    assert classroom["order"] == [p.stem for p in classroom["paths"]]
    with open(classroom["out"], newline="") as f:
        header = next(csv.reader(f))
    assert header == ["student", "knn_classify", "total", "max_total", "status", "notes"]
    assert all(r["max_total"] == "2" for r in classroom["rows"].values())
    assert "graded 12 of 12 submissions" in classroom["log"] and "1 timeout" in classroom["log"]


@pytest.mark.parametrize("name, points, status, said", [
    ("correct", "2", "ok", ""),
    ("stub", "0", "ok", "not implemented yet"),
    ("raises", "0", "error", "raised IndexError"),
    ("euclid", "1.14", "ok", "Euclidean distance"),
    ("loop", "2", "timeout", f"stopped after {TIMEOUT} s"),
    ("memhog", "2", "error", "the memory limit is 2G"),
    ("garbage", "0", "error", "not a readable notebook"),
])
def test_points_status_and_notes(classroom, name, points, status, said):
    row = _row(classroom, name)
    assert (row["knn_classify"], row["total"], row["status"]) == (points, points, status), row
    assert said in row["notes"], row
    if name == "correct":
        assert row["notes"] == ""


def test_a_failing_cell_is_named_in_the_notes(classroom):
    notes = _row(classroom, "raises")["notes"]
    assert "notebook: cell" in notes and "ZeroDivisionError" in notes


@pytest.mark.parametrize("name", ["patcher", "edited", "fakepkg", "vandal"])
def test_faked_checkers_results_and_packages_earn_nothing(classroom, name):
    row = _row(classroom, name)
    assert row["total"] == "0", row
    assert "none of the training labels" in row["notes"], row  # the genuine checker's words


def test_an_edited_checker_cell_is_found_by_its_code_and_noted(classroom):
    notes = _row(classroom, "edited")["notes"]
    assert "checker cell was found by its code" in notes and "checker cell was edited" in notes
    assert "found by the function's name" in notes


def test_calling_the_reference_keeps_the_points_and_is_flagged(classroom):
    row = _row(classroom, "reference")
    assert row["total"] == "2" and row["status"] == "ok"
    assert "flagged" in row["notes"] and "from sslcourse.evaluate import knn_classify" in row["notes"]
    assert "sslcourse.evaluate.knn_classify (7 times)" in row["notes"]


def test_every_input_survives_byte_identical_and_the_sheet_is_not_the_fake(classroom):
    for path, sha in classroom["before"].items():
        assert path.is_file() and _sha(path) == sha, path
    assert "vandal,2,2,2,ok" not in classroom["out"].read_text()
    assert not sheet.progress_path(classroom["out"]).exists()  # removed once the sheet is written
    notes = _row(classroom, "vandal")["notes"]
    assert "grader: restored" in notes and "which it deleted" in notes and "which it changed" in notes
    assert "kept as correct.ipynb.changed-1" in notes  # the vandal's "{}", set aside rather than destroyed
    assert all("grader:" not in r["notes"] for n, r in classroom["rows"].items() if n != "vandal")


def test_an_existing_sheet_is_never_overwritten_without_force(classroom):
    out = classroom["out"]
    before = out.read_bytes()
    done = _grade(classroom["paths"][1], "--out", out, "--assignment", classroom["assignment"], check=False)
    assert done.returncode == 2 and "pass --force" in done.stderr
    assert out.read_bytes() == before


def test_resume_grades_only_what_the_interrupted_run_did_not(classroom, tmp_path):
    correct, stub = classroom["paths"][1], classroom["paths"][2]
    out = tmp_path / "grades.csv"
    kept = {**_row(classroom, "correct"), "notes": "FROM THE INTERRUPTED RUN"}
    sheet.progress_path(out).write_text(json.dumps({"student": "correct", "sha256": _sha(correct), "row": kept}) + "\n")
    refused = _grade(correct, stub, "--out", out, check=False)
    assert refused.returncode == 2 and "--resume" in refused.stderr
    done = _grade(correct, stub, "--out", out, "--assignment", classroom["assignment"], "--resume", "--quiet")
    rows = {r["student"]: r for r in sheet.read_sheet(out)}
    assert rows["correct"]["notes"] == "FROM THE INTERRUPTED RUN"  # not graded again
    assert rows["stub"]["total"] == "0" and "not implemented" in rows["stub"]["notes"]
    assert "graded 1 of 2" in done.stdout and "1 kept from the interrupted run" in done.stdout


# --------------------------------------------------------------------------- the parts, without kernels
def test_the_guard_restores_changed_and_deleted_files_and_removes_fakes(tmp_path):
    a, b, sheet_path = tmp_path / "a.ipynb", tmp_path / "b.ipynb", tmp_path / "grades.csv"
    a.write_text("A")
    b.write_text("B")
    g = guard.Guard()
    g.keep(a)
    g.keep(b)
    g.keep(sheet_path, owned=True)  # the grader's own file, not there yet
    assert g.repair() == []
    a.write_text("changed")
    b.unlink()
    sheet_path.mkdir()  # something where the sheet will go
    repaired = g.repair()
    assert a.read_text() == "A" and b.read_text() == "B" and not sheet_path.exists()
    assert (tmp_path / "a.ipynb.changed-1").read_text() == "changed"  # set aside, not destroyed
    assert len(repaired) == 3 and any("which it deleted" in r for r in repaired)
    g.keep(sheet_path, b"the grader's own text", owned=True)
    sheet_path.write_text("fake")
    assert g.repair() and sheet_path.read_text() == "the grader's own text"
    assert not (tmp_path / "grades.csv.changed-1").exists()  # the grader's own file: simply overwritten


def test_memory_sizes():
    assert sandbox.parse_memory("4G") == 4 << 30 and sandbox.parse_memory("512M") == 512 << 20
    assert sandbox.parse_memory("1.5GiB") == int(1.5 * (1 << 30)) and sandbox.parse_memory("0") is None
    assert sandbox.describe_memory(2 << 30) == "2G"
    with pytest.raises(ValueError, match="expected a size"):
        sandbox.parse_memory("lots")


def test_reference_uses_are_found_however_they_are_spelled():
    uses = exercises.reference_uses
    assert uses("import sslcourse.evaluate as e\ndef f(x):\n    return e.knn(x)", "knn") == ["e.knn"]
    assert uses("from sslcourse.evaluate import knn as k", "knn") == ["from sslcourse.evaluate import knn"]
    assert uses("def f(m):\n    return getattr(m, 'knn')(1)", "knn") == ['getattr(..., "knn")']
    assert uses("import importlib\nm = importlib.import_module('sslcourse.evaluate')", "knn")
    assert uses("import torch\ndef knn(x):\n    return torch.mode(x).values", "knn") == []


def test_answers_travel_as_plain_data_only():
    payload = wire.dump_untrusted({"value": wire.sendable((torch.arange(3), 2.5, {"a": object()}))})
    value = wire.rebuild(wire.load_untrusted(payload)["value"])
    assert torch.equal(value[0], torch.arange(3)) and value[1] == 2.5
    assert type(value[2]["a"]).__name__ == "object"  # an unsendable value keeps only its type's name


def test_without_metadata_the_points_are_what_most_submissions_say():
    def nb(points):
        cell = nbformat.v4.new_code_cell("check_f(f)", metadata={"nbgrader": {"grade": True, "grade_id": "check_f",
                                                                             "points": points}})
        return nbformat.v4.new_notebook(cells=[cell])

    (only,) = exercises.majority_exercises([nb(2), nb(2), nb(100)])
    assert (only.name, only.points) == ("f", 2)


def test_a_remote_function_behaves_like_the_local_one(tmp_path):
    """Gradients, inputs changed in place, generators, exceptions: as if the function ran in the checker."""
    from sslcourse.instructor.grading import batch, remote

    code = {"square": "def square(z):\n    return (z ** 2).sum()",
            "double_in_place": "def double_in_place(x):\n    x.mul_(2)\n    return x.clone()",
            "draw": "import torch\ndef draw(g):\n    return torch.rand(3, generator=g)",
            "stub": "def stub(x):\n    raise NotImplementedError('exercise stub')",
            "odd": "def odd(x):\n    return object()"}
    steps = [{"cell": i, "name": name, "source": source} for i, (name, source) in enumerate(code.items())]
    worker = remote.Worker(steps, {}, memory=None, isolate=False, cwd=str(tmp_path),
                           env=batch.sandbox_env(tmp_path, 1)).wait()
    try:
        fn = {name: remote.RemoteFunction(worker, name) for name in code}
        z = torch.randn(5, requires_grad=True)
        fn["square"](z).backward()
        assert torch.allclose(z.grad, 2 * z.detach())
        x = torch.ones(3)
        fn["double_in_place"](x)
        assert torch.equal(x, torch.full((3,), 2.0))
        g, mine = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
        assert torch.equal(fn["draw"](g), torch.rand(3, generator=mine))
        assert torch.equal(torch.rand(2, generator=g), torch.rand(2, generator=mine))  # the state moved on
        with pytest.raises(NotImplementedError, match="exercise stub"):
            fn["stub"](x)
        assert type(fn["odd"](x)).__name__ == "object"
    finally:
        worker.close()


def test_a_kernel_that_dies_is_an_error_and_one_that_hangs_a_timeout(tmp_path):
    from sslcourse.instructor.grading import batch, kernel

    def run(*sources, timeout=30):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
        return kernel.run(nb, tmp_path, tmp_path / "private", timeout=timeout, memory=None, isolate=False,
                          env=batch.sandbox_env(tmp_path, 1))

    died = run("import os", "os.kill(os.getpid(), 9)")
    assert (died.status, died.note) == ("error", "the kernel died in cell 2")
    hung = run("x = 1", "import time\nwhile True:\n    time.sleep(0.1)", timeout=4)
    assert hung.status == "timeout" and "cell 2" in hung.note and hung.seconds < 10


def test_a_relative_assignment_path_still_names_the_file_from_the_scratch_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    opts = batch.Options(assignment=Path("notebooks") / "00_gelato_bet.py")
    assert opts.assignment == tmp_path / "notebooks" / "00_gelato_bet.py" and opts.assignment.is_absolute()

"""Instructor grading, end to end: a fabricated classroom of the demo notebook (tests/fixtures/99_demo.py).

One module-scoped run of `python -m sslcourse grade --jobs 2` over nineteen submissions (~2 min on 2
cores): a correct one, the untouched stub, one that raises, one that never ends, one that patches the
checkers, one whose checker cell was edited, one that writes a fake `sslcourse` package, one that deletes
the other submissions and writes a fake sheet, a typical mistake, one that calls the library's reference,
one that eats memory, a file that is not a notebook, and the attacks of issue #19: writing outside its
scratch folder, reading the reference's source, patching the checkers on disk, a detached daemon that
appends to the sheet later, a process flood, shared memory past the limit, and copying a sibling's
answer; plus a text file, which is listed and not graded. Then cheap checks of the options, --resume,
--force, --out, and unit tests of the parts (cgroup, sandbox, view, guard, collection).
"""

import copy
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import torch

from sslcourse.instructor.grading import batch, cgroup, exercises, guard, sandbox, sheet, view, wire
from sslcourse.instructor.nbtools import assign, pairs

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "fixtures" / "99_demo.py"
TIMEOUT = 60  # seconds per notebook: the demo runs in ~4 alone, but two at a time on 2 busy cores take far longer
NO_SANDBOX = sandbox.problem()
needs_sandbox = pytest.mark.skipif(
    NO_SANDBOX is not None and not os.environ.get("SSLCOURSE_REQUIRE_SANDBOX"), reason=f"no sandbox here: {NO_SANDBOX}"
)
MARK = f"sslcourse-test-attack-{os.getpid()}"  # in the command line of every process an attack leaves behind

WRONG = """import torch


def knn_classify(train_features, train_labels, query_features, k=20):
    return -torch.ones(len(query_features), dtype=torch.long)  # never a training label
"""

PATCHER = """import torch
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
"""

FAKE_PACKAGE = (
    """import os

os.makedirs("sslcourse/checks", exist_ok=True)
open("sslcourse/__init__.py", "w").write("")
open("sslcourse/checks/__init__.py", "w").write("")
open("sslcourse/checks/evaluation.py", "w").write(
    "class R:\\n    passed, score, max_score, message = True, 7, 7, 'passed'\\n"
    "    def choose(self, a, b):\\n        return a\\n"
    "def check_knn_classify(fn):\\n    print('✓ knn_classify: all 7 checks passed.')\\n    return R()\\n")
"""
    + WRONG
)

EDITED_CHECKER = """from sslcourse.checks.evaluation import check_knn_classify

result = check_knn_classify(lambda *args: None)
print("✓ knn_classify: all 7 checks passed.")
result.passed = True
"""

REFERENCE = """import torch
from sslcourse.evaluate import knn_classify as library_knn


def knn_classify(train_features, train_labels, query_features, k=20):
    return library_knn(train_features, train_labels, query_features, k)
"""

RAISES = """import torch


def knn_classify(train_features, train_labels, query_features, k=20):
    return train_labels[len(train_labels) + 5]
"""


def outside_cell(targets: list[Path]) -> str:
    return f"""for path in {[str(p) for p in targets]!r}:
    try:
        open(path, "w").write("written by a submission")
    except OSError:
        pass
"""


READER = """import sslcourse.evaluate
import sslcourse.checks.evaluation

_ns = {}
exec(compile(open(sslcourse.evaluate.__file__).read(), "evaluate.py", "exec"), _ns)


def knn_classify(train_features, train_labels, query_features, k=20):
    return _ns["knn_classify"](train_features, train_labels, query_features, k)
"""


def disk_patch_cell() -> str:
    import site

    targets = [
        ROOT / "sslcourse" / "checks" / "evaluation.py",
        ROOT / "sslcourse" / "checks" / "__init__.py",
        Path(site.getsitepackages()[0]) / f"{MARK}.pth",
    ]
    return outside_cell(targets)


def daemon_cell(out: Path, flag: Path) -> str:
    code = f"import time; time.sleep(8); open({str(out)!r}, 'a').write('daemon,2,2,2,ok,'); open({str(flag)!r}, 'w')"
    return f"""import subprocess, sys
subprocess.Popen([sys.executable, "-c", {code!r}, {MARK!r}], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""


FLOOD = f"""import subprocess
started = []
for _ in range(2000):
    try:
        started.append(subprocess.Popen(["sh", "-c", "sleep 300; :", {MARK!r}], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
    except OSError:
        break
"""

SHM = """import mmap
shared = mmap.mmap(-1, 3 << 30)  # shared memory: not the heap that RLIMIT_DATA counts
for i in range(0, len(shared), 4096):
    shared[i] = 1
"""


def sibling_solution(folders: list[Path]) -> str:
    return f"""import glob, json, torch

_found = None
for _folder in {[str(f) for f in folders]!r} + ["/tmp"]:
    for _path in glob.glob(_folder + "/**/*.ipynb", recursive=True):
        try:
            for _cell in json.load(open(_path))["cells"]:
                _src = "".join(_cell["source"])
                if "def knn_classify" in _src and "unit_train" in _src:
                    _found = _src
        except Exception:
            pass
if _found:
    exec(_found)
else:
    def knn_classify(train_features, train_labels, query_features, k=20):
        return -torch.ones(len(query_features), dtype=torch.long)
"""


def vandal_cell(others: list[Path], out: Path) -> str:
    return f"""import os
for path in {[str(p) for p in others]!r}:
    if os.path.exists(path):
        os.remove(path)
open({str(others[0])!r}, "w").write("{{}}")
open({str(out)!r}, "w").write("student,knn_classify,total,max_total,status,notes\\nvandal,2,2,2,ok,\\n")
open({str(out) + ".progress"!r}, "w").write("not json\\n")
"""


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
    done = subprocess.run(
        [sys.executable, "-m", "sslcourse", "grade", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def _marked_processes() -> list[int]:
    """Processes whose command line carries MARK: what an attack left running."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and MARK.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """The demo assigned in a scratch course, nineteen submissions made from its student notebook, graded once."""
    if NO_SANDBOX and not os.environ.get("SSLCOURSE_REQUIRE_SANDBOX"):
        pytest.skip(f"grading needs a sandbox, and there is none here: {NO_SANDBOX}")
    base = tmp_path_factory.mktemp("classroom")
    (base / "notebooks").mkdir()
    shutil.copy(DEMO, base / "notebooks" / DEMO.name)
    assert assign.assign(root=base) == 0
    pair = pairs.find_pairs(root=base)[0]
    stub = nbformat.read(pair.student, as_version=4)
    solution = _cells(pairs.build(pair), "knn_classify")[0].source
    euclid = solution.replace("(unit_query @ unit_train.T)", "(-torch.cdist(query_features, train_features))")
    assert euclid != solution

    subs, out = base / "submitted", base / "grades.csv"
    subs.mkdir()
    names = [
        "vandal",
        "correct",
        "sibling",
        "stub",
        "raises",
        "loop",
        "patcher",
        "edited",
        "fakepkg",
        "euclid",
        "reference",
        "memhog",
        "garbage",
        "outside",
        "reader",
        "diskpatch",
        "daemon",
        "flood",
        "shm",
    ]
    paths = [subs / f"{n}.ipynb" for n in names]
    outside = [base / "OUTSIDE.txt", subs / "OUTSIDE.txt", ROOT / f"{MARK}.txt", Path.home() / f"{MARK}.txt"]
    flag = base / "DAEMON-RAN"
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
        "outside": _with(stub, WRONG + "\n" + outside_cell(outside), append=[outside_cell(outside)]),
        "reader": _with(stub, READER),
        "diskpatch": _with(stub, WRONG, append=[disk_patch_cell()]),
        "daemon": _with(stub, WRONG, append=[daemon_cell(out, flag)]),
        "flood": _with(stub, WRONG, append=[FLOOD]),
        "shm": _with(stub, solution, append=[SHM]),  # right answers: the points it would keep without the rule
        "sibling": _with(stub, sibling_solution([subs, base])),
    }
    checkers = [ROOT / "sslcourse" / "checks" / "evaluation.py", ROOT / "sslcourse" / "checks" / "__init__.py"]
    for name, path in zip(names, paths):
        if name == "garbage":
            path.write_text("this is not a notebook")
        else:
            nbformat.write(notebooks[name], path)
    (subs / "carol.txt").write_text("my notebook is attached")
    before = {p: _sha(p) for p in paths + checkers}
    start = time.monotonic()
    done = _grade(
        *paths,
        subs / "carol.txt",
        "--out",
        out,
        "--assignment",
        pair.source,
        "--timeout",
        TIMEOUT,
        "--memory",
        "2G",
        "--jobs",
        "2",
    )
    left_running = _marked_processes()  # right after grading: nothing of any submission may run
    time.sleep(max(0.0, 10 - (time.monotonic() - start)))  # the daemon, had it lived, would have written by now
    rows = sheet.read_sheet(out)
    return {
        "rows": {r["student"]: r for r in rows},
        "order": [r["student"] for r in rows],
        "out": out,
        "paths": paths,
        "before": before,
        "log": done.stdout + done.stderr,
        "assignment": pair.source,
        "base": base,
        "outside": outside,
        "flag": flag,
        "left_running": left_running,
        "subs": subs,
    }


def _row(classroom, name):
    return classroom["rows"][name]


@pytest.mark.slow
def test_one_row_per_submission_in_input_order_with_the_exercise_columns(classroom):
    assert classroom["order"] == [p.stem for p in classroom["paths"]] + ["carol.txt"]
    with open(classroom["out"], newline="") as f:
        header = next(csv.reader(f))
    assert header == ["student", "lms_id", "knn_classify", "total", "max_total", "status", "notes"]
    assert all(r["max_total"] == "2" for n, r in classroom["rows"].items() if n != "carol.txt")
    assert "graded 19 of 19 submissions" in classroom["log"] and "1 timeout" in classroom["log"]


@pytest.mark.slow
def test_a_file_that_is_not_a_notebook_is_listed_not_dropped(classroom):
    carol = _row(classroom, "carol.txt")
    assert carol["status"] == "skipped" and "not a notebook (.ipynb)" in carol["notes"]
    assert f"not graded: {classroom['subs'] / 'carol.txt'}" in classroom["log"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, points, status, said",
    [
        ("correct", "2", "ok", ""),
        ("stub", "0", "ok", "not implemented yet"),
        ("raises", "0", "error", "raised IndexError"),
        ("euclid", "1.14", "ok", "Euclidean distance"),
        ("loop", "2", "timeout", f"stopped after {TIMEOUT} s"),
        ("memhog", "2", "error", "the memory limit is 2G"),
        ("garbage", "0", "error", "not a readable notebook"),
    ],
)
def test_points_status_and_notes(classroom, name, points, status, said):
    row = _row(classroom, name)
    assert (row["knn_classify"], row["total"], row["status"]) == (points, points, status), row
    assert said in row["notes"], row
    if name == "correct":
        assert row["notes"] == ""


@pytest.mark.slow
def test_a_failing_cell_is_named_in_the_notes(classroom):
    notes = _row(classroom, "raises")["notes"]
    assert "notebook: cell" in notes and "ZeroDivisionError" in notes


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["patcher", "edited", "fakepkg", "vandal", "outside", "diskpatch", "daemon", "sibling"]
)
def test_faked_checkers_results_and_packages_earn_nothing(classroom, name):
    row = _row(classroom, name)
    assert row["total"] == "0", row
    assert "none of the training labels" in row["notes"], row  # the genuine checker's words


@pytest.mark.slow
def test_an_edited_checker_cell_is_found_by_its_code_and_noted(classroom):
    notes = _row(classroom, "edited")["notes"]
    assert "checker cell was found by its code" in notes and "checker cell was edited" in notes
    assert "found by the function's name" in notes


@pytest.mark.slow
def test_delegating_to_the_reference_scores_nothing_and_says_why(classroom):
    row = _row(classroom, "reference")
    assert row["total"] == "0" and row["status"] == "ok"
    assert "flagged" in row["notes"] and "from sslcourse.evaluate import knn_classify" in row["notes"]
    assert "0 points: it delegates to the library's reference sslcourse.evaluate.knn_classify" in row["notes"]


@pytest.mark.slow
def test_reading_and_running_the_references_source_scores_nothing(classroom):
    row = _row(classroom, "reader")
    assert row["total"] == "0", row
    assert "not available while your function is checked" in row["notes"], row


@pytest.mark.slow
def test_nothing_is_written_outside_the_scratch_folders_and_checkers_stay_as_they_were(classroom):
    assert not [p for p in classroom["outside"] if p.exists()]
    import site

    assert not (Path(site.getsitepackages()[0]) / f"{MARK}.pth").exists()
    for path, sha in classroom["before"].items():  # the checkers' sources included
        assert _sha(path) == sha, path


@pytest.mark.slow
def test_no_process_of_a_submission_outlives_its_grading_and_the_sheet_is_the_graders(classroom):
    assert classroom["left_running"] == [] and _marked_processes() == []
    assert not classroom["flag"].exists()
    assert "daemon,2,2,2,ok" not in classroom["out"].read_text()


@pytest.mark.slow
def test_shared_memory_past_the_limit_ends_the_kernel_and_scores_the_row_0(classroom):
    """Its function is right (the checker passes it), but its kernel ran into the memory limit: 0, and why."""
    row = _row(classroom, "shm")
    assert (row["knn_classify"], row["total"], row["status"]) == ("0", "0", "error"), row
    assert "the kernel died in cell" in row["notes"] and "killed at its memory limit (2G)" in row["notes"], row
    assert "scored 0 because it exceeded its memory limit (2G for all its processes together" in row["notes"], row
    assert "grade it again with a larger --memory" in row["notes"], row


@pytest.mark.slow
def test_a_process_flood_scores_the_row_0_and_says_which_limit(classroom):
    row = _row(classroom, "flood")
    assert row["total"] == "0", row
    assert f"scored 0 because it exceeded its process limit ({cgroup.PIDS_MAX} processes" in row["notes"], row


@pytest.mark.slow
def test_no_honest_submission_is_scored_0_for_its_limits(classroom):
    """The rule is for rows whose processes the kernel stopped at a limit, not for ones that only raised."""
    hit = {n for n, r in classroom["rows"].items() if "scored 0 because it exceeded" in r["notes"]}
    assert hit == {"shm", "flood"}, hit


@pytest.mark.slow
def test_every_input_survives_byte_identical_and_the_sheet_is_not_the_fake(classroom):
    for path, sha in classroom["before"].items():
        assert path.is_file() and _sha(path) == sha, path
    assert "vandal,2,2,2,ok" not in classroom["out"].read_text()
    assert not sheet.progress_path(classroom["out"]).exists()  # removed once the sheet is written
    vandal = _row(classroom, "vandal")
    assert vandal["status"] == "error" and "cell" in vandal["notes"]  # it could not delete, so its cell raised
    assert all("grader:" not in r["notes"] for r in classroom["rows"].values())  # nothing to repair


@pytest.mark.slow
@pytest.mark.slow
def test_the_lms_gradebooks_and_one_feedback_file_per_student_are_written(classroom):
    from sslcourse.instructor.grading import lms

    graded = [name for name in classroom["order"] if classroom["rows"][name]["status"] != "skipped"]
    paths = lms.exports_paths(classroom["out"])
    canvas = sheet.read_sheet(paths["canvas"])
    assert [r["Student"] for r in canvas[1:]] == graded and canvas[0]["Student"] == "Points Possible"
    moodle = sheet.read_sheet(paths["moodle"])
    assert [r["Full name"] for r in moodle] == graded
    assert moodle[graded.index("correct")]["Grade"] == classroom["rows"]["correct"]["total"]
    assert sorted(p.stem for p in paths["feedback"].iterdir()) == sorted(graded)
    said = (paths["feedback"] / "correct.md").read_text()
    assert "`knn_classify`: 2 of 2 points. passed every check" in said
    assert "it ran out of time" in (paths["feedback"] / "loop.md").read_text()


def test_an_existing_sheet_is_never_overwritten_without_force(classroom):
    out = classroom["out"]
    before = out.read_bytes()
    done = _grade(classroom["paths"][1], "--out", out, "--assignment", classroom["assignment"], check=False)
    assert done.returncode == 2 and "pass --force" in done.stderr
    assert out.read_bytes() == before


@pytest.mark.slow
def test_resume_grades_only_what_the_interrupted_run_did_not(classroom, tmp_path):
    by_name = {p.stem: p for p in classroom["paths"]}
    correct, stub = by_name["correct"], by_name["stub"]
    out = tmp_path / "grades.csv"
    kept = {**_row(classroom, "correct"), "notes": "FROM THE INTERRUPTED RUN"}
    sheet.progress_path(out).write_text(json.dumps({"student": "correct", "sha256": _sha(correct), "row": kept}) + "\n")
    refused = _grade(correct, stub, "--out", out, check=False)
    assert refused.returncode == 2 and "--resume" in refused.stderr
    done = _grade(
        correct,
        stub,
        "--out",
        out,
        "--assignment",
        classroom["assignment"],
        "--resume",
        "--quiet",
        "--isolation",
        "none",
    )
    rows = {r["student"]: r for r in sheet.read_sheet(out)}
    assert rows["correct"]["notes"] == "FROM THE INTERRUPTED RUN"  # not graded again
    assert rows["stub"]["total"] == "0" and "not implemented" in rows["stub"]["notes"]
    assert "graded 1 of 2" in done.stdout and "1 kept from the interrupted run" in done.stdout
    # unisolated only when asked, and said where the instructor will see it: the terminal and the sheet
    assert "warning: NOT ISOLATED (--isolation none)" in done.stderr and "NOT ISOLATED" in done.stdout
    assert "grader: NOT ISOLATED (--isolation none)" in rows["stub"]["notes"]


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
    (sheet_path / "2025").mkdir(parents=True)  # a folder where the sheet will go, with someone's work in it
    (sheet_path / "2025" / "midterm.csv").write_text("alice,17")
    repaired = g.repair()
    assert a.read_text() == "A" and b.read_text() == "B" and not sheet_path.exists()
    assert (tmp_path / "a.ipynb.changed-1").read_text() == "changed"  # set aside, not destroyed
    assert (tmp_path / "grades.csv.changed-1" / "2025" / "midterm.csv").read_text() == "alice,17"  # moved, not removed
    assert len(repaired) == 3 and any("which it deleted" in r for r in repaired)
    g.keep(sheet_path, b"the grader's own text", owned=True)
    sheet_path.write_text("fake")
    assert g.repair() and sheet_path.read_text() == "the grader's own text"
    assert not (tmp_path / "grades.csv.changed-2").exists()  # the grader's own file: simply overwritten


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
        cell = nbformat.v4.new_code_cell(
            "check_f(f)", metadata={"nbgrader": {"grade": True, "grade_id": "check_f", "points": points}}
        )
        return nbformat.v4.new_notebook(cells=[cell])

    (only,) = exercises.majority_exercises([nb(2), nb(2), nb(100)])
    assert (only.name, only.points) == ("f", 2)


def test_a_remote_function_behaves_like_the_local_one(tmp_path):
    """Gradients, inputs changed in place, generators, exceptions: as if the function ran in the checker."""
    from sslcourse.instructor.grading import batch, remote

    code = {
        "square": "def square(z):\n    return (z ** 2).sum()",
        "double_in_place": "def double_in_place(x):\n    x.mul_(2)\n    return x.clone()",
        "draw": "import torch\ndef draw(g):\n    return torch.rand(3, generator=g)",
        "stub": "def stub(x):\n    raise NotImplementedError('exercise stub')",
        "odd": "def odd(x):\n    return object()",
    }
    steps = [{"cell": i, "name": name, "source": source} for i, (name, source) in enumerate(code.items())]
    worker = remote.Worker(
        steps, {}, memory=None, box=None, cwd=str(tmp_path), env=batch.sandbox_env(tmp_path, 1, False)
    ).wait()
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


def test_a_submission_that_defines_no_function_is_not_waited_for_again(tmp_path):
    """Issue #30's idle wait: a worker that defined nothing (a one-cell submission) answered once, and each
    further exercise waited out the whole 120 s for a second answer that never comes."""
    from sslcourse.instructor.grading import batch, remote

    worker = remote.Worker([], {}, memory=None, box=None, cwd=str(tmp_path), env=batch.sandbox_env(tmp_path, 1, False))
    try:
        assert worker.wait(timeout=60).heard and (worker.ready, worker.problems, worker.death) == ({}, {}, None)
        start = time.monotonic()
        for _ in range(3):  # once per exercise, as job.grade asks
            assert worker.wait(timeout=5).death is None
        assert time.monotonic() - start < 1
    finally:
        worker.close()


def test_a_kernel_that_dies_is_an_error_and_one_that_hangs_a_timeout(tmp_path):
    from sslcourse.instructor.grading import batch, kernel

    def run(*sources, timeout=30):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
        return kernel.run(
            nb,
            tmp_path,
            tmp_path / "private",
            timeout=timeout,
            memory=None,
            box=None,
            env=batch.sandbox_env(tmp_path, 1, False),
        )

    died = run("import os", "os.kill(os.getpid(), 9)")
    assert (died.status, died.note) == ("error", "the kernel died in cell 2")
    hung = run("x = 1", "import time\nwhile True:\n    time.sleep(0.1)", timeout=4)
    assert hung.status == "timeout" and "cell 2" in hung.note and hung.seconds < 10


def test_a_relative_assignment_path_still_names_the_file_from_the_scratch_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    opts = batch.Options(assignment=Path("notebooks") / "00_gelato_bet.py")
    assert opts.assignment == tmp_path / "notebooks" / "00_gelato_bet.py" and opts.assignment.is_absolute()


# --------------------------------------------------------------------------- issue #19: nothing lost, fail closed
def test_a_folder_as_out_is_refused_before_anything_runs_and_nothing_in_it_is_lost(tmp_path):
    """The bug: `--out grades_dir --force` on an existing folder removed it, someone's 2025/midterm.csv with it."""
    folder = tmp_path / "grades_dir"
    (folder / "2025").mkdir(parents=True)
    (folder / "2025" / "midterm.csv").write_text("alice,17\n")
    notebook = tmp_path / "alice.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    done = _grade(notebook, "--out", folder, "--force", check=False)
    assert done.returncode == 2 and "--out" in done.stderr and "a folder" in done.stderr, done.stderr
    assert "grading" not in done.stdout
    assert (folder / "2025" / "midterm.csv").read_text() == "alice,17\n"
    with pytest.raises(IsADirectoryError):  # the grader's own guard refuses to keep (and later remove) a folder
        guard.Guard().keep(folder, owned=True)
    assert (folder / "2025" / "midterm.csv").is_file()


@pytest.mark.parametrize(
    "args, said",
    [
        (["--timeout", "-5"], "--timeout -5: expected a number of seconds greater than 0"),
        (["--timeout", "soon"], "--timeout soon"),
        (["--memory", "100M"], "--memory 100M: at least 1G"),
        (["--memory", "lots"], "--memory lots: expected a size"),
        (["--jobs", "0"], "--jobs 0: expected a whole number of at least 1"),
        (["--isolation", "auto"], "--isolation"),
        (["--out", "sheets/"], "a folder; --out names the sheet"),
    ],
)
def test_bad_options_are_refused_as_they_are_parsed(args, said, capsys):
    from sslcourse.cli import build_parser

    argv = ["grade", "alice.ipynb", "--out", "grades.csv", *args]
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(argv)
    assert stop.value.code == 2 and said in capsys.readouterr().err


def test_good_options_parse_to_values():
    from sslcourse.cli import build_parser

    args = build_parser().parse_args(
        ["grade", "a.ipynb", "--out", "g.csv", "--timeout", "30", "--memory", "1500M", "--jobs", "2"]
    )
    assert (args.timeout, args.memory, args.jobs, args.isolation) == (30.0, 1500 << 20, 2, "bwrap")
    assert build_parser().parse_args(["grade", "a.ipynb", "--out", "g.csv", "--memory", "0"]).memory is None


def test_without_the_sandbox_tool_grading_refuses_to_start(tmp_path):
    notebook = tmp_path / "alice.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    env_path = str(Path(sys.executable).parent)  # python, no bwrap
    done = subprocess.run(
        [sys.executable, "-m", "sslcourse", "grade", str(notebook), "--out", str(tmp_path / "g.csv")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": env_path, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2 and "bubblewrap is not installed" in done.stderr and "--isolation none" in done.stderr
    assert not (tmp_path / "g.csv").exists()


@pytest.mark.slow
def test_unisolated_the_summary_counts_no_repair_and_says_what_to_do(tmp_path):
    """Issue #30: with --isolation none the summary said "1 files repaired": its own NOT ISOLATED note."""
    notebook = tmp_path / "smithjane_1234_567890_demo.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), notebook)
    out = tmp_path / "g.csv"
    done = _grade(notebook, "--out", out, "--isolation", "none", "--timeout", "120")
    (row,) = sheet.read_sheet(out)
    assert (row["student"], row["lms_id"], row["status"]) == ("smithjane", "1234", "ok")
    assert "grader: NOT ISOLATED" in row["notes"]
    assert "repaired" not in done.stdout and "grade again without --isolation none" in done.stdout, done.stdout


def test_off_linux_the_refusal_says_so(monkeypatch):
    monkeypatch.setattr(sandbox, "LINUX", False)
    sandbox.problem.cache_clear()
    try:
        assert "needs Linux" in sandbox.problem() and "--isolation none" in sandbox.problem()
    finally:
        sandbox.problem.cache_clear()


def test_submissions_as_instructors_receive_them(tmp_path):
    """Any letter case, one folder per student (named after the folder), LMS names; every other file listed."""

    def nb(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
        return path

    nb(tmp_path / "alice.ipynb")
    nb(tmp_path / "BOB.IPYNB")
    (tmp_path / "carol.txt").write_text("see attachment")
    nb(tmp_path / "dave" / "dave.ipynb")
    nb(tmp_path / "Eve Adams_12345_assignsubmission_file_" / "03_simclr.ipynb")
    nb(tmp_path / "frankfrank_LATE_1234_56789_03_simclr.ipynb")
    nb(tmp_path / "gina" / ".ipynb_checkpoints" / "gina-checkpoint.ipynb")
    nb(tmp_path / "gina" / "work" / "gina.ipynb")
    (tmp_path / "gina" / "notes.md").write_text("notes")
    found, skipped = batch.collect([tmp_path])
    assert [who.name for _, who in found] == ["BOB", "Eve Adams", "alice", "dave", "frankfrank", "gina"]
    assert [who.lms_id for _, who in found] == ["", "12345", "", "dave", "1234", "gina"]
    assert [who.late for _, who in found] == [False, False, False, False, True, False]
    why = {p.name: reason for p, reason in skipped}
    assert why == {
        "carol.txt": "not a notebook (.ipynb)",
        "gina-checkpoint.ipynb": "a Jupyter checkpoint copy, not the submission",
        "notes.md": "not a notebook (.ipynb)",
    }


# --------------------------------------------------------------------------- the sandbox's parts
def test_the_workers_package_view_has_no_answers(tmp_path):
    package = view.build(tmp_path / "sslcourse", {"knn_classify", "nt_xent_loss"})
    evaluate = (package / "evaluate.py").read_text()
    assert "def knn_classify" in evaluate and "raise ReferenceUnavailable" in evaluate
    assert "topk" not in evaluate.split("def knn_classify")[1].split("\ndef ")[0]  # the body is gone
    checker = (package / "checks" / "evaluation.py").read_text()
    assert "def check_knn_classify" in checker and "_clusters" not in checker  # no naive reference either
    assert (package / "checks" / "sandbox.py").read_text() == (view.PACKAGE / "checks" / "sandbox.py").read_text()
    assert not list(package.rglob("__pycache__"))


@pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox here: {NO_SANDBOX}")
def test_a_process_flood_is_bounded_and_every_process_ended(tmp_path):
    group = cgroup.Group(f"sslcourse-test-{os.getpid()}", 1 << 30)
    code = (
        f"import subprocess\nn = 0\nfor _ in range(2000):\n    try:\n        subprocess.Popen(['sh', '-c', 'sleep 300; :', "
        f"{MARK!r}], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n        n += 1\n    except OSError:\n        break\nprint(n)"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, preexec_fn=group.enter
        )
        assert int(done.stdout) < cgroup.PIDS_MAX  # the flood stopped at the limit
        assert len(group.members()) > 100  # its sleepers outlived it, detached
        assert group.end() and group.members() == [] and _marked_processes() == []
        (hit,) = group.exceeded()  # the kernel's count: starts refused at this group's own limit
        assert (hit.limit, hit.value) == ("processes", cgroup.PIDS_MAX) and hit.times >= 1
    finally:
        group.end()
        group.remove()


@pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox here: {NO_SANDBOX}")
def test_shared_memory_counts_against_the_submissions_memory(tmp_path):
    group = cgroup.Group(f"sslcourse-test-shm-{os.getpid()}", 1 << 30)
    box = {
        "memory": 1 << 30,
        "package": str(view.PACKAGE),
        "view": str(view.build(tmp_path / "v" / "sslcourse", set())),
        "scratch_root": str(tmp_path),
        "hide": [],
        "group": group,
    }
    code = "import mmap\nm = mmap.mmap(-1, 2 << 30)\nfor i in range(0, len(m), 4096):\n    m[i] = 1\nprint('survived')"
    try:
        proc = sandbox.spawn([sys.executable, "-c", code], memory=1 << 30, box=box, stdout=subprocess.PIPE)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode in (-9, 128 + 9) and b"survived" not in out  # killed at 1G, though the heap stayed small
        assert group.exceeded() == [cgroup.Exceeded("memory", 1 << 30, 1)]  # the kernel says so: at its own limit
    finally:
        group.end()
        group.remove()


def test_the_data_cache_is_prepared_once_outside_the_sandbox_when_an_assignment_uses_cifar(tmp_path, monkeypatch):
    """In the sandbox the course is read-only: without a cache every submission would decode the JPEGs again."""
    from sslcourse import data
    from sslcourse.instructor.grading import classroom

    calls = []
    monkeypatch.setattr(data, "cache_path", lambda split: tmp_path / f"cifar10-{split}.npz")
    monkeypatch.setattr(data, "load_cifar10", lambda split: calls.append(split))
    uses, other = tmp_path / "uses.py", tmp_path / "other.py"
    uses.write_text("images, labels = load_cifar10('train')  # CIFAR-10")
    other.write_text("x = 1")
    assert classroom.warm_data_cache([batch.Submission(other, "a", b"", "", assignment=other)]) == []
    said = classroom.warm_data_cache([batch.Submission(uses, "a", b"", "", assignment=uses)])
    assert calls == ["train", "test"] and len(said) == 2
    (tmp_path / "cifar10-train.npz").write_bytes(b"cached")
    (tmp_path / "cifar10-test.npz").write_bytes(b"cached")
    calls.clear()
    assert classroom.warm_data_cache([batch.Submission(uses, "a", b"", "", assignment=uses)]) == [] and calls == []

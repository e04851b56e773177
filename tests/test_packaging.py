"""environment.yml and pyproject.toml must list the same dependencies with the same bounds."""

import re
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch", "playwright-python": "playwright"}  # conda-forge name -> PyPI name


def _split(req: str) -> tuple[str, str]:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_reqs = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    expected = dict(_split(r) for r in pip_reqs)

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, spec = _split(dep)
            if name not in ("python", "pip"):
                conda[CONDA_NAMES.get(name, name)] = spec
    assert conda == expected, (
        f"only in environment.yml: {sorted(set(conda.items()) - set(expected.items()))}; "
        f"only in pyproject.toml: {sorted(set(expected.items()) - set(conda.items()))}"
    )
    python_spec = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python_spec.replace("python", "") == project["requires-python"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert any(line.startswith("-e .") for line in pip_section), "the pip section must install the course itself"


def test_requirements_admit_colab_and_this_machine():
    """Lower bounds only, low enough for Colab (torch 2.11, torchvision 0.26, ipywidgets 7.7, Python 3.13)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = dict(_split(r) for r in project["dependencies"])
    for name, colab in {"torch": (2, 11), "torchvision": (0, 26), "ipywidgets": (7, 7)}.items():
        spec = reqs[name]
        assert spec.startswith(">=") and "<" not in spec and "==" not in spec, f"{name}: {spec}"
        lower = tuple(int(x) for x in spec[2:].split(".")[:2])
        assert lower <= colab, f"{name} {spec} excludes Colab's {colab}"
    assert project["requires-python"] == ">=3.10"


# --------------------------------------------------------------------------- every direct import is declared
# import name -> distribution name, where they differ
DISTRIBUTIONS = {
    "PIL": "pillow",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "IPython": "ipython",
    "markdown_it": "markdown-it-py",
    "importlinter": "import-linter",
    "matplotlib_inline": "matplotlib-inline",
    "jupyter_client": "jupyter-client",
}
NOT_DISTRIBUTIONS = {"sslcourse", "tomllib", "tomli"}  # this package; tomli only where tomllib is missing (3.10)


def _imports(path: Path) -> set[str]:
    import ast
    import sys

    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("module://")
            and "." in node.value
        ):
            names.add(node.value.removeprefix("module://").split(".")[0])  # a backend named by module path
    return {n for n in names if n not in sys.stdlib_module_names and n not in NOT_DISTRIBUTIONS}


def _declared() -> dict[str, set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    return {group: {_split(r)[0] for r in reqs} for group, reqs in groups.items()}


def _undeclared(files, allowed: set[str]) -> dict[str, list[str]]:
    missing = {}
    for path in files:
        for name in _imports(path):
            dist = DISTRIBUTIONS.get(name, name).lower().replace("_", "-")
            if dist not in allowed:
                missing.setdefault(dist, []).append(str(path.relative_to(ROOT)))
    return missing


def test_every_package_the_code_imports_is_declared_where_its_users_get_it():
    """The library and the notebooks need only the core dependencies; the instructor tools also the notebooks
    extra (students install that one too), and the test extra's nbval for the comparison they add to it; tests
    may use everything. A package that merely arrives as another's dependency can vanish with its next release."""
    declared = _declared()
    core, notebooks, test = declared["core"], declared["notebooks"], declared["test"]
    library = [p for p in (ROOT / "sslcourse").rglob("*.py") if "instructor" not in p.parts]
    instructor = list((ROOT / "sslcourse" / "instructor").rglob("*.py"))
    checks = {
        "the library (core dependencies)": (library, core),
        "the notebooks (core dependencies)": (sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")), core),
        "the instructor tools (core and notebooks)": (instructor, core | notebooks | {"nbval"}),
        # nbgrader: only read when an instructor has it installed (test_grade_nbgrader.py falls back to its schema)
        "the tests (any extra)": (
            [*(ROOT / "tests").glob("*.py"), ROOT / "conftest.py"],
            core | notebooks | test | {"nbgrader"},
        ),
    }
    for who, (files, allowed) in checks.items():
        missing = _undeclared(files, allowed)
        assert not missing, f"{who} import packages pyproject.toml does not declare there: {missing}"


def test_students_are_not_given_the_test_tools():
    declared = _declared()
    assert not declared["notebooks"] & {"pytest", "nbval", "playwright", "ruff", "import-linter"}
    assert {"jupyterlab", "ipykernel"} <= declared["notebooks"]


# --------------------------------------------------------------------------- Windows: no `resource` module
WITHOUT_RESOURCE = """
import importlib, importlib.abc, io, json, pkgutil, sys
from contextlib import redirect_stderr, redirect_stdout

class NoResource(importlib.abc.MetaPathFinder):  # Windows' Python has no `resource` module
    def find_spec(self, name, path=None, target=None):
        if name == "resource":
            raise ModuleNotFoundError("No module named 'resource'")

sys.modules.pop("resource", None)
sys.meta_path.insert(0, NoResource())
from sslcourse.cli import main
out, err = io.StringIO(), io.StringIO()
with redirect_stdout(out), redirect_stderr(err):
    listed = main(["list"])
    graded = main(["grade", "submissions", "--out", "grades.csv"])
import sslcourse
failed = {}
for info in pkgutil.walk_packages(sslcourse.__path__, "sslcourse."):
    if info.name.startswith("sslcourse.instructor.grading.") or info.name == "sslcourse.__main__":
        continue
    try:
        importlib.import_module(info.name)
    except Exception as e:
        failed[info.name] = repr(e)
print(json.dumps({"listed": listed, "graded": graded, "out": out.getvalue(), "err": err.getvalue(), "failed": failed}))
"""


def test_every_command_but_grading_works_without_the_resource_module(tmp_path):
    """On Windows `python -m sslcourse list` once crashed building the parser (the grading options imported the
    sandbox, which imports `resource`). With `resource` made unimportable: `list` works, every module of the
    library and of the instructor tools but grading imports, and `grade` says plainly what it needs."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-c", WITHOUT_RESOURCE], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["listed"] == 0 and "methods:" in result["out"] and "shipped weights:" in result["out"]
    assert result["failed"] == {}, result["failed"]
    assert result["graded"] == 2 and "grading needs Linux, WSL" in result["err"] and "macOS" in result["err"]

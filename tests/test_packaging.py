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

"""pytest's root configuration, loaded for any test or notebook under this folder, from any working directory.

pyproject's addopts run every notebook (notebooks/*.ipynb, notebooks/student/*.ipynb) under nbval with
--nbval-current-env (the student versions without comparing outputs: they have none), whose kernels
inherit this process's environment when they start. While one starts, give it what `python -m sslcourse
notebooks sync` gave the kernels that wrote the stored outputs (this checkout's sslcourse first on the path,
the CPU, a fixed hash seed, the inline plot backend), and only then: the rest of the test session keeps its own environment (CI's MPLBACKEND=Agg, say).
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # `pytest notebooks` in a clone that was never pip-installed
    sys.path.insert(0, str(ROOT))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """Around the setup of a notebook cell (the first one starts the kernel): the kernels' environment."""
    if type(item).__name__ != "IPyNbCell":
        yield
        return
    from sslcourse.instructor.nbtools.run import kernel_env

    saved = dict(os.environ)
    os.environ.update(kernel_env())
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def pytest_collection_modifyitems(items):
    """Student notebooks are handed out without outputs (`python -m sslcourse assign`): nbval runs every cell of
    them end to end (a cell that raises fails the test) but compares no output; the course notebooks stay
    strict. Known by the notebook's own metadata (`sslcourse.student`), which assign writes."""
    for item in items:
        if type(item).__name__ == "IPyNbCell" and item.parent.nb.metadata.get("sslcourse", {}).get("student"):
            item.options["check"] = False


def pytest_configure(config):
    """Find the sanitizer file from any working directory (addopts name it relative to the repository)."""
    if config.pluginmanager.hasplugin("nbval"):
        from sslcourse.instructor.nbtools.approx import install

        install()  # cells tagged nbval-approx-<T>: numbers within T of the stored ones
    sanitize = getattr(config.option, "nbval_sanitize_with", None)
    if sanitize and not Path(sanitize).is_file() and (ROOT / sanitize).is_file():
        config.option.nbval_sanitize_with = str(ROOT / sanitize)

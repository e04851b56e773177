"""Executing a notebook the same way everywhere: this Python, this checkout's sslcourse, the CPU, a fixed
hash seed; and tidying the result so that re-running it changes nothing that did not really change."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import sslcourse
from sslcourse.instructor import course
from sslcourse.instructor.nbtools.pairs import LANGUAGE_INFO
from sslcourse.instructor.nbtools.slides import build_slides

PACKAGE_ROOT = Path(sslcourse.__file__).resolve().parents[1]  # the folder that holds the sslcourse package
KERNEL_NAME = "sslcourse-current-env"


def kernel_env(cpu: bool = True) -> dict:
    """The environment of an executing kernel: this checkout's sslcourse first on the path, a fixed hash
    seed (set order), Jupyter's inline plots even where MPLBACKEND says otherwise (CI sets Agg), and with
    `cpu` the CPU (`SSLCOURSE_DEVICE`, read by each notebook's setup cell; without it, the GPU if any)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    if cpu:
        env["SSLCOURSE_DEVICE"] = "cpu"
    env["PYTHONHASHSEED"] = "0"
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    return env


def _kernel_manager():
    """A kernel manager that starts `sys.executable -m ipykernel_launcher` (no installed kernelspec needed).

    The asynchronous manager: with the blocking one, a cell that never ends blocks nbclient's event loop
    and the per-cell timeout never fires."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class CurrentEnv(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            if kernel_name == KERNEL_NAME:
                return self.kernel_spec_class(
                    resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict()
                )
            return super().get_kernel_spec(kernel_name)

    return AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=CurrentEnv())


class NotebookFailed(ValueError):
    """A notebook did not run to its end; the message says where and why."""


def execute(nb, cwd: Path, timeout: int = 1200, cpu: bool = True) -> None:
    """Run every cell of `nb` in place, in folder `cwd`, then `tidy` it. Raises NotebookFailed when a cell
    raises (unless tagged `raises-exception`; the message ends with its traceback), runs past `timeout`
    seconds, or the kernel does not start or dies. `cpu`: see `kernel_env`."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    # store_widget_state=True: nbclient tracks Output widgets through it (False raises KeyError on a model
    # id as soon as a cell displays an Output widget); tidy() drops the stored state afterwards.
    client = NotebookClient(
        nb,
        km=_kernel_manager(),
        timeout=timeout,
        allow_errors=False,
        record_timing=False,
        store_widget_state=True,
        resources={"metadata": {"path": str(cwd)}},
    )
    if os.environ.get("SSLCOURSE_NB_DEBUG"):  # every message nbclient sends and receives, on stderr
        import logging

        logging.basicConfig(level=logging.DEBUG)
        client.log.setLevel(logging.DEBUG)
    try:
        client.execute(env=kernel_env(cpu))
    except CellExecutionError as err:
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # the traceback's terminal colours
        raise NotebookFailed("a cell failed:\n" + "\n".join(text.strip().splitlines()[-12:])) from None
    except Exception as err:  # the kernel did not start or died, or a cell ran past the timeout
        raise NotebookFailed(f"the kernel could not run it ({type(err).__name__}: {err})") from None
    tidy(nb)


def execute_file(path: Path, timeout: int = 1200, cpu: bool = True):
    """Execute the notebook at `path` as Jupyter's "Run All" would, without ever writing to `path`.
    Returns (notebook with outputs, seconds, None or the reason it failed): one broken notebook in a
    series should not hide the others."""
    import nbformat

    t = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    try:
        execute(nb, cwd=Path(path).parent, timeout=timeout, cpu=cpu)
        problem = None
    except NotebookFailed as err:
        problem = str(err)
    return nb, time.perf_counter() - t, problem


_CARRIAGE = re.compile(r"^.*\r(?=[^\n])", re.M)  # a progress bar's earlier states, overwritten by \r
_BACKSPACE = re.compile(r"[^\n]\x08")


def _coalesce(outputs: list) -> list:
    """Consecutive stream outputs of one name as one, with what \\r and backspaces erased removed."""
    merged = []
    for out in outputs:
        last = merged[-1] if merged else None
        if out.output_type == "stream" and last and last.output_type == "stream" and last.name == out.name:
            last.text += out.text
        else:
            merged.append(out)
    for out in merged:
        if out.output_type == "stream":
            text = out.text.replace("\r\n", "\n")
            while _BACKSPACE.search(text):
                text = _BACKSPACE.sub("", text)
            out.text = _CARRIAGE.sub("", text)
    return merged


def tidy(nb) -> None:
    """Drop what changes from run to run without meaning anything: timings, kernel versions, widget
    states and model ids (a widget's text form stays), progress-bar redraws."""
    nb.metadata.pop("widgets", None)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            data = out.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                data.pop("application/vnd.jupyter.widget-view+json")
                data.setdefault("text/plain", "")
        cell.outputs = _coalesce(cell.outputs)


def run_course(out_dir: Path = course.ROOT / "build" / "executed", timeout: int = 1200) -> int:
    """Execute every notebook into out_dir (the notebooks themselves are never overwritten), then build
    the slides from the executed copies into slides/."""
    import nbformat

    notebooks = course.course_notebooks()
    if not notebooks:
        print("There are no notebooks in notebooks/ yet: nothing to run.")
        return 0
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = []
    for i, nb_path in enumerate(notebooks, 1):
        print(f"[{i}/{len(notebooks)}] running {nb_path.name} ...", flush=True)  # a notebook can take minutes
        nb, seconds, problem = execute_file(nb_path, timeout, cpu=False)  # a student's GPU, if any, is used
        if problem:
            failed.append(nb_path.name)
        nbformat.write(nb, out_dir / nb_path.name)
        print(f"{nb_path.name:40s} {seconds:6.1f} s  {'FAILED: ' + problem.splitlines()[-1] if problem else 'ok'}")
    print(f"executed notebooks are in {out_dir}")
    build_slides(out_dir=course.ROOT / "slides", source=out_dir)  # from the fresh outputs
    print(f"slides are in {course.ROOT / 'slides'} (open the .html files in a browser; they work offline)")
    return 1 if failed else 0

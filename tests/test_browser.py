"""The course in a real browser: JupyterLab served headless on a free local port, driven by Chromium
through Playwright, as a student would use it.

For every notebook: open it, run all cells, then check that no cell shows an error, that every figure
the kernel produced is on the page and decoded, and that the widgets render and answer input. A second
test opens each slide deck and steps through it with the keyboard. Screenshots (and the executed
copies of the notebooks) are saved under build/browser/ as the run's artefacts.

Needs Chromium (Debian's package: `apt-get install chromium`; or set SSLCOURSE_CHROMIUM to a binary) and
the `playwright` package (the test extra). Without them the tests skip, except in CI (CI=true), where
.ci/run installs both and a missing browser is a failure. The browser never downloads anything: the
notebooks are served from a copy in build/browser/work/, so the notebooks in notebooks/ are never
touched, and Chromium runs with its background networking off.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from sslcourse.instructor.nbtools.run import kernel_env

ROOT = Path(__file__).resolve().parents[1]
ARTEFACTS = ROOT / "build" / "browser"
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CELL_BUDGET_S = 600  # one notebook, all cells; the slowest takes about a minute on 2 CPU cores
# The flags Chromium needs here: root in a container (no sandbox), no GPU, and no background
# connections, which a closed network refuses many at a time.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-default-apps",
]

pytestmark = pytest.mark.slow


def _unavailable(why: str):
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{why} (CI must run the browser tests: .ci/run installs Chromium and playwright)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[test]'")
    executable = os.environ.get("SSLCOURSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        _unavailable("Chromium was not found: apt-get install chromium (or set SSLCOURSE_CHROMIUM)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(folder: Path) -> None:
    """JupyterLab user settings for the run: render every cell (no virtual scrolling, so every figure is
    in the page) and never ask the internet for news or updates."""
    for plugin, values in {
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _work_copy(work: Path) -> None:
    """The notebooks to open, copied: a cell tagged skip-execution (the optional long runs) becomes a
    markdown cell, so that 'Run All' runs what the tests and `sync` run."""
    (work / "notebooks").mkdir(parents=True, exist_ok=True)
    for name in NOTEBOOKS:
        nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and "skip-execution" in cell.metadata.get("tags", []):
                nb.cells[i] = nbformat.v4.new_markdown_cell("```python\n" + cell.source + "\n```")
        nbformat.write(nb, work / "notebooks" / name)


@pytest.fixture(scope="module")
def lab():
    """A JupyterLab server on a free local port, serving a copy of the notebooks; yields (url, token)."""
    if shutil.which("jupyter", path=str(Path(sys.executable).parent)) is None and not _has_module("jupyterlab"):
        _unavailable("JupyterLab is not installed: pip install -e '.[notebooks]'")
    if ARTEFACTS.exists():
        shutil.rmtree(ARTEFACTS)
    work = ARTEFACTS / "work"
    _work_copy(work)
    _settings(ARTEFACTS / "lab-settings")
    port, token = _free_port(), secrets.token_hex(16)
    env = kernel_env()  # the kernels run this checkout's sslcourse on the CPU, like nbval's
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(ARTEFACTS / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(ARTEFACTS / "lab-workspaces"),
        JUPYTER_RUNTIME_DIR=str(ARTEFACTS / "runtime"),
    )
    log = (ARTEFACTS / "jupyterlab.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.extension_manager=readonly",
            "--allow-root",
        ],  # CI containers run as root
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start; its log: {ARTEFACTS / 'jupyterlab.log'}")
                time.sleep(0.5)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _has_module(name: str) -> bool:
    from importlib.util import find_spec

    return find_spec(name) is not None


# The notebook's state, read from JupyterLab's own model (window.jupyterapp, exposed by the server flag).
# Each page finds its notebook by path: JupyterLab may have other documents open.
_PANEL_JS = "path => [...window.jupyterapp.shell.widgets('main')].find(w => w.context?.path === path)"

_STATE_JS = (
    """(path) => {
  const panel = ("""
    + _PANEL_JS
    + """)(path);
  const cells = panel.content.model.cells;
  const state = {code: 0, executed: 0, errors: [], images: 0, widgets: 0,
                 kernel: panel.sessionContext.session?.kernel?.status ?? 'none',
                 busy: [...document.querySelectorAll('.jp-InputPrompt')].filter(p => p.textContent.includes('*')).length};
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code' || !cell.sharedModel.getSource().trim()) continue;
    state.code += 1;
    if (cell.executionCount !== null) state.executed += 1;
    const tags = cell.getMetadata('tags') || [];
    for (let j = 0; j < cell.outputs.length; j++) {
      const out = cell.outputs.get(j);
      if (out.type === 'error' && !tags.includes('raises-exception'))
        state.errors.push({cell: i, text: (out.toJSON().traceback || []).join('\\n').slice(-1500)});
      if (out.data['image/png']) state.images += 1;
      if (out.data['application/vnd.jupyter.widget-view+json']) state.widgets += 1;
    }
  }
  return state;
}"""
)

_RENDERED_JS = """() => {
  const imgs = [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output img')];
  return {images: imgs.filter(img => img.complete && img.naturalWidth > 0).length,
          broken: imgs.filter(img => img.complete && img.naturalWidth === 0).length,
          widgets: document.querySelectorAll('.jp-Notebook .jupyter-widgets.widget-container, .jp-Notebook .jupyter-widgets.widget-inline-hbox').length,
          widgetErrors: [...document.querySelectorAll('.jp-Notebook .jupyter-widgets')].filter(w => /Error displaying widget|model not found/i.test(w.textContent)).length};
}"""


def _open(page, url: str, token: str, path: str) -> None:
    """Open the notebook in a workspace of its own (`reset`: nothing restored from an earlier page) and
    wait for its kernel."""
    workspace = Path(path).stem.replace("_", "-")
    page.goto(f"{url}/lab/workspaces/{workspace}/tree/{path}?reset&token={token}")
    page.wait_for_function(
        "(path) => { const p = window.jupyterapp && (" + _PANEL_JS + ")(path);"
        " return p?.content?.model && p.sessionContext?.session?.kernel?.status === 'idle'; }",
        arg=path,
        timeout=180_000,
    )


def _run_all(page, path: str) -> dict:
    page.evaluate(
        "(path) => { const panel = (" + _PANEL_JS + ")(path);"
        " window.jupyterapp.shell.activateById(panel.id);"
        " return window.jupyterapp.commands.execute('notebook:run-all-cells'); }",
        path,
    )
    deadline, calm = time.monotonic() + CELL_BUDGET_S, 0
    while time.monotonic() < deadline:
        time.sleep(2)
        state = page.evaluate(_STATE_JS, path)
        # Done when the kernel has been idle, with no cell waiting, for three looks in a row.
        calm = calm + 1 if state["kernel"] == "idle" and state["busy"] == 0 and state["executed"] else 0
        if calm >= 3:
            return state
    raise AssertionError(f"'Run All' did not finish in {CELL_BUDGET_S} s: {page.evaluate(_STATE_JS, path)}")


def _poke_widgets(page, shots: Path) -> int:
    """Choose another option in each dropdown of the page; count those whose widget redrew a figure."""
    answered = 0
    dropdowns = page.locator(".jp-Notebook .widget-dropdown select")
    for i in range(dropdowns.count()):
        select = dropdowns.nth(i)
        box = select.locator("xpath=ancestor::div[contains(@class, 'widget-vbox')][1]")
        if box.count() == 0:
            continue
        before = box.evaluate("b => [...b.querySelectorAll('img')].map(i => i.src).join('|')")
        options = select.locator("option")
        current = select.evaluate("s => s.selectedIndex")
        select.select_option(index=(current + 1) % options.count())
        try:
            page.wait_for_function(
                "([b, before]) => { const now = [...b.querySelectorAll('img')].map(i => i.src).join('|');"
                " return now && now !== before; }",
                arg=[box.element_handle(), before],
                timeout=60_000,
            )
        except Exception:  # this dropdown redraws no figure (or not in time): try the next one
            continue
        box.scroll_into_view_if_needed()
        box.screenshot(path=str(shots / f"widget-{i}.png"))
        answered += 1
    return answered


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_the_browser(browser, lab, name):
    url, token = lab
    shots = ARTEFACTS / "screenshots" / Path(name).stem
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console_errors = []
    page.on("pageerror", lambda e: console_errors.append(str(e)))
    try:
        path = f"notebooks/{name}"
        _open(page, url, token, path)
        state = _run_all(page, path)
        page.screenshot(path=str(shots / "end.png"))
        page.evaluate("(path) => (" + _PANEL_JS + ")(path).context.save()", path)  # the executed copy, kept
        assert not state["errors"], f"{name}: cells failed in the browser:\n" + "\n\n".join(
            f"cell {e['cell']}:\n{e['text']}" for e in state["errors"]
        )
        assert state["executed"] == state["code"], f"{name}: only {state['executed']} of {state['code']} code cells ran"
        page.wait_for_timeout(1000)  # let the last images decode
        rendered = page.evaluate(_RENDERED_JS)
        assert state["images"] > 0, f"{name} drew no figure"
        assert rendered["broken"] == 0 and rendered["images"] >= state["images"], (
            f"{name}: {state['images']} figures in the notebook, {rendered['images']} shown, {rendered['broken']} broken"
        )
        first_figure = page.locator(".jp-Notebook .jp-OutputArea-output img").first
        first_figure.scroll_into_view_if_needed()
        first_figure.screenshot(path=str(shots / "first-figure.png"))
        if state["widgets"]:
            assert rendered["widgetErrors"] == 0 and rendered["widgets"] > 0, (
                f"{name}: {state['widgets']} widget outputs, {rendered['widgets']} rendered, "
                f"{rendered['widgetErrors']} showing an error"
            )
            if page.locator(".jp-Notebook .widget-dropdown select").count():
                assert _poke_widgets(page, shots) > 0, f"{name}: no widget redrew its figure after a new choice"
        assert not console_errors, f"{name}: JavaScript errors in the page: {console_errors[:3]}"
    finally:
        try:  # free the kernel's memory and cores for the next notebook
            page.evaluate("(path) => (" + _PANEL_JS + ")(path)?.sessionContext.shutdown()", f"notebooks/{name}")
        except Exception:
            pass
        page.close()


def test_slide_decks_step_through(browser, tmp_path):
    from sslcourse.instructor.nbtools import slides

    assert slides.build_slides((), out_dir=tmp_path) == 0
    decks = sorted(tmp_path.glob("[0-9][0-9]_*.html"))
    assert decks, "no slide deck was built"
    shots = ARTEFACTS / "screenshots" / "slides"
    shots.mkdir(parents=True, exist_ok=True)
    for deck in decks:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        problems = []
        page.on("pageerror", lambda e, problems=problems: problems.append(str(e)))
        page.on("requestfailed", lambda r, problems=problems: problems.append(f"could not load {r.url}"))
        try:
            page.goto(deck.as_uri())
            page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=30_000)
            total = page.evaluate("Reveal.getTotalSlides()")
            assert total >= 3, f"{deck.name}: only {total} slides"
            page.wait_for_timeout(1000)
            page.screenshot(path=str(shots / f"{deck.stem}-first.png"))
            seen = set()
            for _ in range(4 * total):  # fragments take key presses too
                indices = page.evaluate("Reveal.getIndices()")
                shown = page.evaluate(
                    "(s => s.innerText.trim().length + s.querySelectorAll('img').length)(Reveal.getCurrentSlide())"
                )
                assert shown, f"{deck.name}: slide {indices} is empty"
                fits = page.evaluate("Reveal.getCurrentSlide().scrollHeight <= Reveal.getConfig().height")
                assert fits, f"{deck.name}: slide {indices} runs off the bottom of the frame"
                seen.add((indices["h"], indices["v"]))
                if page.evaluate("Reveal.isLastSlide() && !Reveal.availableFragments().next"):
                    break
                page.keyboard.press("Space")  # reveal.js: the next fragment or slide, vertical ones included
            page.wait_for_timeout(1000)  # the slide transition
            page.screenshot(path=str(shots / f"{deck.stem}-last.png"))
            assert page.evaluate("Reveal.isLastSlide()"), f"{deck.name}: the keyboard did not reach the last slide"
            assert len(seen) == total, f"{deck.name}: stepped through {len(seen)} of {total} slides"
            assert not problems, f"{deck.name}: {problems[:3]}"
        finally:
            page.close()

"""The Colab badge and setup cell: generated from the one repository-URL setting, and doing on Colab what
they promise (the setup cell runs in a subprocess where sslcourse cannot be imported and pip is faked)."""

import json
import subprocess
import sys
import textwrap

import sslcourse
from sslcourse.instructor import colab, course
from sslcourse.instructor.nbtools.run import kernel_env

# Runs the setup cell with `import sslcourse` failing until the fake pip "installs" it.
HARNESS = textwrap.dedent("""
    import importlib.abc, json, subprocess, sys, types

    class Missing(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "sslcourse" or name.startswith("sslcourse."):
                raise ModuleNotFoundError(f"No module named {name!r}")

    blocker = Missing()
    sys.meta_path.insert(0, blocker)
    calls = []

    def fake_run(args, **kwargs):
        calls.append(args)
        if PIP_FAILS:
            return subprocess.CompletedProcess(args, 1, stdout="", stderr=PIP_FAILS)
        sys.meta_path.remove(blocker)  # "installed"
        return subprocess.CompletedProcess(args, 0, stdout="", stderr="")

    subprocess.run = fake_run
    if ON_COLAB:
        sys.modules["google.colab"] = types.ModuleType("google.colab")
    try:
        exec(SOURCE, {})
        outcome = "ran"
    except (ImportError, RuntimeError) as err:
        outcome = str(err)
    print(json.dumps({"calls": calls, "outcome": outcome}))
""")


def run_setup_cell(on_colab: bool, pip_fails: str = "") -> dict:
    """`pip_fails`: what a failing pip prints on stderr (empty: pip succeeds)."""
    code = f"ON_COLAB = {on_colab}\nPIP_FAILS = {pip_fails!r}\nSOURCE = {colab.setup_cell_source()!r}\n{HARNESS}"
    proc = subprocess.run([sys.executable, "-c", code], env=kernel_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    return {**json.loads(lines[-1]), "printed": "\n".join(lines[:-1])}


def test_on_colab_the_setup_cell_installs_from_the_repository_url_then_picks_the_device():
    result = run_setup_cell(on_colab=True)
    assert result["outcome"] == "ran"
    [call] = result["calls"]
    assert (
        call[1:5] == ["-m", "pip", "install", "--quiet"]
        and call[-1] == f"git+{course.repository_url()}@{colab.release_ref()}"
    )
    assert "sslcourse: computing on cpu" in result["printed"]  # SSLCOURSE_DEVICE=cpu, as in tests


def test_the_setup_cell_pins_the_release_and_shows_pips_error_when_the_install_fails():
    assert colab.release_ref() == f"v{sslcourse.__version__}"
    result = run_setup_cell(on_colab=True, pip_fails="ERROR: Could not find a version that satisfies")
    assert "pip could not install" in result["outcome"] and "@v" in result["outcome"]
    assert "Could not find a version" in result["printed"]  # pip's own words, not just "failed"
    assert "pip's messages above say why" in result["outcome"] and "network" not in result["outcome"]


def test_an_install_failure_says_what_failed():
    """Not "is the runtime online?" for every failure: a missing release, a missing repository and a missing
    network each say so (from what pip and git print), and anything else points at pip's own words."""
    ref = colab.release_ref()
    said = {
        f"WARNING: Did not find branch or tag '{ref}', assuming revision or ref.\nerror: pathspec '{ref}' did "
        "not match any file(s) known to git": f"the release {ref} is not in that repository",
        "remote: Repository not found.\nfatal: repository 'https://github.com/x/y/' not found": "does not exist or is not public",
        "fatal: unable to access 'https://github.com/x/y/': Could not resolve host: github.com": "reached no network",
    }
    for stderr, expected in said.items():
        outcome = run_setup_cell(on_colab=True, pip_fails=stderr)["outcome"]
        assert expected in outcome and "pip could not install" in outcome, outcome


def test_badge_and_install_cell_name_the_same_release():
    """Every course notebook (and its student version) opens from, and installs, the one release tag; so do the
    README's badges, which open the student versions."""
    import re

    from sslcourse.instructor.nbtools import pairs

    ref = colab.release_ref()
    for pair in pairs.find_pairs():
        for folder in ("notebooks", "notebooks/student"):
            nb = pairs.build(pair, folder=folder)
            badge = next(c.source for c in nb.cells if colab.BADGE_TAG in c.metadata.get("tags", []))
            setup = next(c.source for c in nb.cells if colab.SETUP_TAG in c.metadata.get("tags", []))
            assert re.findall(r"/blob/([^/]+)/", badge) == [ref] and f"/{folder}/{pair.stem}.ipynb" in badge
            assert re.findall(r'git\+\S+@([^"\s]+)"', setup) == [ref], setup
    readme = (course.ROOT / "README.md").read_text()
    links = re.findall(r"colab\.research\.google\.com/github/\S+?/blob/([^/]+)/(\S+?)\.ipynb", readme)
    assert links and all(r == ref and folder.startswith("notebooks/student/") for r, folder in links), links


def test_elsewhere_a_missing_sslcourse_is_explained_not_installed():
    result = run_setup_cell(on_colab=False)
    assert result["calls"] == [] and "scripts/setup.sh" in result["outcome"]


def test_the_url_lives_in_one_place(monkeypatch):
    ref = colab.release_ref()
    assert f'"git+{course.repository_url()}@{ref}"' in colab.setup_cell_source()
    monkeypatch.setattr(course, "repository_url", lambda: "https://github.com/someone/fork")
    assert f'"git+https://github.com/someone/fork@{ref}"' in colab.setup_cell_source()
    assert f"github/someone/fork/blob/{ref}/notebooks/student/00_x.ipynb" in colab.badge_cell_source(
        "00_x", "notebooks/student"
    )
    compile(colab.setup_cell_source(), "setup cell", "exec")


def test_ensure_colab_cells_inserts_then_refreshes():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("x = 1")])
    assert colab.ensure_colab_cells(nb, "00_x") == ["added the colab-badge cell", "added the colab-setup cell"]
    assert [c.source.split("\n")[0][:20] for c in nb.cells][1] == "# Title"
    assert nb.cells[0].metadata["tags"] == [colab.BADGE_TAG] and nb.cells[2].metadata["tags"] == [colab.SETUP_TAG]
    nb.cells[2].source = "# an old setup cell"
    assert colab.ensure_colab_cells(nb, "00_x") == ["refreshed the colab-setup cell"]
    assert colab.ensure_colab_cells(nb, "00_x") == [] and len(nb.cells) == 4


def test_widget_code_that_differs_between_ipywidgets_7_and_8_is_reported():
    source = 'w.observe(on_change)\nw.observe(on_change, names="value")\nwidgets.TagsInput(value=[])\n'
    problems = colab.widget_problems(source)
    assert len(problems) == 2 and "ipywidgets 8 only" in problems[0] and "names=" in problems[1]
    assert colab.widget_problems('out = widgets.Output()\nw.observe(f, names="value")\n') == []


# --------------------------------------------------------------------------- the release step
def _repo(tmp_path, version=sslcourse.__version__):
    """A scratch course checkout (no notebooks yet) with one commit."""
    root = tmp_path / "course"
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text(f'[project]\nname = "sslcourse"\nversion = "{version}"\n')
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    return root, git


def test_release_makes_the_tag_the_notebooks_name_and_checks_it(tmp_path, capsys):
    from sslcourse.instructor import release

    root, git = _repo(tmp_path)
    ref = colab.release_ref()
    assert release.release(root, create=False) == 1 and "no such tag yet" in capsys.readouterr().out
    assert release.release(root) == 0
    out = capsys.readouterr().out
    assert f"git push origin {ref}" in out
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    tagged = subprocess.run([*git, "rev-parse", f"{ref}^{{commit}}"], capture_output=True, text=True).stdout.strip()
    assert tagged == head
    assert release.release(root, create=False) == 0  # checked again: it names this commit
    (root / "notes.txt").write_text("later work")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "second"], check=True)
    assert release.release(root) == 1 and "raise the version" in capsys.readouterr().out  # never moved silently


def test_release_refuses_a_dirty_tree_and_a_version_mismatch(tmp_path, capsys):
    from sslcourse.instructor import release

    root, git = _repo(tmp_path, version="9.9.9")
    assert release.release(root) == 1 and "version (9.9.9) is not the package's" in capsys.readouterr().out
    (root / "pyproject.toml").write_text(f'[project]\nname = "sslcourse"\nversion = "{sslcourse.__version__}"\n')
    assert release.release(root) == 1 and "uncommitted changes" in capsys.readouterr().out
    tags = subprocess.run([*git, "tag"], capture_output=True, text=True).stdout
    assert tags == ""

"""Slides: a deck from the cells tagged for slides, self-contained and offline, and rendered by reveal.js
when a headless Chromium is there to open it."""

import base64
import re
import shutil
import subprocess

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from sslcourse.instructor import course
from sslcourse.instructor.nbtools import run, slides
from sslcourse.instructor.nbtools.lead import WORD_BUDGET, lead
from sslcourse.instructor.nbtools.prose import shorten, words

PIXEL = base64.b64encode(
    bytes.fromhex(  # a 1x1 PNG
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f3e1a70000000049454e44ae426082"
    )
).decode()


def slide(kind):
    return {"slideshow": {"slide_type": kind}}


def demo_notebook():
    plot = new_code_cell(
        "plot()",
        metadata=slide("fragment"),
        outputs=[new_output("display_data", data={"image/png": PIXEL, "text/plain": "<Figure>"})],
    )
    return new_notebook(
        cells=[
            new_markdown_cell("[![Open In Colab](badge.svg)](link)", metadata={"tags": ["colab-badge"]}),
            new_markdown_cell("# The demo deck\n\nFirst slide, see https://revealjs.com", metadata=slide("slide")),
            new_code_cell(
                "print(1 + 1)",
                metadata=slide("-"),
                outputs=[new_output("stream", name="stdout", text="2 <-- printed\n")],
            ),
            new_markdown_cell("Not for the slides.", metadata=slide("skip")),
            new_markdown_cell("Untagged: not for the slides either."),
            new_markdown_cell("## Second slide", metadata=slide("slide")),
            plot,
            new_markdown_cell("Say this out loud.", metadata=slide("notes")),
            new_markdown_cell("### Below the second", metadata=slide("subslide")),
            new_code_cell(
                "secret_setup()",
                metadata={**slide("-"), "tags": ["hide-input"]},
                outputs=[new_output("stream", name="stdout", text="only the output\n")],
            ),
            new_code_cell(
                "display(Markdown(table))",
                metadata={**slide("-"), "tags": ["hide-input"]},
                outputs=[
                    new_output(
                        "display_data",
                        data={
                            "text/markdown": "| a |\n|---|\n| **b** |",
                            "text/plain": "<IPython.core.display.Markdown object>",
                        },
                    )
                ],
            ),
        ]
    )


@pytest.fixture
def deck(tmp_path):
    nbformat.write(demo_notebook(), tmp_path / "07_demo.ipynb")
    return slides.build_deck(tmp_path / "07_demo.ipynb", tmp_path / "slides")


def test_the_deck_has_a_section_per_tagged_slide(deck):
    page = deck.read_text()
    assert "<title>The demo deck</title>" in page
    top = re.findall(r"^<section>\n<section>", page, re.M)
    assert len(top) == 2 and page.count("<section>") == 5  # 2 horizontal, 3 vertical inside them
    assert '<div class="fragment">' in page and '<aside class="notes"><p>Say this out loud.</p>' in page
    assert "2 &lt;-- printed" in page and f"data:image/png;base64,{PIXEL}" in page
    assert "only the output" in page and "secret_setup" not in page
    assert "<strong>b</strong>" in page and "Markdown object" not in page  # Markdown outputs rendered
    for absent in ("Not for the slides", "Untagged", "Open In Colab"):
        assert absent not in page


def test_the_deck_works_offline(deck):
    page = deck.read_text()
    sources = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', page)
    assert sources and not [s for s in sources if "://" in s or s.startswith("//")]
    for src in sources:
        assert (deck.parent / src).is_file(), src
    assert "https://revealjs.com" in page  # links in the text stay links
    assert "reveal.js 5" in (deck.parent / "reveal.js" / "dist" / "reveal.js").read_text()[:200]


def test_the_vendored_reveal_is_small_and_fetches_nothing():
    files = [p for p in slides.VENDOR.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 1_000_000
    for p in files:
        if p.suffix in (".css", ".js"):
            text = p.read_text()
            assert "@import url(http" not in text and "sourceMappingURL" not in text, p


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium here (apt-get install chromium to run this)")
def test_reveal_renders_the_deck_in_a_browser(deck):
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=5000",
            "--dump-dom",
            deck.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = proc.stdout
    reveal = re.search(r'<div class="(reveal [^"]*)"', dom)
    assert reveal and "ready" in reveal.group(1).split(), dom[:2000]
    assert len(re.findall(r"<section\b", dom)) >= 5
    assert re.search(r'<section[^>]*class="[^"]*present', dom)  # reveal chose the slide it shows


def test_slides_command_builds_every_executed_notebook(tmp_path, capsys):
    (tmp_path / "notebooks").mkdir()
    assert slides.build_slides(root=tmp_path) == 0 and "no slides to build" in capsys.readouterr().out
    nbformat.write(demo_notebook(), tmp_path / "notebooks" / "07_demo.ipynb")
    assert slides.build_slides(root=tmp_path) == 0
    assert (tmp_path / "slides" / "07_demo.html").is_file()
    assert (tmp_path / "slides" / "reveal.js" / "plugin" / "notes" / "notes.js").is_file()


def test_the_course_command_builds_slides_after_executing(tmp_path, monkeypatch):
    executed = tmp_path / "executed"
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Run me", metadata=slide("slide")),
            new_code_cell("print(6 * 7)", metadata=slide("-")),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "07_run.ipynb")
    monkeypatch.setattr(course, "ROOT", tmp_path)
    monkeypatch.setattr(course, "course_notebooks", lambda root=tmp_path: [tmp_path / "notebooks" / "07_run.ipynb"])
    assert run.run_course(out_dir=executed, timeout=60) == 0
    assert '<pre class="output">42\n</pre>' in (tmp_path / "slides" / "07_run.html").read_text()


def test_slides_folder_holds_only_its_readme_in_git():
    root = course.ROOT
    assert (root / "slides" / "README.md").is_file()
    ignored = subprocess.run(["git", "check-ignore", "-q", "slides/00_gelato_bet.html"], cwd=root)
    kept = subprocess.run(["git", "check-ignore", "-q", "slides/README.md"], cwd=root)
    assert ignored.returncode == 0 and kept.returncode == 1


# What a slide keeps of a markdown cell ------------------------------------------------------------------


def test_words_are_what_the_audience_reads():
    assert words("R-CNN reaches 54.2 mAP") == 3  # a number is no word; a name with a letter is
    assert words("Write `knn_classify(x, k)` with $k = 20$ neighbours") == 3  # nor is code or math
    assert words("$$\\text{gap} = \\frac{a}{b}$$ **bold** [a link](https://x.org/long/path)") == 3


def test_a_text_is_cut_at_a_clause_never_inside_parentheses_code_or_emphasis():
    item = "A representation is judged by what simple probes read off it: kNN, a linear layer, or fine-tuning."
    assert shorten(item, 12, ("clause", "paren")) == "A representation is judged by what simple probes read off it"
    assert shorten(item, 12) == "A representation is judged by what simple probes read off it: kNN"  # the longest
    assert shorten("**Efros loses; Malik keeps his gelato.**", 3) == "**Efros loses**"  # the emphasis closed
    aside = "the backbone (our ResNet-18: the same weights for both, so one representation) reads each patch"
    assert shorten(aside, 5) == "the backbone"  # not "the backbone (our ResNet-18"
    assert shorten("Write `f(a, b; c)` now, then test it against the reference", 4) == "Write `f(a, b; c)` now"
    assert shorten("no clause here to cut at whatsoever", 4) == "no clause here to…"  # else after a few words
    assert shorten("Short enough.", 10) == "Short enough."


def test_the_lead_keeps_the_heading_and_the_first_clause_of_each_item():
    md = """## What to remember

- A representation is judged by what simple probes can read off it: kNN, a linear layer, or a short
  fine-tuning on few labels.
- Random features are the floor, features trained with every label the ceiling. The gelato bet asked
  whether anything without labels could reach the ceiling.
- Next: **context prediction** (notebook 01), the first answer, and the shortcuts a network finds
  when a task can be solved without understanding the image.
"""
    (short,) = lead(md)
    assert words(short) <= WORD_BUDGET < words(md)
    assert short.splitlines()[0] == "## What to remember"
    assert "- A representation is judged by what simple probes can read off it" in short.splitlines()
    assert "- Random features are the floor, features trained with every label the ceiling." in short.splitlines()
    assert "- Next: **context prediction**" in short
    assert lead("## Short\n\nAll of it fits.") == ["## Short\n\nAll of it fits."]


def test_a_long_paragraph_keeps_its_first_sentence():
    md = "## The data\n\n" + "CIFAR-10 has sixty thousand small photographs in ten classes. " + "More detail. " * 40
    (short,) = lead(md, budget=20)
    assert short == "## The data\n\nCIFAR-10 has sixty thousand small photographs in ten classes."


def test_a_long_table_goes_on_over_several_slides():
    rows = "\n".join(
        f"| method {n} | a long claim about this method, with details | **verdict {n}** |" for n in range(20)
    )
    md = f"## Findings\n\n| | claim | verdict |\n|---|---|---|\n{rows}"
    pages = lead(md, budget=40, later=30)
    assert len(pages) > 1 and words(pages[0]) <= 40 and all(words(p) <= 30 for p in pages[1:])
    assert all(p.count("\n|---") == 1 and "| claim | verdict |" in p for p in pages)  # the header on each
    assert "a long claim about this method |" in pages[1]  # cells cut at a comma, so that rows stay short
    shown = " ".join(pages)
    assert all(f"method {n} |" in shown for n in range(20))  # every row, once
    assert sum(p.count("| method ") for p in pages) == 20

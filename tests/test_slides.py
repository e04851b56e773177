"""Slides: a deck from the cells tagged for slides, self-contained and offline, and rendered by reveal.js
when a headless Chromium is there to open it; slides a lecturer can teach from (at most WORD_BUDGET words
each, the full text in the speaker notes, the figures on slides), checked on the course's own notebooks."""

import base64
import re
import shutil
import subprocess
from html.parser import HTMLParser

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from sslcourse.instructor import course
from sslcourse.instructor.nbtools import deck as slide_deck
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
    assert '<aside class="notes"><p>Say this out loud.</p>' in page
    assert f'<img class="r-stretch fragment" src="data:image/png;base64,{PIXEL}"' in page  # the figure leads
    assert "2 &lt;-- printed" in page and "only the output" in page and "secret_setup" not in page
    assert "<strong>b</strong>" in page and "Markdown object" not in page  # Markdown outputs rendered
    for absent in ("Not for the slides", "Open In Colab"):
        assert absent not in page
    first = _slides(page)[0]  # an untagged cell of a section speaks in its notes, not on its slide
    assert "Untagged" in first.notes and "Untagged" not in first.shown


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


def test_the_course_command_builds_slides_after_executing(tmp_path, monkeypatch, capsys):
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
    printed = capsys.readouterr().out
    assert printed.index("[1/1] running 07_run.ipynb") < printed.index("07_run.ipynb  ")  # said before it ran


def test_slides_folder_holds_only_its_readme_in_git():
    root = course.ROOT
    assert (root / "slides" / "README.md").is_file()
    ignored = subprocess.run(["git", "check-ignore", "-q", "slides/00_gelato_bet.html"], cwd=root)
    kept = subprocess.run(["git", "check-ignore", "-q", "slides/README.md"], cwd=root)
    assert ignored.returncode == 0 and kept.returncode == 1


# Slides a lecturer can teach from -------------------------------------------------------------------------


class _Slide(HTMLParser):
    """What one slide of a built deck shows, and its speaker notes: a reader of the HTML independent of the
    builder's own word count. Code (highlighted sources, inline code) and formulas (MathML) are not read;
    printed output is."""

    def __init__(self, section: str):
        super().__init__(convert_charrefs=True)
        self.shown, self.notes, self.heading = "", "", ""
        self._open: list[tuple[str, str]] = []  # (tag, what its text is: shown, notes, unread)
        self.feed(section)
        self.close()

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        where = self._open[-1][1] if self._open else "shown"
        if tag == "aside" and "notes" in cls:
            where = "notes"
        elif where == "shown" and (tag in ("code", "math", "script", "style") or "highlight" in cls):
            where = "unread"
        elif where == "shown" and tag == "pre" and "output" not in cls:
            where = "unread"
        if tag not in ("img", "br", "hr", "meta", "link", "input"):
            self._open.append((tag, where))

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        where = self._open[-1][1] if self._open else "shown"
        if where == "shown":
            self.shown += " " + data
            if any(t in ("h1", "h2", "h3", "h4") for t, _ in self._open) and not self.heading:
                self.heading = " ".join(data.split())
        elif where == "notes":
            self.notes += " " + data

    def words(self) -> int:
        """Words read off the slide: tokens with a letter, once math ($...$, $$...$$) is taken out."""
        text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", " ", self.shown, flags=re.S)
        return sum(1 for token in text.split() if re.search(r"[^\W\d_]", token))


def _sections(page: str) -> list[str]:
    """The innermost <section>s of a deck, in order: one a slide."""
    return re.findall(r"<section>\n(?!<section>)(.*?)\n</section>", page, flags=re.S)


def _slides(page: str) -> list[_Slide]:
    return [_Slide(s) for s in _sections(page)]


def _squeezed(text: str) -> str:
    return " ".join(text.split())


COURSE = sorted(p.name for p in (course.ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_the_course_notebooks_are_there_to_be_checked():
    assert len(COURSE) >= 6, f"executed notebooks in {course.ROOT / 'notebooks'}: {COURSE}"


@pytest.fixture(scope="module")
def course_decks():
    """The decks of the course's notebooks, built from their stored outputs: name -> (notebook, page)."""
    decks = {}
    for name in COURSE:
        nb = nbformat.read(course.ROOT / "notebooks" / name, as_version=4)
        decks[name] = nb, slides.deck_html(nb, name)
    return decks


@pytest.mark.parametrize("name", COURSE)
def test_every_slide_of_the_course_keeps_to_the_word_budget(course_decks, name):
    _, page = course_decks[name]
    shown = _slides(page)
    assert len(shown) >= 5, f"{name}: only {len(shown)} slides"
    over = [
        f"{name}: slide {n + 1} '{s.heading or '(no heading)'}' shows {s.words()} words"
        for n, s in enumerate(shown)
        if s.words() > WORD_BUDGET
    ]
    assert not over, f"more than {WORD_BUDGET} words on a slide:\n" + "\n".join(over)
    empty = [
        n + 1 for n, (s, section) in enumerate(zip(shown, _sections(page))) if not s.words() and "<img" not in section
    ]
    assert not empty, f"{name}: slides {empty} show nothing"


def _tagged(nb) -> list:
    return [
        c
        for c in nb.cells
        if c.cell_type == "markdown"
        and c.get("metadata", {}).get("slideshow", {}).get("slide_type") not in (None, "skip")
    ]


@pytest.mark.parametrize("name", COURSE)
def test_no_slide_of_the_course_ends_in_a_colon(course_decks, name):
    """A colon announces what follows: a formula, list, table, code or figure may; the end of a slide may not."""
    _, page = course_decks[name]
    dangling = []
    for n, section in enumerate(_sections(page)):
        shown = re.sub(r'<aside class="notes">.*?</aside>', " ", section, flags=re.S)
        shown = re.sub(
            r"<(math|table|ul|ol|pre)\b.*?</\1>|<img\b[^>]*>|<div class=\"highlight\">", " [shown] ", shown, flags=re.S
        )
        text = " ".join(re.sub(r"<[^>]+>", " ", shown).split())
        if text.endswith(":"):
            dangling.append(f"slide {n + 1}: ...{text[-80:]}")
    assert not dangling, f"{name}: a slide ends in a colon, announcing what it does not show:\n" + "\n".join(dangling)


@pytest.mark.parametrize("stem", [p.removesuffix(".ipynb") for p in COURSE if p[:2] in ("01", "02", "03", "04")])
def test_the_bet_so_far_shows_the_scoreboard(stem):
    """The notebooks' sources (not their stored outputs): the bet-so-far slide draws the scoreboard."""
    import jupytext

    cells = jupytext.read(course.ROOT / "notebooks" / f"{stem}.py").cells
    at = next(i for i, c in enumerate(cells) if c.cell_type == "markdown" and "### The bet so far" in c.source)
    assert cells[at].metadata.get("slideshow", {}).get("slide_type") == "slide"
    after = cells[at + 1]
    assert after.cell_type == "code" and "scoreboard.plot(" in after.source and "plt.show()" in after.source


# The notebooks whose slides show no cut text (issue 28 mended 01 to 04): a new notebook joins once it shows none.
UNCUT = ("00_gelato_bet", "01_context", "02_colorization", "03_simclr", "04_mae", "05_bet_resolved")


@pytest.mark.parametrize("stem", UNCUT)
def test_no_slide_shows_a_cut_sentence(stem):
    """The notebooks' sources (a slide's text needs no outputs): no slide shows a sentence or list item cut
    after its first words, nor a list cut short (the lead's ellipsis): the message of a slide is whole."""
    import jupytext

    page = slides.deck_html(jupytext.read(course.ROOT / "notebooks" / f"{stem}.py"), stem)
    cut = [
        f"slide {n + 1} '{s.heading}': ...{_squeezed(s.shown)[-100:]}"
        for n, s in enumerate(_slides(page))
        if "…" in s.shown
    ]
    assert not cut, f"{stem}: a slide shows a cut sentence; write its first clause as the message:\n" + "\n".join(cut)


def test_a_cut_sentence_is_seen():
    """The check above reads the ellipsis the lead puts where it cuts a text after its first words."""
    item = "- " + " ".join(f"word{n}" for n in range(30)) + "\n"
    page = slides.deck_html(_notebook(new_markdown_cell("## Cut\n\n" + item * 3, metadata=slide("slide"))), "t")
    assert any("…" in s.shown for s in _slides(page))


def test_a_formula_costs_words_of_the_lead():
    items = "".join(f"- item {i} says several words about the method, then more of them\n" for i in range(6))
    formula = "\n$$a = b$$\n"
    plain, with_formula = lead("## A slide\n\n" + items)[0], lead("## A slide\n\n" + items + formula)[0]
    assert "$$a = b$$" in with_formula
    assert words(with_formula) < words(plain) <= WORD_BUDGET


@pytest.mark.parametrize("name", COURSE)
def test_the_notes_keep_the_full_text_of_every_slide_cell(course_decks, name):
    nb, page = course_decks[name]
    shown = _slides(page)
    notes = _squeezed(" ".join(s.notes for s in shown))
    on_slides = _squeezed(" ".join(s.shown for s in shown))
    cells = _tagged(nb)
    assert cells, f"{name} has no markdown cell tagged for slides"
    shortened = 0
    for cell in cells:
        rendered = slide_deck._markdown(cell.source)
        full, read = (
            _squeezed(_Slide(f'<aside class="notes">{rendered}</aside>').notes),
            _squeezed(_Slide(rendered).shown),
        )
        assert full in notes or read in on_slides, f"{name}: the text of a slide cell is lost: {full[:200]}"
        shortened += read not in on_slides
    assert shortened, f"{name}: no cell was shortened for its slide; is the lead still working?"


@pytest.mark.parametrize("name", COURSE)
def test_every_figure_of_the_slide_sections_is_on_a_slide(course_decks, name):
    nb, page = course_decks[name]
    started, figures = False, []
    for cell in nb.cells:
        kind = cell.get("metadata", {}).get("slideshow", {}).get("slide_type")
        started = started or kind not in (None, "skip")
        if started and cell.cell_type == "code" and kind != "skip":
            figures += [
                o.data["image/png"].strip() for o in cell.get("outputs", []) if "image/png" in o.get("data", {})
            ]
    assert figures, f"{name} has no figure after its first slide"
    for n, figure in enumerate(figures):
        assert f'class="r-stretch" src="data:image/png;base64,{figure}"' in page, f"{name}: figure {n + 1} missing"
    one_each = [s for s in _sections(page) if s.count("<img") > 1]
    assert not one_each, f"{name}: a slide with {one_each[0].count('<img')} figures"


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


def _notebook(*cells):
    return new_notebook(cells=list(cells))


def _figure_cell(source, metadata=None, text=None):
    outputs = [new_output("display_data", data={"image/png": PIXEL, "text/plain": "<Figure>"})]
    if text:
        outputs.insert(0, new_output("stream", name="stdout", text=text))
    return new_code_cell(source, metadata=metadata or {}, outputs=outputs)


def test_a_long_cell_is_cut_on_its_slide_and_whole_in_its_notes():
    long_text = "## A section\n\n" + " ".join(f"Sentence number {n} says one more thing." for n in range(30))
    page = slides.deck_html(_notebook(new_markdown_cell(long_text, metadata=slide("slide"))), "t")
    (only,) = _slides(page)
    assert only.heading == "A section" and 0 < only.words() <= WORD_BUDGET
    assert "Sentence number 29 says one more thing." in only.notes and "number 29" not in only.shown


def test_the_figures_of_a_section_get_slides_and_its_prose_goes_to_the_notes():
    long_text = (
        "## A section\n\n"
        + "This slide already says a good deal, in twenty words or more, before the figures come. " * 2
    )
    nb = _notebook(
        new_markdown_cell(long_text, metadata=slide("slide")),
        _figure_cell("plot_a()", text="the numbers behind the figure\n"),
        new_markdown_cell("Read the figure from left to right."),
        _figure_cell("plot_skipped()", metadata=slide("skip")),
        new_markdown_cell("## Short", metadata=slide("slide")),
        _figure_cell("plot_b()"),
    )
    page = slides.deck_html(nb, "t")
    shown = _slides(page)
    assert [s.heading for s in shown] == ["A section", "A section", "Short"]
    text, figure, short = _sections(page)
    assert "<img" not in text and figure.count("<img") == 1 and short.count("<img") == 1  # leads the short one
    assert 'class="context"' in figure  # the section's heading, small, over its figure
    assert "the numbers behind the figure" in shown[1].notes and "left to right" in shown[1].notes
    assert page.count("<img") == 2  # the skipped cell's figure is not there


def test_a_long_output_goes_to_the_notes():
    printed = "".join(f"row {n}: a line of a long table\n" for n in range(20))
    nb = _notebook(
        new_markdown_cell("## Results", metadata=slide("slide")),
        new_code_cell(
            "print(table)",
            metadata={**slide("subslide"), "tags": ["hide-input"]},
            outputs=[new_output("stream", name="stdout", text=printed)],
        ),
    )
    _, output = _slides(slides.deck_html(nb, "t"))
    assert "row 19" in output.notes and "row 19" not in output.shown
    assert "row 0" in output.shown and "the rest in the notes" in output.shown and output.words() <= WORD_BUDGET


def test_formulas_are_drawn_as_mathml_and_cost_no_words():
    from sslcourse.instructor.nbtools import deck

    page = deck._markdown("The loss $\\ell_i$ of `$OUT` is\n\n$$\\frac{a^\\top a}{a\\,a^\\top}$$\n\nwith a < b.")
    assert page.count("<math") == 2 and 'display="block"' in page and 'display="inline"' in page
    assert "<code>$OUT</code>" in page  # never inside code
    assert "\\frac" not in page and "a &lt; b" in page
    assert deck.visible_words(page) == deck.visible_words(deck._markdown("The loss of `$OUT` is\n\nwith a < b."))
    assert "<code>\\left( x</code>" in deck._markdown("$\\left( x$")  # unreadable TeX is kept, visibly

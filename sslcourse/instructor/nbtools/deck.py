"""The slides of a notebook: which cells make which slides, what a slide shows and what its notes keep.

A cell is on the slides when its metadata says `slideshow: {slide_type: ...}` (jupytext:
`# %% [markdown] slideshow={"slide_type": "slide"}`): `slide` starts a new slide, `subslide` a new
vertical one under it, `fragment` appears on the next key press, `-` continues the current slide,
`notes` becomes speaker notes (press S); `skip` cells are left out. The notebooks stay written for
students; the decks are derived from them:

- a markdown cell shows its lead (lead.py: headings, lists cut to their first clause, first sentences,
  at most WORD_BUDGET visible words on a slide), and its full text goes to the slide's speaker notes;
- the untagged cells after a tagged one belong to its section, up to the next tagged cell: their
  figures go on slides (a slide of their own under the section's, titled by the section's latest
  heading, unless the current slide holds little text: then the figure leads it), their markdown and
  the printed text of their figure cells go to the notes; tag a cell `skip` to leave it out;
- a code cell tagged `hide-input` shows only its outputs; a code cell's text output is shown when short
  (SHORT_OUTPUT lines, within the budget), else goes to the notes; markdown outputs (a table of findings)
  are cut like markdown cells.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from sslcourse.instructor.nbtools.lead import WORD_BUDGET, lead
from sslcourse.instructor.nbtools.prose import words

SHORT_OUTPUT = 6  # lines of printed output a slide shows; longer ones go to the notes
LONG_CODE = 15  # lines of code a slide shows; longer code goes to the notes
LEADING_FIGURE = 25  # a slide with at most this many words (a heading and a sentence) takes a figure in; else its own


_CODE = re.compile(r"(<pre\b.*?</pre>|<code\b.*?</code>)", re.S)  # never math inside code
_MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)  # display first, then inline


def _mathml(match: re.Match) -> str:
    """One TeX formula as MathML, which browsers render offline (no MathJax to load). latex2mathml is a small
    pure-Python converter; a formula it cannot read stays visible as its TeX, in code type."""
    display, inline = match.groups()
    tex = html.unescape(display if display is not None else inline)
    try:
        from latex2mathml.converter import convert

        return convert(tex, display="block" if display is not None else "inline")
    except Exception:  # an unsupported command: show the source rather than lose the formula
        return f"<code>{html.escape(tex)}</code>"


def math_to_mathml(rendered: str) -> str:
    """Every $...$ and $$...$$ of rendered markdown as MathML, outside code."""
    parts = _CODE.split(rendered)
    return "".join(part if i % 2 else _MATH.sub(_mathml, part) for i, part in enumerate(parts))


def _markdown(source: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    rendered = markdown2html_mistune(source)
    rendered = re.sub(r'<a class="anchor-link"[^>]*>.*?</a>', "", rendered)  # the pilcrows of headings
    return math_to_mathml(rendered)


def _code(source: str) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return highlight(source, PythonLexer(), HtmlFormatter())


_UNSEEN = re.compile(
    r'<aside class="notes">.*?</aside>|<div class="highlight">.*?</div>|<pre(?! class="output")[^>]*>.*?</pre>'
    r"|<code>.*?</code>|<math\b.*?</math>|<(script|style)\b.*?</\1>",
    re.S,
)


def visible_words(page: str) -> int:
    """Words an audience reads in a piece of a deck: text outside the notes, code and math (prose.words)."""
    return words(html.unescape(re.sub(r"<[^>]+>", " ", _UNSEEN.sub(" ", page))))


@dataclass
class _Slide:
    """One slide: what it shows, its speaker notes, and the heading of its section, shown small when the
    slide has no heading of its own (a figure under its section's slide)."""

    shown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    context: str = ""

    def body(self) -> str:
        body = "\n".join(self.shown)
        if self.context and not re.match(r"\s*<h[1-6]", body):
            body = f'<h3 class="context">{self.context}</h3>\n' + body
        return body

    def words(self) -> int:
        return visible_words(self.body())

    def html(self) -> str:
        notes = "\n".join(self.notes)
        return self.body() + (f'\n<aside class="notes">{notes}</aside>' if notes else "")


class Deck:
    """The slides of a notebook, as stacks of vertical slides: `add` its cells in order, then `html`."""

    def __init__(self):
        self.stacks: list[list[_Slide]] = []
        self.heading = ""  # the current section's heading, as inline HTML

    @property
    def slide(self) -> _Slide:
        return self.stacks[-1][-1]

    def new(self, kind: str) -> _Slide:
        if kind == "slide" or not self.stacks:
            self.stacks.append([_Slide()])
        else:
            self.stacks[-1].append(_Slide(context=self.heading))
        return self.slide

    def add(self, cell) -> None:
        kind = cell.get("metadata", {}).get("slideshow", {}).get("slide_type")
        if kind == "skip" or (kind is None and not self.stacks):  # nothing before the first slide
            return
        if kind is None:  # an untagged cell of the section: figures on slides, text to the notes
            if cell.cell_type == "markdown":
                self.slide.notes.append(_markdown(cell.source))
                self.section(cell.source)
            elif cell.cell_type == "code":
                self.figures(cell, fragment=False, notes_too=True)
            return
        if kind in ("slide", "subslide") or not self.stacks:
            self.new(kind)
        if kind == "notes":
            self.slide.notes.append(_markdown(cell.source) if cell.cell_type == "markdown" else _code(cell.source))
        elif cell.cell_type == "markdown":
            self.markdown(cell.source, fragment=kind == "fragment")
        elif cell.cell_type == "code":
            self.code(cell, fragment=kind == "fragment")

    def section(self, source: str) -> bool:
        """Take the last heading of a markdown text as the section's (for the figures after it)."""
        headings = re.findall(r"^#{1,6}\s+(.+)$", source, flags=re.M)
        if headings:
            self.heading = re.sub(r"^<h4[^>]*>|</h4>$", "", _markdown("#### " + headings[-1]).strip())
        return bool(headings)

    def markdown(self, source: str, fragment: bool = False) -> None:
        heading = self.section(source)
        if self.slide.shown and self.slide.words() > WORD_BUDGET - 12:  # no room left: a slide under it
            self.new("subslide")
        if heading:  # its own heading replaces the section's
            self.slide.context = ""
        context = visible_words(self.heading)
        first, *more = lead(source, WORD_BUDGET - self.slide.words(), later=WORD_BUDGET - context)
        self.show(_markdown(first), fragment)
        if first.split() != source.split():
            self.slide.notes.append(_markdown(source))
        for page in more:  # a long table, continued
            self.new("subslide")
            self.show(_markdown(page), fragment)

    def show(self, block: str, fragment: bool) -> None:
        self.slide.shown.append(f'<div class="fragment">{block}</div>' if fragment else block)

    def code(self, cell, fragment: bool) -> None:
        if "hide-input" not in cell.metadata.get("tags", []):
            if cell.source.count("\n") < LONG_CODE:
                self.show(_code(cell.source), fragment)
            else:
                self.slide.notes.append(_code(cell.source))
        self.figures(cell, fragment, notes_too=False)
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" in data or "image/jpeg" in data or "application/vnd.jupyter.widget-view+json" in data:
                continue
            if "text/markdown" in data:
                self.markdown(data["text/markdown"], fragment)
            elif "text/html" in data and "<script" not in data["text/html"]:
                self.output(data["text/html"], fragment)
            elif out.output_type == "stream" or "text/plain" in data:
                text = out.text if out.output_type == "stream" else data["text/plain"]
                self.output(f'<pre class="output">{html.escape(text)}</pre>', fragment, lines=text.count("\n"))

    def output(self, block: str, fragment: bool, lines: int = 0) -> None:
        """A text output: on the slide when short, else in the notes (and its start on a slide that has
        nothing else to show)."""
        if lines <= SHORT_OUTPUT and self.slide.words() + visible_words(block) <= WORD_BUDGET:
            self.show(block, fragment)
            return
        self.slide.notes.append(block)
        if not self.slide.shown and block.startswith("<pre"):
            start = "\n".join(html.unescape(re.sub(r"<[^>]+>", "", block)).splitlines()[:3])
            self.show(f'<pre class="output">{html.escape(start)}\n… (the rest in the notes)</pre>', fragment)

    def figures(self, cell, fragment: bool, notes_too: bool) -> None:
        """Each image output on a slide: the current one when it holds little text and no figure, else one
        of its own under it; with `notes_too`, the cell's printed text goes to the last figure's notes."""
        images = []
        for out in cell.get("outputs", []):
            mime = next((m for m in ("image/png", "image/jpeg") if m in out.get("data", {})), None)
            if mime:
                source = f"data:{mime};base64,{out['data'][mime].strip()}"
                images.append(f'<img class="r-stretch{" fragment" if fragment else ""}" src="{source}" alt="figure">')
        for img in images:
            crowded = any("<img" in b for b in self.slide.shown) or self.slide.words() > LEADING_FIGURE
            if crowded:
                self.new("subslide")
            self.slide.shown.append(img)
        if images and notes_too:
            for out in cell.get("outputs", []):
                if out.output_type == "stream":
                    self.slide.notes.append(f'<pre class="output">{html.escape(out.text)}</pre>')

    def html(self) -> str:
        """The <section>s of the deck; a slide left with nothing to show hands its notes to the one before."""
        stacks: list[list[_Slide]] = []
        for stack in self.stacks:
            kept = []
            for slide in stack:
                if slide.body().strip():
                    kept.append(slide)
                elif kept or stacks:
                    (kept or stacks[-1])[-1].notes.extend(slide.notes)
            if kept:
                stacks.append(kept)
        return "\n".join(
            "<section>\n" + "\n".join(f"<section>\n{s.html()}\n</section>" for s in stack) + "\n</section>"
            for stack in stacks
        )

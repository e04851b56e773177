"""`python -m sslcourse slides`: reveal.js decks from the cells of each notebook tagged for slides.

A cell is on the slides when its metadata says `slideshow: {slide_type: ...}` (jupytext:
`# %% [markdown] slideshow={"slide_type": "slide"}`): `slide` starts a new slide, `subslide` a new
vertical one under it, `fragment` appears on the next key press, `-` continues the current slide,
`notes` becomes speaker notes (press S); untagged and `skip` cells are left out. A code cell tagged
`hide-input` shows only its outputs. The decks work offline: reveal.js is copied next to them from the
package (sslcourse/instructor/_vendor/revealjs), and nothing is loaded from the internet (math stays as TeX text).
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

from sslcourse.instructor import course

VENDOR = Path(__file__).resolve().parents[1] / "_vendor" / "revealjs"
ASSETS = "reveal.js"  # the folder next to the decks

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/dist/reveal.css">
<link rel="stylesheet" href="{assets}/dist/theme/white.css">
<style>
{pygments}
.reveal {{ font-size: 30px; }}  /* notebook cells carry paragraphs, not slogans: a reading size */
.reveal .slides section {{ text-align: left; }}
.reveal h1, .reveal h2, .reveal h3 {{ text-transform: none; text-align: center; }}
.reveal h1 {{ font-size: 2.0em; }}
.reveal h2 {{ font-size: 1.5em; }}
.reveal pre {{ width: 100%; font-size: 0.5em; box-shadow: none; }}
.reveal pre.output {{ background: #f7f7f7; padding: 0.3em; }}
.reveal .highlight pre {{ background: #f5f5f5; padding: 0.3em; }}
.reveal section img {{ max-height: 60vh; }}
.reveal table {{ font-size: 0.6em; }}
</style>
</head>
<body>
<div class="reveal">
<div class="slides">
{slides}
</div>
</div>
<script src="{assets}/dist/reveal.js"></script>
<script src="{assets}/plugin/notes/notes.js"></script>
<script>
Reveal.initialize({{ hash: true, slideNumber: true, plugins: [RevealNotes] }});
// A slide taller than the frame is shrunk until it fits (down to half size), never cut off.
function fitSlide(slide) {{
  if (!slide || slide.dataset.fitted) return;
  const height = Reveal.getConfig().height;
  let scale = 1.0;
  while (slide.scrollHeight > height && scale > 0.5) {{
    scale -= 0.05;
    slide.style.fontSize = scale + "em";
  }}
  slide.dataset.fitted = scale.toFixed(2);
}}
Reveal.on("ready", e => fitSlide(e.currentSlide));
Reveal.on("slidechanged", e => fitSlide(e.currentSlide));
</script>
</body>
</html>
"""


def _markdown(source: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    rendered = markdown2html_mistune(source)
    return re.sub(r'<a class="anchor-link"[^>]*>.*?</a>', "", rendered)  # the pilcrows of headings


def _code(source: str) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return highlight(source, PythonLexer(), HtmlFormatter())


def _outputs(cell) -> str:
    """A code cell's outputs: text as <pre>, images inline, HTML tables; widgets and scripts left out."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(f'<pre class="output">{html.escape(out.text)}</pre>')
        elif out.output_type in ("display_data", "execute_result"):
            data = out.get("data", {})
            for mime in ("image/png", "image/jpeg"):
                if mime in data:
                    parts.append(f'<img src="data:{mime};base64,{data[mime].strip()}" alt="output">')
                    break
            else:
                if "text/html" in data and "<script" not in data["text/html"]:
                    parts.append(data["text/html"])
                elif "text/markdown" in data:  # IPython.display.Markdown: a table of findings, say
                    parts.append(_markdown(data["text/markdown"]))
                elif "text/plain" in data and "application/vnd.jupyter.widget-view+json" not in data:
                    parts.append(f'<pre class="output">{html.escape(data["text/plain"])}</pre>')
    return "\n".join(parts)


def _cell_html(cell) -> str:
    if cell.cell_type == "markdown":
        return _markdown(cell.source)
    if cell.cell_type == "code":
        shown = "" if "hide-input" in cell.metadata.get("tags", []) else _code(cell.source)
        return shown + _outputs(cell)
    return ""


def deck_html(nb, title: str, assets: str = ASSETS) -> str:
    """The reveal.js page of a notebook's slide cells (an empty deck says so on its one slide)."""
    from pygments.formatters import HtmlFormatter

    slides: list[list[list[str]]] = []  # slides -> vertical subslides -> blocks of HTML
    for cell in nb.cells:
        kind = cell.get("metadata", {}).get("slideshow", {}).get("slide_type")
        if kind in (None, "skip"):
            continue
        if kind == "slide" or not slides:
            slides.append([[]])
        elif kind == "subslide":
            slides[-1].append([])
        body = _cell_html(cell)
        if kind == "fragment":
            body = f'<div class="fragment">{body}</div>'
        elif kind == "notes":
            body = f'<aside class="notes">{body}</aside>'
        slides[-1][-1].append(body)
    if not slides:
        slides = [[[f"<h2>{html.escape(title)}</h2><p>No cell of this notebook is tagged for slides yet.</p>"]]]
    sections = "\n".join(
        "<section>\n" + "\n".join("<section>\n" + "\n".join(blocks) + "\n</section>" for blocks in sub) + "\n</section>"
        for sub in slides
    )
    return _PAGE.format(
        title=html.escape(title), assets=assets, slides=sections, pygments=HtmlFormatter().get_style_defs(".highlight")
    )


def copy_reveal(out_dir: Path) -> Path:
    """Copy the packaged reveal.js next to the decks (once; replaced when the package's copy changed)."""
    target = Path(out_dir) / ASSETS
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(VENDOR, target)
    return target


def _title(nb, stem: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, flags=re.M)
            if m:
                return m.group(1).strip()
    return stem


def build_deck(notebook: Path, out_dir: Path) -> Path:
    """Write out_dir/<stem>.html from an executed notebook, with reveal.js beside it."""
    import nbformat

    notebook, out_dir = Path(notebook), Path(out_dir)
    nb = nbformat.read(notebook, as_version=4)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not (out_dir / ASSETS / "dist" / "reveal.js").is_file():
        copy_reveal(out_dir)
    path = out_dir / f"{notebook.stem}.html"
    path.write_text(deck_html(nb, _title(nb, notebook.stem)))
    return path


def build_slides(names=(), root: Path = course.ROOT, out_dir: Path | None = None, source: Path | None = None) -> int:
    """Decks for the named notebooks (all when none), from the executed notebooks in `source`
    (default: notebooks/, whose .ipynb are executed by `notebooks sync`), into `out_dir` (default slides/)."""
    from sslcourse.instructor.nbtools.pairs import find_pairs

    root = Path(root)
    out_dir = Path(out_dir) if out_dir else root / "slides"
    source = Path(source) if source else root / "notebooks"
    stems = (
        [p.stem for p in find_pairs(names, root)]
        if names
        else sorted(p.stem for p in source.glob("[0-9][0-9]_*.ipynb"))
    )
    if not stems:
        print(f"There are no executed notebooks in {source} yet: no slides to build.")
        return 0
    copy_reveal(out_dir)
    missing = []
    for stem in stems:
        notebook = source / f"{stem}.ipynb"
        if not notebook.is_file():
            print(f"{stem}: no {notebook} to build slides from (run `python -m sslcourse notebooks sync {stem}`)")
            missing.append(stem)
            continue
        print(f"{stem}: {build_deck(notebook, out_dir)}")
    return 1 if missing else 0

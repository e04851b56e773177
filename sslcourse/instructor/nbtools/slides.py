"""`python -m sslcourse slides`: reveal.js decks a lecturer can teach from, made from the executed notebooks.

Which cells make which slides, and how a notebook's prose becomes a slide's lead and its speaker notes,
is deck.py's business; this module writes the pages. The decks work offline: reveal.js is copied next to
them from the package (sslcourse/instructor/_vendor/revealjs), and nothing is loaded from the internet
(math is rendered as MathML, which browsers draw without loading anything).
Press S for the speaker notes, Esc for the overview.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

from sslcourse.instructor import course
from sslcourse.instructor.nbtools.deck import Deck

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
.reveal {{ font-size: 38px; }}  /* at most WORD_BUDGET words a slide: large enough for a lecture hall */
.reveal .slides section {{ text-align: left; }}
.reveal h1, .reveal h2, .reveal h3 {{ text-transform: none; text-align: center; }}
.reveal h1 {{ font-size: 1.7em; }}
.reveal h2 {{ font-size: 1.35em; }}
.reveal h3 {{ font-size: 1.1em; }}
.reveal h3.context {{ font-size: 0.8em; color: #777; margin-bottom: 0.4em; }}  /* the section of a figure */
.reveal ul, .reveal ol {{ display: block; }}
.reveal li {{ margin-bottom: 0.25em; }}
.reveal blockquote {{ width: 90%; font-style: normal; }}
.reveal pre {{ width: 100%; font-size: 0.5em; box-shadow: none; }}
.reveal pre.output {{ background: #f7f7f7; padding: 0.3em; }}
.reveal .highlight pre {{ background: #f5f5f5; padding: 0.3em; }}
.reveal section img {{ max-height: 60vh; }}
.reveal section img.r-stretch {{ display: block; margin: 0 auto; max-width: 100%; max-height: none; }}
.reveal table {{ font-size: 0.7em; margin: 0 auto; }}  /* a table is cut to the budget, then set small */
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
Reveal.initialize({{ hash: true, slideNumber: true, width: 1280, height: 720, plugins: [RevealNotes] }});  // 16:9
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


def deck_html(nb, title: str, assets: str = ASSETS) -> str:
    """The reveal.js page of a notebook's slides (an empty deck says so on its one slide)."""
    from pygments.formatters import HtmlFormatter

    deck = Deck()
    for cell in nb.cells:
        deck.add(cell)
    sections = deck.html() or (
        f"<section>\n<section>\n<h2>{html.escape(title)}</h2>"
        "<p>No cell of this notebook is tagged for slides yet.</p>\n</section>\n</section>"
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

"""The lead of a slide: what a markdown cell keeps on the slide, its full text going to the speaker notes.

A notebook's markdown is written to be read; a slide is read from across a room. The lead of a cell keeps
its headings, display formulas, quotes, lists and tables, and the sentence that introduces a list, table or
formula; what budget is left goes to the first sentence of each paragraph (the second ones too when the
slide is still half empty). No list item or table cell has more than ITEM_CAP words; then, until the lead
fits in WORD_BUDGET words, the longest list item, quote or table cell is cut (prose.py says where a text
may be cut), in this order of resort:

1. at a sentence or clause end, or before a parenthesis: the cut that takes away least, yet enough;
2. after a comma;
3. one piece cut after its first words, if that alone is enough and leaves 8 of them;
4. lists lose their last items (an ellipsis says so), tables their wordiest columns (the first stays),
   then their last rows, and the introducing sentence goes (and paragraphs get no room);
5. pieces are cut after their first words, longest first.

A display formula costs FORMULA_WORDS words of the budget, though it has no words of its own.

A paragraph's sentence is shown whole or cut at a clause end, or not at all. Tables count like prose (set in
smaller type). A table of more than LONG_TABLE rows is not squeezed onto one slide: its cells are cut to
their shortest clause, its wordiest columns go until no row has more than ROW_CAP words, and its rows go
on over further slides, each with the header.
"""

from __future__ import annotations

from sslcourse.instructor.nbtools.prose import MIN_CUT, blocks, sentences, shorten, versions, words

WORD_BUDGET = 40  # visible words on one slide, its heading included
SENTENCE_CAP = 24  # the longest paragraph sentence a slide shows
ITEM_CAP = 14  # the longest list item or table cell a slide shows, whatever the budget
QUOTE_CAP = 30  # a quote is the cell's message: it may be longer
LONG_TABLE = 8  # a table with more rows than this goes on over several slides
ROW_CAP = 8  # words in a row of a long table: its cells are cut short, then its wordiest columns go, to fit
# A display formula has no words, yet takes as long to read as a short sentence: it costs this many words of
# a lead's budget, so that a slide with a formula says less beside it.
FORMULA_WORDS = 8
_NATURAL = (("clause", "paren"), ("clause", "paren", "comma"))


class _Piece:
    """A text on the slide that may be cut: a list item, a quote, a table cell (which may be cut to one
    word: "R-CNN")."""

    def __init__(self, text: str, least: int = MIN_CUT, cap: int = ITEM_CAP):
        self.text, self.now, self.least, self.cap = text, versions(text, ())[0], least, cap

    def cut(self, kinds, most: int | None = None) -> bool:
        """Cut to the longest version of the given kinds that is shorter than now (and has at most `most`
        words); False when there is none."""
        most = words(self.now) - 1 if most is None else min(most, words(self.now) - 1)
        shorter = next((v for v in versions(self.text, kinds, self.least) if words(v) <= most), None)
        if shorter is not None:
            self.now = shorter
        return shorter is not None


class _Lead:
    """The must-show blocks of a cell (index -> heading or formula text, a quote's piece, a list of
    (marker, piece), a table's rows of pieces), and `fit`, which cuts them to a budget."""

    def __init__(self, parts: list[tuple[str, object]]):
        self.shown: dict[int, object] = {}
        self.intros: list[int] = []
        self.dropped = False  # whether `fit` had to drop items, columns or intros: no room for paragraphs
        for i, (kind, body) in enumerate(parts):
            if kind in ("heading", "math"):
                self.shown[i] = body
            elif kind == "quote":
                self.shown[i] = _Piece(body, cap=QUOTE_CAP)
            elif kind == "list":
                self.shown[i] = [(marker, _Piece(text)) for marker, text in body]
            elif kind == "table" and len(body) > LONG_TABLE + 1:
                self.shown[i] = _LongTable(body)
            elif kind == "table" and body:
                self.shown[i] = [[_Piece(c, least=1) for c in row] for row in body]
            elif kind == "para" and i + 1 < len(parts) and parts[i + 1][0] in ("list", "table", "math"):
                intro = sentences(body)[-1]  # "Write `f(x)`:" before its specification
                short = shorten(intro, 20, ("clause",))
                if intro.rstrip("*").endswith(":") and short:
                    self.shown[i] = short
                    self.intros.append(i)

    def pieces(self) -> list[_Piece]:
        out: list[_Piece] = []
        for block in self.shown.values():
            if isinstance(block, _Piece):
                out.append(block)
            elif isinstance(block, list):
                out += [p for row in block for p in (row[1:] if isinstance(row, tuple) else row)]
        return out

    def words(self) -> int:
        return words(self.render())

    def render(self) -> str:
        return "\n\n".join(r for r in (_render(block) for block in self.shown.values()) if r)

    def long_table(self) -> _LongTable | None:
        return next((b for b in self.shown.values() if isinstance(b, _LongTable)), None)

    def fit(self, budget: int) -> None:
        table = self.long_table()
        if table:  # the other blocks leave room for its header and two rows
            table.narrow()
            table.shown = 2
            budget -= words(table.render())
            table.shown = 0
        for piece in self.pieces():  # no piece longer than its cap
            for kinds in (*_NATURAL, ("cap3",)):
                while words(piece.now) > piece.cap and piece.cut(kinds):
                    pass
        for kinds in _NATURAL:  # then the longest pieces, at a clause, a parenthesis, a comma
            self._cut(budget, kinds)
        longest = max(self.pieces(), key=lambda p: words(p.now), default=None)
        if longest and self.words() > budget:  # one piece cut short may be enough
            most = words(longest.now) - (self.words() - budget)
            if most >= 8:
                longest.cut(("cap8",), most)
        self.dropped = self.words() > budget
        for block in self.shown.values():  # else lists lose their last items, tables their wordiest columns
            while isinstance(block, list) and self.words() > budget and _drop(block):
                pass
        for i in self.intros:  # and intros go
            if self.words() > budget:
                del self.shown[i]
        while self.words() > budget:  # and, at last, pieces are cut short, longest first
            longest = max(self.pieces(), key=lambda p: words(p.now), default=None)
            if not longest or not longest.cut(("cap3",), words(longest.now) - (self.words() - budget)):
                if not longest or not longest.cut(("cap3",)):
                    return

    def _cut(self, budget: int, kinds) -> None:
        """Cut pieces until the lead fits: the one cut that is just enough if there is one (the least
        taken away), else the smallest cut of the longest piece, and again."""
        while (excess := self.words() - budget) > 0:
            options = [
                (words(piece.now) - words(v), -words(piece.now), n, v)
                for n, piece in enumerate(self.pieces())
                for v in versions(piece.text, kinds, piece.least)
                if words(v) < words(piece.now)
            ]
            if not options:
                return
            enough = [o for o in options if o[0] >= excess]
            _, _, n, v = min(enough) if enough else min(options, key=lambda o: (o[1], o[0]))
            self.pieces()[n].now = v


class _LongTable:
    """A table too long for one slide: narrowed to its first column and its most concise others, shown
    `shown` rows at a time, its header on every slide."""

    def __init__(self, rows: list[list[str]]):
        self.rows = [[_Piece(c, least=1) for c in row] for row in rows]
        self.shown = len(rows) - 1

    def narrow(self) -> None:
        for piece in [p for row in self.rows for p in row]:  # each cell as short as a clause cut makes it
            piece.now = min(versions(piece.text, _NATURAL[-1], piece.least), key=words)
        while len(self.rows[0]) > 1 and max(sum(words(p.now) for p in row) for row in self.rows) > ROW_CAP:
            _drop(self.rows)

    def render(self, start: int = 0) -> str:
        return _render(self.rows[:1] + self.rows[1 + start : 1 + start + self.shown])

    def pages(self, budget: int) -> list[str]:
        """The rows the lead did not show, `budget` words a slide, header included."""
        out, start = [], self.shown
        while start < len(self.rows) - 1:
            self.shown = 1
            while start + self.shown < len(self.rows) - 1 and words(self.render(start)) <= budget:
                self.shown += 1
            if words(self.render(start)) > budget and self.shown > 1:
                self.shown -= 1
            out.append(self.render(start))
            start += self.shown
        return out


def _drop(block: list) -> bool:
    """One thing less in a list (its last item, an ellipsis in its place) or a table (its wordiest column
    after the first, then its last row); False when there is nothing left to drop."""
    if isinstance(block[0], tuple):  # a list of (marker, piece)
        if block[-1][0] != "…":
            if len(block) <= 2:
                return False
            block[-1] = ("…", _Piece(""))
            return True
        if len(block) <= 3:
            return False
        del block[-2]
        return True
    if len(block[0]) > 1:
        cost = {j: sum(words(row[j].now) for row in block if j < len(row)) for j in range(1, len(block[0]))}
        worst = max(cost, key=lambda j: cost[j])
        for row in block:
            if worst < len(row):
                del row[worst]
        return True
    if len(block) > 2:
        del block[-1]
        return True
    return False


def _render(block) -> str:
    if isinstance(block, str):
        return block
    if isinstance(block, _LongTable):
        return block.render()
    if isinstance(block, _Piece):
        return "> " + block.now
    if block and isinstance(block[0], tuple):
        ordered = block[0][0][0].isdigit()
        return "\n".join(
            f"{marker} {piece.now}" if marker != "…" else (f"{len(block)}. …" if ordered else "- …")
            for marker, piece in block
        )
    rows = [[p.now for p in row] for row in block]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows[1:]])


def lead(md: str, budget: int = WORD_BUDGET, later: int | None = None) -> list[str]:
    """A markdown cell as slides show it: its lead, at most `budget` visible words (unless its headings
    alone have more), and, when it holds a long table, the table's other rows on further slides of at
    most `later` words (default: `budget`). The module's docstring says what is kept and how it is cut."""
    parts = [(kind, body) for kind, body in blocks(md) if kind != "code"]
    budget -= FORMULA_WORDS * sum(kind == "math" for kind, _ in parts)
    fitted = _Lead(parts)
    fitted.fit(budget)
    table = fitted.long_table()
    if table:  # the table's rows take what the other blocks leave
        while table.shown < len(table.rows) - 1 and fitted.words() <= budget:
            table.shown += 1
        table.shown -= 1 if fitted.words() > budget and table.shown > 1 else 0
    used = fitted.words()
    chosen: dict[int, list[str]] = {}
    for i, (kind, body) in enumerate(parts):  # the first sentence of each paragraph that fits
        if kind == "para" and i not in fitted.shown and not table and not fitted.dropped:
            for sentence in sentences(body):
                short = shorten(sentence, SENTENCE_CAP, ("clause", "paren"))
                if short and not short.endswith(":") and used + words(short) <= budget:
                    chosen[i] = [short]
                    used += words(short)
                    break
    for i, said in chosen.items():  # and, on a slide still half empty, the whole sentence after it
        rest = sentences(parts[i][1])
        at = rest.index(said[0]) + 1 if said[0] in rest else len(rest)
        if used <= budget // 2 and at < len(rest) and used + words(rest[at]) <= budget:
            said.append(rest[at])
            used += words(rest[at])
    shown = {i: _render(block) for i, block in fitted.shown.items()}
    shown.update({i: " ".join(s) for i, s in chosen.items()})
    first = "\n\n".join(shown[i] for i in sorted(shown) if shown[i])
    return [first] + (table.pages(budget if later is None else later) if table else [])

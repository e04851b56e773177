"""Markdown prose taken apart for slides: its blocks, sentences and words, and where a text may be cut.

A word is what an audience reads: a token with at least one letter, outside code and math (`$...$`,
`$$...$$`), so "R-CNN" counts and "54.2" or `knn_classify(x)` do not. A text may be cut at a sentence or
clause end (`. ; :` or a dash) or before a parenthesis ("clause", "paren"), after a comma ("comma"), or
after its first n words with an ellipsis ("cap<n>"), never inside parentheses, code or math; a cut
closes the emphasis it leaves open (`**Efros loses` -> `**Efros loses**`).
"""

from __future__ import annotations

import re

MIN_CUT = 2  # a cut that leaves fewer words than this is no clause ("Next:")
_MIN_COMMA = 5  # nor is a comma's

# Spans read as one unit: code, display and inline math, links, tags; else anything up to a space.
_ATOM = r"`[^`\n]*`|\$\$[^$]*\$\$|\$[^$\n]*\$|\[[^\]\n]*\]\([^)\n]*\)|<[^>\n]*>|[^\s`$\[<]|[`$\[<]"
_TOKEN = re.compile(rf"(?:{_ATOM})+")
_UNREAD = re.compile(r"`[^`\n]*`|\$\$[^$]*\$\$|\$[^$\n]*\$|\]\([^)\n]*\)|<[^>\n]*>")  # code, math, link targets
_LETTER = re.compile(r"[^\W\d_]")
_ABBREVIATIONS = {"e.g.", "i.e.", "al.", "vs.", "cf.", "etc.", "Fig.", "Eq.", "Sec.", "approx."}
_LIST_ITEM = re.compile(r"^(\s{0,3})([-*+]|\d+[.)])\s+")


def words(text: str) -> int:
    """Visible words of a markdown (or plain) text: tokens with a letter, outside code, math and markup."""
    return sum(1 for t in _UNREAD.sub(" ", text).split() if _LETTER.search(t))


# Cutting one text ---------------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(" ".join(text.split()))


def _bare(token: str) -> str:
    """A token without its closing emphasis, brackets or quotes: where its punctuation shows."""
    return token.rstrip("*_)\"'”’")


def _joined(tokens: list[str], end: str = "") -> str:
    """Tokens as text, without a dangling comma or colon, with the emphasis that a cut left open closed."""
    text = " ".join(tokens).rstrip(",;:—–- ") + end
    plain = _UNREAD.sub("", text)
    italic, bold = plain.replace("**", "").count("*") % 2, plain.count("**") % 2
    return text + "*" * italic + "**" * bold


def _sentence_end(tokens: list[str], i: int) -> bool:
    bare = _bare(tokens[i])
    if not bare.endswith((".", "?", "!")) or tokens[i] in _ABBREVIATIONS or re.fullmatch(r"\d+\.", bare):
        return False
    return True


def _cuts(tokens: list[str]) -> dict[str, list[int]]:
    """Where a text may be cut (after that many tokens), never inside parentheses: at a sentence or clause
    end (`. ; :` or a dash), before a parenthesis, or after a comma."""
    cuts: dict[str, list[int]] = {"clause": [], "paren": [], "comma": []}
    depth = 0
    for i, tok in enumerate(tokens[:-1]):
        plain = _UNREAD.sub("", tok)
        depth = max(0, depth + plain.count("(") - plain.count(")"))
        if depth:
            continue
        bare = _bare(tok)
        if _sentence_end(tokens, i) or bare.endswith((";", ":")) or tokens[i + 1] in ("—", "--", "–"):
            cuts["clause"].append(i + 1)
        elif bare.endswith(",") and not re.fullmatch(r"[\d.%]+,", bare):  # "50, 75 and 90%" is one list
            cuts["comma"].append(i + 1)
        if tokens[i + 1].startswith("("):
            cuts["paren"].append(i + 1)
    return cuts


def sentences(text: str) -> list[str]:
    """A paragraph's sentences."""
    tokens, out, start = _tokens(text), [], 0
    for i in range(len(tokens)):
        if _sentence_end(tokens, i):
            out.append(" ".join(tokens[start : i + 1]))
            start = i + 1
    return out + ([" ".join(tokens[start:])] if start < len(tokens) else [])


def versions(text: str, kinds=("clause", "paren"), least: int = MIN_CUT) -> list[str]:
    """`text` and its shorter starts, longest first: those that end at a cut of the given kinds ("clause",
    "paren", "comma") and keep at least `least` words, and with "cap<n>" its first 12, 11, ..., n words
    and an ellipsis."""
    tokens = _tokens(text)
    full = words(text)
    found = {" ".join(tokens): full}
    cuts = _cuts(tokens)
    for kind in kinds:
        for k in cuts.get(kind, []):
            cut = _joined(tokens[:k])
            enough = least
            if kind == "comma" and least > 1 and not re.match(r"[*_]*[A-Z]", text.lstrip()):
                enough = max(least, _MIN_COMMA)  # "for each query," starts no lead; "The pair network," may
            if min(enough, full) <= words(cut) < full:
                found.setdefault(cut, words(cut))
    for floor in [int(k[3:]) for k in kinds if k.startswith("cap")]:
        for cap in range(full - 1, floor - 1, -1):
            kept, n = [], 0
            for tok in tokens:
                n += 1 if words(tok) else 0
                if n > cap:
                    break
                kept.append(tok)
            found.setdefault(_joined(kept, "…"), cap)
    return sorted(found, key=lambda v: -found[v])


def shorten(text: str, cap: int, kinds=("clause", "paren", "comma", "cap3")) -> str | None:
    """The longest of `versions(text, kinds)` with at most `cap` words, a cut at a clause, parenthesis or
    comma rather than one after the first words; None when none is that short."""
    natural = tuple(k for k in kinds if not k.startswith("cap"))
    for allowed in (natural, kinds):
        short = next((v for v in versions(text, allowed) if words(v) <= cap), None)
        if short is not None:
            return short
    return None


# The blocks of a markdown cell ------------------------------------------------------------------------


def blocks(md: str) -> list[tuple[str, object]]:
    """A markdown cell cut into blocks: ("heading", line), ("list", [(marker, text), ...]),
    ("table", [[cell, ...], ...]), ("quote", text), ("math", text), ("code", text), ("para", text)."""
    lines, out, i = md.splitlines(), [], 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped:
            i += 1
        elif stripped.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            out.append(("code", "\n".join(lines[i : j + 1])))
            i = j + 1
        elif re.match(r"#{1,6}\s", stripped):
            out.append(("heading", stripped))
            i += 1
        elif stripped.startswith("$$"):
            j = i
            while j + 1 < len(lines) and not (lines[j].strip().endswith("$$") and (j > i or len(stripped) > 2)):
                j += 1
            out.append(("math", "\n".join(lines[i : j + 1])))
            i = j + 1
        elif stripped.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = [c.strip() for c in re.split(r"(?<!\\)\|", lines[i].strip()[1:].removesuffix("|"))]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells):  # not the |---| line
                    rows.append(cells)
                i += 1
            out.append(("table", rows))
        elif stripped.startswith(">"):
            quote = []
            while i < len(lines) and lines[i].strip().startswith(">"):
                quote.append(lines[i].strip()[1:].strip())
                i += 1
            out.append(("quote", " ".join(quote)))
        elif _LIST_ITEM.match(lines[i]):
            items: list[list[str]] = []
            while i < len(lines) and lines[i].strip() and (items or _LIST_ITEM.match(lines[i])):
                m = _LIST_ITEM.match(lines[i])
                if m and not m.group(1):
                    items.append([m.group(2), lines[i][m.end() :].strip()])
                else:
                    items[-1][1] += " " + lines[i].strip()
                i += 1
            out.append(("list", [tuple(item) for item in items]))
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not _starts_block(lines[i]):
                para.append(lines[i].strip())
                i += 1
            out.append(("para", " ".join(para)))
    return out


def _starts_block(line: str) -> bool:
    s = line.strip()
    return bool(re.match(r"#{1,6}\s", s) or s.startswith(("```", "$$", "|", ">")) or _LIST_ITEM.match(line))

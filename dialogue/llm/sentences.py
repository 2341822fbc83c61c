"""Sentence splitting that works on a whole text and, incrementally, on a token stream.

A boundary is a run of terminators (. ! ? …) plus closing quotes/brackets, followed by whitespace
and then a character that may start a sentence. It is confirmed only once that next character is
seen, so a stream yields a sentence one token late and never splits "Dr. Smith", "e.g. this",
"3.5", "J. R. R. Tolkien", "Wait... what" or a list marker "1. " at the start of a line.
A newline also ends a sentence (small models write lists and stray lines).
A sentence that ends in "!" or "?" is not ambiguous: a stream yields it as soon as that mark
arrives (a token sooner: the first words are spoken about 0.1 s earlier), and marks or closing
quotes that follow it are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# Titles and abbreviations after which a period never ends a sentence.
_NEVER_END = {
    "dr", "mr", "mrs", "ms", "prof", "sr", "jr", "st", "mt", "vs", "etc", "e.g", "i.e", "eg", "ie",
    "approx", "cf", "inc", "ltd", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sep", "sept", "oct", "nov", "dec", "a.m", "p.m",
}
# Of those, the ones that still end a sentence when the next word is capitalised and is not a name
# we could recognise. Kept apart because "etc." often ends a sentence: "apples, pears etc. Then ...".
_END_IF_CAPITAL = {"etc", "a.m", "p.m", "approx"}

_TERMINATORS = ".!?…"
_CLOSERS = "\"'”’)]»"
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]»]*(?=\s)")
_ENDS_CLEARLY = re.compile(r"\w[!?]+$")  # the text so far ends a sentence with ! or ?


def _word_before(text: str, end: int) -> str:
    """The word (letters, digits and inner dots) that ends right before `text[end]`."""
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "."):
        start -= 1
    return text[start:end]


def _is_boundary(text: str, match: re.Match[str], next_char: str) -> bool:
    """Whether the terminator run `match` ends a sentence, given the next non-space character."""
    run = match.group(0).rstrip(_CLOSERS)
    if "!" in run or "?" in run:
        return True
    word = _word_before(text, match.start()).lower()
    ellipsis = len(run) > 1 or run == "…"
    if ellipsis:  # "Well... maybe" continues; "I see... Tell me more" ends
        return not next_char.islower()
    bare = word.rstrip(".")
    if next_char.islower() or (next_char.isdigit() and bare in {"no", "fig"}):
        return False
    if bare in _NEVER_END:
        return bare in _END_IF_CAPITAL and next_char.isupper()
    if len(bare) == 1 and bare.isalpha() and text[match.start() - 1].isupper():
        return False  # an initial: "J. R. R. Tolkien"
    line_start = text.rfind("\n", 0, match.start()) + 1
    if bare.isdigit() and text[line_start:match.start()].strip() == bare:
        return False  # a list marker "1. " at the start of a line
    return True


class SentenceSplitter:
    """Incremental splitter: `feed(text)` returns the sentences completed so far; `flush()` the rest.

    Sentences come back stripped; empty ones are dropped.
    """

    def __init__(self) -> None:
        self._buf = ""
        self._after_early = False  # a sentence was yielded at its "!" or "?": drop marks that follow

    def feed(self, text: str) -> list[str]:
        if self._after_early:
            rest = text.lstrip(_TERMINATORS + _CLOSERS)
            if not rest:
                return []
            text, self._after_early = rest, False
        self._buf += text
        out: list[str] = []
        pos = 0
        scan = 0
        buf = self._buf
        while True:
            nl = buf.find("\n", scan)
            m = _BOUNDARY.search(buf, scan)
            if m is not None and (nl < 0 or m.end() <= nl):
                rest = buf[m.end():]
                stripped = rest.lstrip()
                if not stripped:
                    break  # the next character is not here yet: decide on a later feed
                if _is_boundary(buf, m, stripped[0]):
                    out.append(buf[pos:m.end()])
                    pos = m.end()
                scan = m.end()
                continue
            if nl >= 0:
                out.append(buf[pos:nl])
                pos = scan = nl + 1
                continue
            break
        self._buf = buf[pos:]
        if _ENDS_CLEARLY.search(self._buf):
            out.append(self._buf)
            self._buf, self._after_early = "", True
        return [s for s in (x.strip() for x in out) if s]

    def flush(self) -> str | None:
        """The unfinished remainder (None when empty); the splitter is empty afterwards."""
        rest, self._buf, self._after_early = self._buf.strip(), "", False
        return rest or None

    @property
    def pending(self) -> str:
        return self._buf


def split_sentences(text: str) -> list[str]:
    """Split a whole text into sentences (the last one may lack a terminator)."""
    splitter = SentenceSplitter()
    out = splitter.feed(text)
    rest = splitter.flush()
    return out + ([rest] if rest else [])


def stream_sentences(chunks: Iterable[str]) -> Iterator[str]:
    """Yield sentences from a stream of text pieces (tokens) as soon as each is known to be complete.

    Runs as fast as `chunks` produces; a sentence is held until the first character after its end
    arrives (or the stream ends), so "Dr." is never mistaken for an ending.
    """
    splitter = SentenceSplitter()
    for chunk in chunks:
        yield from splitter.feed(chunk)
    rest = splitter.flush()
    if rest:
        yield rest

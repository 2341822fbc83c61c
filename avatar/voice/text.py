"""Text preparation for speech: sentence splitting (never truncating) and word tokens."""

from __future__ import annotations

import re

# A sentence ends at . ! ? (or an ellipsis) followed by space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n+")
_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+")
_WORD = re.compile(r"[\w'’-]+", re.UNICODE)

MAX_SENTENCE_CHARS = 240  # longer sentences are split at commas, then between words


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Split `text` into sentences of at most `max_chars` characters, in order.

    Long sentences are split at clause punctuation (, ; :), then between words; a single word
    longer than `max_chars` is kept whole. Every word of `text` appears in exactly one piece:
    nothing is dropped. Empty or whitespace-only text gives [].
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        sentence = " ".join(sentence.split())
        if not sentence:
            continue
        if len(sentence) <= max_chars:
            pieces.append(sentence)
            continue
        for clause in _pack(_CLAUSE_END.split(sentence), max_chars):
            pieces.extend(_pack(clause.split(" "), max_chars) if len(clause) > max_chars else [clause])
    return pieces


def split_first_clause(sentences: list[str], min_chars: int = 12, max_first_chars: int = 60) -> list[str]:
    """Split the first sentence at its first clause boundary (, ; :) after `min_chars` when it
    is longer than `max_first_chars`, so the first audio of a reply is ready sooner."""
    if not sentences or len(sentences[0]) <= max_first_chars:
        return sentences
    first = sentences[0]
    for m in _CLAUSE_END.finditer(first):
        if m.start() >= min_chars:
            return [first[: m.start()], first[m.end():], *sentences[1:]]
    return sentences


def _pack(parts: list[str], max_chars: int) -> list[str]:
    """Greedily join consecutive parts with spaces while the result fits in `max_chars`."""
    out: list[str] = []
    current = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        candidate = f"{current} {part}" if current else part
        if len(candidate) <= max_chars or not current:
            current = candidate
        else:
            out.append(current)
            current = part
    if current:
        out.append(current)
    return out


def words_of(text: str) -> list[str]:
    """The spoken word tokens of `text` (letters, digits, apostrophes, hyphens), in order."""
    return _WORD.findall(text)

"""Word error rate with text normalisation (case, punctuation, numbers as words)."""

from __future__ import annotations

import re

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """English words for 0 <= n < 1_000_000 ("twenty five", "one hundred three")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    if n < 1_000_000:
        rest = n % 1000
        return number_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + number_words(rest))
    return " ".join(_ONES[int(d)] for d in str(n))


_CONTRACTIONS = {
    "i'm": "i am", "it's": "it is", "that's": "that is", "don't": "do not", "can't": "cannot",
    "won't": "will not", "isn't": "is not", "i've": "i have", "you're": "you are", "we're": "we are",
    "they're": "they are", "let's": "let us", "i'll": "i will", "we'll": "we will", "you'll": "you will",
    "doesn't": "does not", "didn't": "did not", "wasn't": "was not", "there's": "there is",
    "what's": "what is", "he's": "he is", "she's": "she is", "i'd": "i would", "can not": "cannot",
}


def normalize(text: str) -> list[str]:
    """Lower-cased words without punctuation; digits spelled out; hyphens split words; common
    contractions expanded (so "I'm" and "I am" match)."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"\b[a-z]+'[a-z]+\b|\bcan not\b", lambda m: _CONTRACTIONS.get(m.group(), m.group()), text)
    text = re.sub(r"\d+", lambda m: " " + number_words(int(m.group())) + " ", text)
    text = re.sub(r"[-–—/]", " ", text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    return [w.strip("'") for w in text.split() if w.strip("'")]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance between word lists (substitution, insertion, deletion cost 1)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer(refs: list[str], hyps: list[str]) -> float:
    """Corpus WER: total word edits / total reference words (after `normalize`)."""
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    errors = sum(edit_distance(normalize(r), normalize(h)) for r, h in zip(refs, hyps))
    total = sum(len(normalize(r)) for r in refs)
    return errors / total if total else 0.0

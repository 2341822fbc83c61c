"""app/live.py and app/mic.py: the next reply's prompt evaluated ahead (prefilled) while the person
speaks or types, and when a prefill is dropped (a turn on its way, a stale partial transcript)."""

from __future__ import annotations

import queue
import re
import threading
from collections import deque

import numpy as np

from app.live import LiveSession
from tests.unit.app.test_live import CountingASR, QuietAwareVAD, next_message, pipeline, spoken_session, wait_for

# --- prefilling the next reply's prompt while the person speaks or types ---------------------------


class Drafts:
    """A drafter (app.conversation.prefill_reply's stand-in): records the texts it was given."""

    def __init__(self, fail_on: str | None = None):
        self.texts: list[str] = []
        self.tags_ahead: list[bool] = []
        self.fail_on = fail_on

    def __call__(self, text, tag_ahead=True):
        self.texts.append(text)
        self.tags_ahead.append(tag_ahead)
        if text == self.fail_on:
            raise RuntimeError("the model process went away")
        return {"prompt_n": len(text), "cache_n": 700}


def test_the_conversation_so_far_is_prefilled_when_the_chat_follows_it():
    live = LiveSession(pipeline())
    drafts = Drafts()
    live.prefill_with(drafts)
    wait_for(lambda: drafts.texts == [""])  # the path so far: its last reply as the prompt renders it
    wait_for(lambda: any(m["stage"] == "prefill" for m in live.trace))
    later = Drafts()
    live.prefill_with(later, history=False)  # a turn is about to start: nothing now
    live.prefill("   ")  # nor for no text
    assert later.texts == [] and live._prefills._jobs == deque() and drafts.texts == [""]


def test_partial_transcripts_are_prefilled_while_the_person_speaks():
    live, sent, asr, chunk = spoken_session("s" * 25 + "q" * 6)
    drafts = Drafts()
    live.prefill_with(drafts, history=False)
    for _ in range(25):
        live.hear(chunk)
    next_message(sent, "partial")
    wait_for(lambda: drafts.texts)  # before the turn has ended
    # "heard 1.0 s" -> all but the last word, which may yet change (on a loaded machine the 1.0 s
    # partial's evaluation may be superseded by the 2.0 s one's before it begins)
    assert re.fullmatch(r"heard [12]\.\d", drafts.texts[0]) and live._mic._in_speech  # never "... s"
    assert drafts.tags_ahead[0] is False  # the final transcript extends it: no tag written after it
    # the mark is written once the drafter has returned, on the prefill thread: wait for it too
    wait_for(lambda: any(m["stage"] == "prefill" for m in live.trace))
    mark = next(m for m in live.trace if m["stage"] == "prefill")
    assert mark["chars"] == len(drafts.texts[0]) and mark["cache_n"] == 700


def test_the_text_being_typed_is_prefilled_once_per_change_and_a_failure_is_no_news():
    live = LiveSession(pipeline())
    drafts = Drafts(fail_on="I failed")
    live.prefill_with(drafts, history=False)
    live.on_message({"type": "draft", "text": "I failed"})
    wait_for(lambda: drafts.texts == ["I failed"])
    for text in ("I got", "I got", " I got ", "I got the job"):
        live.on_message({"type": "draft", "text": text})
    wait_for(lambda: drafts.texts[-1] == "I got the job")
    assert drafts.texts.count("I got") <= 1  # the same text is not evaluated again
    live.on_message({"type": "draft", "text": 42})  # not text: ignored
    live.prefill_with(None)
    live.on_message({"type": "draft", "text": "more"})
    assert "more" not in drafts.texts


def test_no_prefill_begins_while_a_sent_message_waits_for_its_turn():
    live = LiveSession(pipeline())
    drafts = Drafts()
    live.prefill_with(drafts, history=False)
    live.on_message({"type": "sent"})  # the person pressed Enter: the turn is on its way
    live.on_message({"type": "draft", "text": "I got the job"})  # the page's last draft timer fired
    wait_for(lambda: any(m["stage"] == "prefill_skipped" for m in live.trace))
    assert drafts.texts == []  # the model is left to the turn
    live.prefill_with(drafts)  # the conversation so far begins any next prompt: evaluated even now
    wait_for(lambda: drafts.texts == [""])
    live.turn_sink()  # the turn began (and its lock keeps the drafter off the tree)
    live.prefill("I got the job!")
    wait_for(lambda: drafts.texts == ["", "I got the job!"])


class DottedASR(CountingASR):
    """Says what CountingASR says with a closing full stop, as Whisper ends a cut-off utterance;
    with `hold`, each transcription waits for its own `release()`."""

    def __init__(self, hold: bool = False):
        import threading

        super().__init__()
        self.hold = hold
        self._released = threading.Semaphore(0)

    def release(self) -> None:
        self._released.release()

    def transcribe(self, pcm, sr):
        out = super().transcribe(pcm, sr)
        if self.hold:
            assert self._released.acquire(timeout=30)
        return type(out)(text=out.text + ".")


def dotted_session(script: str, hold: bool = False):
    asr = DottedASR(hold)
    live = LiveSession(pipeline(), asr=lambda: asr, vad=lambda: QuietAwareVAD(script))
    sent: queue.Queue = queue.Queue()
    live._send = sent.put
    live.on_message({"type": "mic", "on": True})
    drafts = Drafts()
    live.prefill_with(drafts, history=False)
    return live, sent, asr, drafts, np.full(1600, 3000, np.int16).tobytes()


def pause_while_a_partial_is_made(live, asr, chunk) -> None:
    """1.3 s of speech (a partial of its first second being made: held), then 0.2 s quiet."""
    for _ in range(10):
        live.hear(chunk)
    wait_for(lambda: asr.calls == [1.0])  # a partial of the first second is being transcribed
    for _ in range(3 + 2):  # the person goes on 0.3 s, then is quiet 0.2 s: the turn may be ending
        live.hear(chunk)
    assert live._mic._speculated


def test_in_a_quiet_stretch_the_speculative_transcript_is_prefilled_not_the_partial_before_it():
    live, sent, asr, drafts, chunk = dotted_session("s" * 13 + "q" * 6, hold=True)
    pause_while_a_partial_is_made(live, asr, chunk)
    asr.release()  # the partial comes back: too late to be worth evaluating
    wait_for(lambda: len(asr.calls) == 2)  # the speculative transcript is being made: the partial is done
    wait_for(lambda: not live._prefills._jobs)  # whatever the partial handed on has begun
    asr.release()
    wait_for(lambda: drafts.texts)
    assert drafts.texts == ["heard 1.3 s."]  # the speculative transcript, whole: the turn's own
    assert drafts.tags_ahead == [True]  # ... so the reply's tag is written ahead after it
    assert live._mic._in_speech  # all before the turn ended


def test_a_speculative_transcript_of_a_pause_the_person_spoke_on_from_is_not_prefilled():
    live, sent, asr, drafts, chunk = dotted_session("s" * 13 + "q" * 2 + "s" * 5 + "q" * 6, hold=True)
    pause_while_a_partial_is_made(live, asr, chunk)
    asr.release()  # the partial comes back (not evaluated: they are quiet); the speculative one begins
    wait_for(lambda: len(asr.calls) == 2)
    for _ in range(5):  # they speak on
        live.hear(chunk)
    assert live._mic._speculated is None
    asr.release()  # the speculative transcript comes back, of an utterance that goes on
    wait_for(lambda: any(m["stage"] == "asr" and m["kind"] == "speculative" for m in live.trace))
    assert live._prefilled != "heard 1.3 s."  # (a partial's settled words may be: they speak)
    for _ in range(6):  # the turn ends: its own transcript is the one that counts
        live.hear(chunk)
    asr.release()
    asr.release()
    assert next_message(sent, "transcript")["text"] == "heard 2.0 s."  # the whole utterance
    wait_for(lambda: not live._prefills._jobs)
    assert "heard 1.3 s." not in drafts.texts


def test_a_partial_whose_evaluation_would_begin_once_the_person_is_quiet_is_dropped():
    live, sent, asr, drafts, chunk = dotted_session("s" * 13 + "q" * 6, hold=True)
    go = threading.Event()
    busy = Drafts()
    live.prefill_with(lambda text, tag_ahead=True: go.wait(30) and busy(text, tag_ahead), history=False)
    live.prefill("typed before")  # the model is busy evaluating something else
    wait_for(lambda: not live._prefills._jobs)
    for _ in range(10):
        live.hear(chunk)
    wait_for(lambda: asr.calls == [1.0])
    for _ in range(3):  # they speak on (so the pause's transcript is a new one)
        live.hear(chunk)
    asr.release()  # the partial comes back while they speak: its evaluation waits for the model
    wait_for(lambda: live._prefilled == "heard 1.0")
    for _ in range(2):  # they pause: the speculative transcript is begun (and held)
        live.hear(chunk)
    assert live._mic.quiet
    go.set()
    wait_for(lambda: any(m["stage"] == "prefill_skipped" for m in live.trace))
    assert busy.texts == ["typed before"]
    asr.release()


def test_the_end_of_speech_holds_prefills_until_its_turn_begins():
    live, sent, asr, drafts, chunk = dotted_session("s" * 8 + "q" * 6)
    for _ in range(8 + 6):
        live.hear(chunk)
    assert next_message(sent, "transcript")["text"] == "heard 0.8 s."
    live.prefill("heard 0.8 s. and")  # e.g. the page's draft timer: the turn is on its way
    wait_for(lambda: any(m["stage"] == "prefill_skipped" for m in live.trace))
    live.turn_sink()
    live.prefill("next")
    wait_for(lambda: "next" in drafts.texts)
    assert "heard 0.8 s. and" not in drafts.texts


def test_a_turn_heard_without_words_holds_no_prefill():
    live, sent, asr, chunk = spoken_session("s" * 8 + "q" * 6)
    live._asr = lambda: SaysNothing()
    drafts = Drafts()
    live.prefill_with(drafts, history=False)
    for _ in range(8 + 6):
        live.hear(chunk)
    assert next_message(sent, "transcript")["text"] == ""
    live.prefill("typed instead")
    wait_for(lambda: drafts.texts == ["typed instead"])


class SaysNothing:
    def transcribe(self, pcm, sr):
        from types import SimpleNamespace

        return SimpleNamespace(text="")

"""One slow call must not block everyone: the LLM and the avatar renderer bounded by their own slots.

The web app serves several sessions from one process. Quick UI requests never wait for a reply
(app/ui/server.py: no global queue limit). What is shared and slow gets its own bound here:

- `BoundedLLM` wraps the LLM: at most `llm_slots` replies are written at once; a caller that gets
  no slot within `busy_wait_s` is told the model is busy. Each wait for the next piece of a
  reply is bounded by `LLMSettings.timeout_s` (the time every "did not answer within N s"
  message states): a hung backend fails the turn that waits on it, at that time, and nobody
  else's. The backend call runs on a worker thread, so a call that never returns is abandoned
  (its slot is freed) instead of holding the turn.
- `BoundedSpeaker` wraps the avatar pipeline: at most `avatar_slots` renders at once (on 2 cores
  two renders at once only make both slower), the same bounded wait.

Both raise `BusyError` (an LLMError: the turn fails with the person's message kept) when no slot
comes in time.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import replace

from dialogue.llm.base import LLMError

log = logging.getLogger(__name__)

_DONE = object()


class BusyError(LLMError):
    """No slot of a shared backend came free in time; the message says which and for how long."""


class Slots:
    """A counting semaphore with a bounded wait and a message for people.

    what: the shared thing, for the message ("the language model"). limit: callers at once.
    wait_s: the longest a caller waits for a slot.
    """

    def __init__(self, what: str, limit: int, wait_s: float):
        self.what = what
        self.limit = limit
        self.wait_s = wait_s
        self._sem = threading.BoundedSemaphore(limit)

    def acquire(self) -> None:
        """Take a slot. Raises BusyError after `wait_s` seconds without one."""
        if not self._sem.acquire(timeout=self.wait_s):
            raise BusyError(f"{self.what} is busy with other conversations (waited {self.wait_s:g} s): "
                            "try again in a moment")

    def release(self) -> None:
        self._sem.release()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """A slot for the duration of the block (BusyError when none comes in time)."""
        self.acquire()
        try:
            yield
        finally:
            self.release()


class BoundedLLM:
    """An LLM (dialogue.llm.base.LLM) whose calls take a slot and never wait longer than `timeout_s`
    for the next chunk. Other attributes (warm_up, settings, ...) are the wrapped LLM's."""

    def __init__(self, llm, slots: Slots, timeout_s: float):
        self._llm = llm
        self.slots = slots
        self.timeout_s = timeout_s

    def __getattr__(self, name: str):
        return getattr(self._llm, name)

    def stream_reply(self, persona, path, cues) -> Iterator:
        """The wrapped LLM's chunks, in order, produced on a worker thread.

        Raises BusyError (no slot within slots.wait_s), LLMError "did not answer within
        `timeout_s` s" (no chunk for that long: the worker is abandoned and its slot freed), or
        what the wrapped LLM raises. Closing this iterator early stops the worker after its
        current chunk.
        """
        self.slots.acquire()
        chunks: queue.Queue = queue.Queue()
        stop = threading.Event()

        def work() -> None:
            try:
                for chunk in self._llm.stream_reply(persona, path, cues):
                    chunks.put(chunk)
                    if stop.is_set():
                        break
            except BaseException as exc:  # handed to the consumer, raised in its thread
                chunks.put(exc)
            finally:
                chunks.put(_DONE)

        try:
            threading.Thread(target=work, name="llm-call", daemon=True).start()
            while True:
                try:
                    item = chunks.get(timeout=self.timeout_s)
                except queue.Empty:
                    log.warning("LLM gave nothing for %g s: the turn fails, the call is abandoned", self.timeout_s)
                    raise LLMError(f"The language model did not answer within {self.timeout_s:g} s") from None
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            self.slots.release()


class BoundedSpeaker:
    """The avatar pipeline (app.turn_events.SentenceSpeaker) with renders bounded by `slots`.
    Other attributes (media_dir, warm_up, pipeline, ...) are the wrapped pipeline's."""

    def __init__(self, avatar, slots: Slots):
        self._avatar = avatar
        self.slots = slots

    def __getattr__(self, name: str):
        return getattr(self._avatar, name)

    def speak_sentence(self, *args, **kwargs) -> Iterator:
        """The wrapped speak_sentence, holding a slot while the sentence renders (BusyError)."""
        with self.slots.hold():
            yield from self._avatar.speak_sentence(*args, **kwargs)

    def say_to_file(self, *args, **kwargs):
        """The wrapped say_to_file (a persona's preview), holding a slot (BusyError)."""
        with self.slots.hold():
            return self._avatar.say_to_file(*args, **kwargs)

    # listening_clip is not bounded: it is rendered once per emotion (at warm-up) and then read
    # from disk, and a listening clip that waits is no clip (the UI falls back to the idle one).


def bounded(services, settings):
    """A copy of `services` (app.conversation.Services) whose LLM and avatar are bounded as
    settings.server says (llm_slots, avatar_slots, busy_wait_s) and settings.llm.timeout_s."""
    server = settings.server
    llm = BoundedLLM(services.llm, Slots("The language model", server.llm_slots, server.busy_wait_s),
                     settings.llm.timeout_s)
    avatar = services.avatar
    if avatar is not None:
        avatar = BoundedSpeaker(avatar, Slots("The avatar renderer", server.avatar_slots, server.busy_wait_s))
    return replace(services, llm=llm, avatar=avatar)

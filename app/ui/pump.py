"""Run a turn on a worker thread and hand its events to the UI paced for playback.

The avatar's reply arrives as one video segment per sentence. Showing each segment the moment it
is rendered would cut the previous one off mid-word; waiting for each to finish before rendering
the next would stall. So the turn runs on its own thread (rendering sentence n+1 while n plays)
and `stream_paced` holds each `ReplyMedia` back until the previous segment has played out.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

from app.turn_events import ReplyMedia, TurnEvent

_DONE = object()


class TurnTimeout(RuntimeError):
    """No event came from the turn within the time limit."""


def stream_paced(
    events: Callable[[], Iterator[TurnEvent]],
    timeout_s: float = 300.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[TurnEvent]:
    """Yield the events of `events()` in order; a `ReplyMedia` not before the previous one ends.

    `events` is called on a worker thread. An exception it raises (InputError, ...) is raised
    here, in the caller's thread. Each wait for the next event is bounded by `timeout_s`
    (TurnTimeout). Blocks while waiting: call from a worker (gradio runs handlers in threads).
    """
    q: queue.Queue = queue.Queue()

    def work() -> None:
        try:
            for event in events():
                q.put(event)
        except BaseException as exc:  # handed to the consumer, re-raised there
            q.put(exc)
        finally:
            q.put(_DONE)

    threading.Thread(target=work, name="turn", daemon=True).start()
    playing_until = 0.0
    while True:
        try:
            item = q.get(timeout=timeout_s)
        except queue.Empty:
            raise TurnTimeout(f"no reply within {timeout_s:.0f} s") from None
        if item is _DONE:
            return
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, ReplyMedia) and item.path is not None:  # live-stream segments play there
            wait = playing_until - clock()
            if wait > 0:
                sleep(wait)
            playing_until = clock() + item.duration_s
        yield item

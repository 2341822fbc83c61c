"""Progress of long command-line work (`warmchat render`): what is being done and how far it is.

`ProgressLine` writes to a text stream: on a terminal the current step is rewritten in place; in a
log (a pipe, a file) a line is written at most every 10 % so the log stays short. The wrappers
below report the avatar pipeline's steps without changing it: `VoiceProgress` around a TTS,
`FrameProgress` around a renderer (frames are most of the time of a long render).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

import numpy as np


class ProgressLine:
    """Steps and fractions of one job on `out` (interactive: rewrite one line in place)."""

    def __init__(self, out: TextIO, interactive: bool, clock: Callable[[], float] = time.perf_counter):
        self.out = out
        self.interactive = interactive
        self.clock = clock
        self._t0 = self._step_t0 = clock()
        self._last_tenth = -1
        self._open = False  # an in-place line is showing

    def step(self, message: str) -> None:
        """A new step ("voice: ..."), on a line of its own."""
        self._end_line()
        self.out.write(f"[{self.clock() - self._t0:6.1f} s] {message}\n")
        self.out.flush()
        self._last_tenth = -1
        self._step_t0 = self.clock()

    def fraction(self, done: int, total: int, what: str) -> None:
        """`done` of `total` units of the current step, with the rate and the time left."""
        total = max(total, 1)
        tenth = int(10 * done / total)
        if not self.interactive and tenth == self._last_tenth and done < total:
            return
        self._last_tenth = tenth
        now = self.clock()
        line = f"[{now - self._t0:6.1f} s] {what} {done}/{total} ({100 * done / total:3.0f} %)"
        spent = now - self._step_t0
        if done and spent > 0:
            rate = done / spent
            line += f", {rate:.0f}/s, {(total - done) / rate:.0f} s left"
        if self.interactive:
            self.out.write("\r" + line)
            self._open = True
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def done(self) -> None:
        self._end_line()

    def _end_line(self) -> None:
        if self._open:
            self.out.write("\n")
            self._open = False


class VoiceProgress:
    """A TTS (avatar.voice) that says on `progress` what it synthesizes and how long it took."""

    def __init__(self, tts: Any, progress: ProgressLine):
        self._tts = tts
        self._progress = progress

    def synthesize(self, text: str, voice, emotion):
        self._progress.step(f"voice: synthesizing {len(text)} characters")
        clip = self._tts.synthesize(text, voice, emotion)
        self._progress.step(f"voice: {len(clip.pcm) / clip.sample_rate:.1f} s of speech; motion next")
        return clip

    def __getattr__(self, name: str) -> Any:  # everything else is the TTS's own
        return getattr(self._tts, name)


class FrameProgress:
    """A renderer (avatar.render) whose frame stream reports each frame on `progress`."""

    def __init__(self, renderer: Any, progress: ProgressLine):
        self._renderer = renderer
        self._progress = progress

    def stream_frames(self, motion) -> Iterator[np.ndarray]:
        total = motion.num_frames
        self._progress.step(f"rendering and encoding {total} frames ({motion.duration:.1f} s of video)")
        for i, frame in enumerate(self._renderer.stream_frames(motion), 1):
            self._progress.fraction(i, total, "frames")
            yield frame
        self._progress.done()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._renderer, name)

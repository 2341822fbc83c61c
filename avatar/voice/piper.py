"""Piper TTS backend (embedded default): talks to `avatar.voice.piper_worker` in a subprocess.

warmchat never imports piper (GPL-3.0-or-later); the worker process does. The worker loads the
voice once (4-6 s) and then answers one sentence at a time with audio and phoneme alignments.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import logging
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from avatar.settings import TTSSettings
from avatar.voice.base import SpeechClip, TTSError, VoiceSettings
from avatar.voice.delivery import Delivery
from avatar.voice.engine import SentenceTTS, change_pitch, finish_clip, scale_groups
from avatar.voice.timing import scale_units, units_from_alignments

_LOG = logging.getLogger(__name__)
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_DIED = object()  # queued by the reader thread when the worker's stdout closes


class _Worker:
    """One running worker process with reader threads; `request` waits with a timeout."""

    def __init__(self, cmd: list[str], start_timeout_s: float):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), env.get("PYTHONPATH", "")]))
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        self.replies: queue.Queue = queue.Queue()
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        threading.Thread(target=self._read_stdout, daemon=True, name="piper-stdout").start()
        threading.Thread(target=self._read_stderr, daemon=True, name="piper-stderr").start()
        ready, _ = self._wait(start_timeout_s, "to load the voice")
        self.sample_rate = int(ready["sample_rate"])
        self.length_scale = float(ready.get("length_scale") or 1.0)
        self._next_id = 0

    def _read_stdout(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            while line := out.readline():
                header = json.loads(line)
                n = int(header.get("n_samples", 0))
                data = out.read(4 * n) if n else b""
                if len(data) != 4 * n:
                    break
                self.replies.put((header, data))
        except (ValueError, OSError) as exc:
            _LOG.error("piper worker sent a malformed reply: %s", exc)
        self.replies.put(_DIED)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.stderr_tail.append(line)
            _LOG.debug("%s", line)

    def _wait(self, timeout_s: float, what: str) -> tuple[dict, bytes]:
        try:
            item = self.replies.get(timeout=timeout_s)
        except queue.Empty:
            self.close()
            raise TTSError(f"piper worker took more than {timeout_s:.0f} s {what}") from None
        if item is _DIED:
            self.proc.wait(timeout=5)
            tail = " | ".join(list(self.stderr_tail)[-3:])
            raise _WorkerDied(f"piper worker exited (code {self.proc.returncode}): {tail}")
        return item

    def request(self, text: str, length_scale: float, timeout_s: float) -> tuple[dict, bytes]:
        self._next_id += 1
        msg = {"id": self._next_id, "text": text, "length_scale": length_scale}
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write((json.dumps(msg) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise _WorkerDied(f"piper worker is not running: {exc}") from None
        header, data = self._wait(timeout_s, f"to speak {len(text)} characters")
        if not header.get("ok"):
            raise TTSError(f"piper failed on {text[:40]!r}: {header.get('error')}")
        return header, data

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(b'{"cmd": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=5)


class _WorkerDied(TTSError):
    pass


class PiperTTS(SentenceTTS):
    """Neural TTS with phoneme alignments, run in a piper worker subprocess.

    Timings: piper's alignments (phoneme, samples) -> `units_from_alignments` -> phonemes and
    phonetic words -> `assign_words`. Delivery: rate and pitch through piper's length_scale
    (synthesized pitch/rate times longer), pitch by resampling the result (`change_pitch`),
    loudness by gain; timings are scaled with the audio.

    The worker starts on first use (or `start()`); a worker that dies is restarted once per
    request, then TTSError. Every wait has a timeout. Call `close()` to stop it.
    """

    def __init__(self, settings: TTSSettings, start_timeout_s: float = 60.0, request_timeout_s: float = 30.0):
        if importlib.util.find_spec("piper") is None:
            raise TTSError('the piper TTS backend needs piper-tts: pip install "warmchat[piper]"')
        self.settings = settings
        self.start_timeout_s = start_timeout_s
        self.request_timeout_s = request_timeout_s
        self._worker: _Worker | None = None
        self._lock = threading.Lock()

    def _command(self) -> list[str]:
        cmd = [sys.executable, "-m", "avatar.voice.piper_worker"]
        if self.settings.piper_model_path:
            cmd += ["--model", self.settings.piper_model_path]
        if self.settings.piper_seed is not None:
            cmd += ["--seed", str(self.settings.piper_seed)]
        return cmd

    def start(self) -> None:
        """Start the worker (loads the voice) if it is not running."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> _Worker:
        if self._worker is None or not self._worker.alive():
            _LOG.info("starting piper worker")
            self._worker = _Worker(self._command(), self.start_timeout_s)
            self.sample_rate = self._worker.sample_rate
        return self._worker

    def _request(self, text: str, length_scale_factor: float) -> tuple[dict, bytes]:
        with self._lock:
            for attempt in (1, 2):
                try:
                    worker = self._ensure()
                    return worker.request(text, worker.length_scale * length_scale_factor, self.request_timeout_s)
                except _WorkerDied as exc:
                    self._worker = None
                    if attempt == 2:
                        raise TTSError(f"piper worker died again after a restart: {exc}") from None
                    _LOG.warning("piper worker died (%s); restarting it once", exc)
        raise AssertionError("unreachable")

    def _speak(self, sentence: str, voice: VoiceSettings, delivery: Delivery) -> SpeechClip:
        if voice.voice not in ("", "default", "joe"):
            raise TTSError(f"piper voice {voice.voice!r} is not loaded; set tts.piper_model_path to choose a voice")
        # Synthesize pitch/rate times longer, then play pitch times faster: duration / rate, pitch x pitch.
        header, data = self._request(sentence, delivery.pitch / delivery.rate)
        sr = int(header["sample_rate"])
        pcm = np.frombuffer(data, dtype="<f4").astype(np.float32)
        if header.get("alignments") is None:
            raise TTSError("piper gave no phoneme alignments (needs the onnx package in the worker's environment)")
        phonemes, groups = units_from_alignments([(p, int(n)) for p, n in header["alignments"]], sr)
        pcm, scale = change_pitch(pcm, delivery.pitch)
        return finish_clip(
            pcm, sr, list(scale_units(phonemes, scale)), scale_groups(groups, scale), sentence, delivery.gain
        )

    def close(self) -> None:
        """Stop the worker process."""
        with self._lock:
            if self._worker is not None:
                self._worker.close()
                self._worker = None

    def __del__(self) -> None:  # best effort: do not leave a worker behind
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown may have torn modules down
            pass

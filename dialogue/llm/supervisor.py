"""Starts and watches the embedded model's process (dialogue/llm/server.py) for the app.

`ModelProcess.ensure_running()` returns the base URL of a live model server, starting it when
there is none and restarting it when it died (the returned notice says so). The process ends with
the app: its stdin is a pipe from this process, and it exits when the pipe closes (also when the
app is killed), so no model process is left behind.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dialogue.llm.base import LLMError

log = logging.getLogger(__name__)

SERVER_SCRIPT = Path(__file__).with_name("server.py")


@dataclass(frozen=True, slots=True)
class Started:
    """A model server that answered: where, which process, how long its start took."""

    base_url: str  # e.g. "http://127.0.0.1:41233/v1"
    pid: int
    load_s: float  # seconds from spawn to ready (model load included)


def _tail(path: Path, lines: int = 6) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [ln for ln in text.splitlines() if ln.strip()][-lines:]
    return " | ".join(kept)[-600:]


class ModelProcess:
    """One embedded model server process, (re)started on demand. Thread-safe.

    model_path: the GGUF; threads: llama.cpp decode threads; nice: CPU priority drop of the child
    (the avatar's stages keep priority); start_timeout_s bounds one start (model load included);
    script: the server program (dialogue/llm/server.py; tests pass a fake one).
    """

    def __init__(self, model_path: Path, *, threads: int = 2, batch_threads: int = 0, ctx: int = 4096,
                 nice: int = 5, start_timeout_s: float = 120.0, python: str = sys.executable,
                 script: Path = SERVER_SCRIPT) -> None:
        self.model_path = Path(model_path)
        self.threads = threads
        self.batch_threads = batch_threads
        self.ctx = ctx
        self.nice = nice
        self.start_timeout_s = start_timeout_s
        self.python = python
        self.script = Path(script)
        self.starts = 0  # how many processes were started (restarts = starts - 1)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._started: Started | None = None
        self._stderr_path: Path | None = None

    # -- state ----------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        """The live process's id, or None."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def exit_code(self) -> int | None:
        """The exit code of the last process once it has ended (negative: killed by a signal)."""
        return self._proc.poll() if self._proc is not None else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- control --------------------------------------------------------------------------------
    def ensure_running(self) -> tuple[Started, str]:
        """The running server, started now if needed. Returns (server, notice): notice is "" unless
        a dead process was just replaced, and then says so for the user.

        Raises LLMError when the process cannot start within start_timeout_s or fails to load.
        """
        with self._lock:
            if self._proc is not None and self._proc.poll() is None and self._started is not None:
                return self._started, ""
            notice = ""
            if self._proc is not None:
                code = self._proc.poll()
                notice = (f"The embedded model had stopped (exit code {code}); it was restarted.")
                log.warning("embedded model process %d ended with exit code %s; restarting", self._proc.pid, code)
                self._cleanup()
            started = self._start()
            if notice:
                notice = notice[:-1] + f" in {started.load_s:.1f} s."
            return started, notice

    def stop(self, timeout_s: float = 5.0) -> None:
        """End the process (closing its stdin ends it; killed if it lingers)."""
        with self._lock:
            self._cleanup(timeout_s)

    def _cleanup(self, timeout_s: float = 5.0) -> None:
        proc, self._proc, self._started = self._proc, None, None
        if proc is None:
            return
        if proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)
        if proc.stdout is not None:
            proc.stdout.close()
        if self._stderr_path is not None:
            self._stderr_path.unlink(missing_ok=True)
            self._stderr_path = None

    def _start(self) -> Started:
        if not self.model_path.is_file():
            raise LLMError(f"The embedded LLM model file does not exist: {self.model_path}")
        fd, name = tempfile.mkstemp(prefix="warmchat-llm-", suffix=".log")
        self._stderr_path = Path(name)
        cmd = [self.python, str(self.script), "--model", str(self.model_path), "--port", "0",
               "--threads", str(self.threads), "--batch-threads", str(self.batch_threads or self.threads),
               "--ctx", str(self.ctx), "--nice", str(self.nice)]
        t0 = time.monotonic()
        with os.fdopen(fd, "wb") as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                    close_fds=True)
        self._proc = proc
        self.starts += 1
        line = self._read_line(proc, self.start_timeout_s)
        if line is None:
            code = proc.poll()
            tail = _tail(self._stderr_path)
            self._cleanup(1.0)
            if code is None:
                raise LLMError(f"The embedded model did not start within {self.start_timeout_s:g} s "
                               f"({self.model_path.name})")
            raise LLMError(f"The embedded model process exited with code {code} while loading "
                           f"{self.model_path.name}" + (f": {tail}" if tail else ""))
        try:
            info = json.loads(line)
        except json.JSONDecodeError:
            info = {"error": f"unexpected output {line[:200]!r}"}
        if "address" not in info:
            self._cleanup(1.0)
            raise LLMError(f"The embedded model could not load {self.model_path.name}: {info.get('error')}")
        started = Started(base_url=info["address"].rstrip("/") + "/v1", pid=proc.pid,
                          load_s=time.monotonic() - t0)
        self._started = started
        log.info("embedded model %s serving at %s (pid %d, ready in %.1f s, %d threads, nice %d)",
                 self.model_path.name, started.base_url, proc.pid, started.load_s, self.threads, self.nice)
        return started

    @staticmethod
    def _read_line(proc: subprocess.Popen[bytes], timeout_s: float) -> str | None:
        """The child's first stdout line, or None if it exits or stays silent for timeout_s."""
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        buf = b""
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                if not sel.select(timeout=min(left, 0.5)):
                    if proc.poll() is not None:
                        return None
                    continue
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:  # the child closed stdout: it exited
                    return None
                buf += chunk
        return buf.split(b"\n", 1)[0].decode("utf-8", errors="replace")

    def __del__(self) -> None:  # the process must not outlive its owner
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None and proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass

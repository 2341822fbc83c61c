"""The embedded offline LLM: a GGUF shipped in a PyPI package, run by llama.cpp (PyPI `xllamacpp`,
a prebuilt CPU wheel) in its own process that serves the OpenAI chat API on 127.0.0.1.

The app talks to it exactly as to a remote server (dialogue.llm.openai_backend): one code path.
This module only adds what a local model needs:
- the process (dialogue.llm.supervisor): started on the first reply or `warm_up()`, restarted on
  the next turn when it died (the reply's `notice` says so), ended with the app;
- the model's prompt style and limits (dialogue.llm.models.ModelSpec): Qwen 1.5B gets the
  companion rules, few-shot turns and the tag; SmolLM2-135M a compact prompt and no tag;
- `cache_prompt`: llama.cpp keeps the previous prompt's KV cache and evaluates only what follows
  the common prefix, so the system prompt, the few-shot turns and the earlier turns are not
  evaluated again (the cues come last for that reason, see dialogue.prompts).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from dialogue.llm.base import LLMError, PersonaBrief, ReplyChunk
from dialogue.llm.models import ModelSpec, model_path, model_spec
from dialogue.llm.openai_backend import OpenAIChatLLM
from dialogue.llm.structured import EmotionOf
from dialogue.llm.supervisor import ModelProcess, Started
from dialogue.prompts import PromptStyle
from dialogue.settings import LLMSettings
from dialogue.turns import AvatarRole, EmotionCues, Speaker, Turn

log = logging.getLogger(__name__)


def style_for(spec: ModelSpec) -> PromptStyle:
    """How an embedded model is prompted: compact for tiny models; for the others companion rules,
    few-shot turns, the cues last (a cacheable prefix) and the person's feeling as the tag
    (dialogue.prompts). budget_chars 8000 (about 2,500 tokens with the notes) fits the 4,096-token
    context with the system prompt and the few-shot turns."""
    if spec.compact:
        return PromptStyle(compact=True, ask_tag=spec.ask_tag, max_sentences=spec.max_sentences, max_chars=240,
                           budget_chars=1200, companion=False)
    return PromptStyle(ask_tag=spec.ask_tag, max_sentences=spec.max_sentences, max_chars=240, budget_chars=8000,
                       companion=True, few_shot=True, cues_last=True, person_tag=True)


class EmbeddedLLM:
    """LLM backend on an embedded model served by its own llama.cpp process (see module doc).

    process: a ModelProcess to use (tests); by default one is made from settings on first use.
    """

    def __init__(self, settings: LLMSettings, emotion_of: EmotionOf | None = None, *,
                 process: ModelProcess | None = None) -> None:
        self.settings = settings
        self.emotion_of = emotion_of
        self.spec = model_spec(settings.embedded_model)
        self.style = style_for(self.spec)
        self._process = process
        self._lock = threading.Lock()
        self._backend: OpenAIChatLLM | None = None
        self._backend_url = ""

    # -- the process ------------------------------------------------------------------------------
    def model_file(self) -> Path:
        """The GGUF this backend runs. Raises ModelMissing (an LLMError) naming the install command."""
        return model_path(self.spec.name, self.settings.embedded_model_path)

    def process(self) -> ModelProcess:
        """The model process (not started yet on the first call). Raises ModelMissing."""
        with self._lock:
            if self._process is None:
                s = self.settings
                self._process = ModelProcess(self.model_file(), threads=s.embedded_threads,
                                             batch_threads=s.embedded_batch_threads, ctx=s.embedded_ctx,
                                             nice=s.embedded_nice, start_timeout_s=s.embedded_start_timeout_s)
            return self._process

    def _backend_at(self, started: Started) -> OpenAIChatLLM:
        with self._lock:
            if self._backend is None or self._backend_url != started.base_url:
                settings = self.settings.model_copy(update={"base_url": started.base_url, "model": self.spec.name,
                                                            "api_key": "not-needed", "max_retries": 0})
                self._backend = OpenAIChatLLM(
                    settings, self.emotion_of, style=self.style,
                    # timings_per_token: every streamed piece carries the server's timings, so a
                    # reply stopped early (enough sentences) still reports its prompt tokens
                    extra_body={"cache_prompt": True, "repeat_penalty": self.spec.repeat_penalty,
                                "timings_per_token": True},
                    max_temperature=self.spec.max_temperature, max_tokens_cap=self.spec.max_tokens,
                    retry_unusable=1,
                )
                self._backend_url = started.base_url
            return self._backend

    def warm_up(self, persona: PersonaBrief | None = None) -> float:
        """Start the model process now (it is otherwise started on the first reply); with a persona,
        also evaluate its prompt once so the first reply finds it in the KV cache. Returns seconds.

        Raises LLMError when the model is missing or cannot start.
        """
        t0 = time.monotonic()
        started, _ = self.process().ensure_running()
        if persona is not None:
            hello = [Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text="Hello!")]
            self._backend_at(started).prime(persona, hello, EmotionCues())
        return time.monotonic() - t0

    def prefill(self, persona: PersonaBrief, path: list[Turn], cues: EmotionCues, tag_ahead: bool = True) -> dict | None:
        """Evaluate the prompt of a reply to `path` now, before it is asked for (the person is
        still speaking or typing; `path` ends with their message so far): llama.cpp keeps it in
        the KV cache, so the reply, when it comes, evaluates only what changed at the end.

        Does nothing (returns None) when the model process is not running: starting it is the
        reply's job. Returns the server's timings (see OpenAIChatLLM.prime), None on failure.
        Blocks for the evaluation (about 25 ms a new token on 2 cores). Where the model would
        write its own tag first, it writes it now (`prime(tag_ahead=True)`): a reply to the same
        prompt starts after it. tag_ahead False: the prompt alone (a partial transcript's, which the
        final one nearly always extends: a tag after it would be thrown away).
        """
        try:
            proc = self.process()
            if not proc.alive():
                return None
            started, _ = proc.ensure_running()
        except LLMError:  # no model: the reply says so
            return None
        return self._backend_at(started).prime(persona, path, cues, tag_ahead=tag_ahead)

    def close(self) -> None:
        """End the model process (it is also ended when the app exits)."""
        if self._process is not None:
            self._process.stop()

    # -- replies ------------------------------------------------------------------------------------
    def stream_reply(self, persona: PersonaBrief, path: list[Turn], cues: EmotionCues) -> Iterator[ReplyChunk]:
        """Yield clean sentences while the model writes, then the final Reply (see OpenAIChatLLM).

        Starts the model process when it is not running (seconds; the final Reply's `notice` says
        when a dead process was replaced). Raises LLMError when the model is missing, cannot start,
        or its process dies while answering (it is restarted on the next reply).
        """
        proc = self.process()
        started, notice = proc.ensure_running()
        backend = self._backend_at(started)
        try:
            for chunk in backend.stream_reply(persona, path, cues):
                if notice and chunk.final is not None:
                    chunk = ReplyChunk(final=chunk.final.model_copy(update={"notice": notice}))
                yield chunk
        except LLMError as exc:
            if not proc.alive():
                raise LLMError(f"The embedded model stopped while answering (exit code {proc.exit_code()}); "
                               "it restarts with your next message") from exc
            raise

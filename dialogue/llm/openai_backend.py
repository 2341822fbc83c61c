"""Any OpenAI-compatible chat server (OpenAI, vLLM, Ollama, llama.cpp server, LM Studio) by base_url."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from dialogue.llm.base import LLMError, PersonaBrief, ReplyChunk
from dialogue.llm.structured import EmotionOf, stream_structured
from dialogue.llm.tags import _match_tag, parse_tag
from dialogue.prompts import PromptStyle
from dialogue.settings import LLMSettings
from dialogue.turns import EmotionCues, Turn
from emotion import EmotionState

log = logging.getLogger(__name__)
TAG_AHEAD_TOKENS = 6  # the most a tag the model writes ahead may take ("[surprised]" is 3-5 tokens)
TAGS_KEPT = 16  # tags written ahead, kept by their prompt (the newest)

# Said to the model when its reply had nothing usable (all of it dropped by validation).
NUDGE = ("Say that again as a friend would, out loud: one or two short spoken sentences, no lists, "
         "no advice, no code, your tag first.")


def _reason(exc: BaseException) -> str:
    """A short human reason from an exception chain ("connection refused", "host not found")."""
    seen: BaseException | None = exc
    texts = []
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or getattr(seen, "errno", None) == errno.ECONNREFUSED:
            return "connection refused"
        texts.append(str(seen).lower())
        seen = seen.__cause__ or seen.__context__
    joined = " ".join(texts)
    if "refused" in joined:
        return "connection refused"
    if "name or service not known" in joined or "nodename nor servname" in joined or "getaddrinfo" in joined:
        return "host not found"
    if "reset" in joined:
        return "connection reset"
    return texts[-1] if texts and texts[-1] else "connection error"


class OpenAIChatLLM:
    """Streams chat completions from an OpenAI-compatible server.

    The client (thread-safe, one connection pool) is built once from `settings`; a persona's
    model/temperature/max_tokens apply to its own calls only. Every network wait is bounded by
    settings.timeout_s, retries included (each of the 1 + settings.max_retries attempts gets
    settings.attempt_timeout_s, for connect and each read while streaming); connection failures
    are retried by the client before the stream starts.

    style: how the prompt is built and how long a reply may be. extra_body: fields the server
    understands beyond the OpenAI API (the embedded llama.cpp server: `cache_prompt`,
    `repeat_penalty`); max_temperature / max_tokens_cap: limits a small model needs whatever the
    persona asks. retry_unusable: how many times a reply with nothing usable in it (all of it
    dropped by validation) is asked for again, with a nudge, before the persona's fallback line.
    """

    def __init__(
        self,
        settings: LLMSettings,
        emotion_of: EmotionOf | None = None,
        *,
        client: Any | None = None,
        style: PromptStyle = PromptStyle(),
        extra_body: dict[str, Any] | None = None,
        max_temperature: float = 2.0,
        max_tokens_cap: int | None = None,
        retry_unusable: int = 0,
    ) -> None:
        self.settings = settings
        self.emotion_of = emotion_of
        self.style = style
        self.extra_body = dict(extra_body or {})
        self.max_temperature = max_temperature
        self.max_tokens_cap = max_tokens_cap
        self.retry_unusable = retry_unusable
        self._tags_ahead: OrderedDict[str, str] = OrderedDict()  # prompt digest -> the tag the model wrote
        self._tags_lock = threading.Lock()
        self._writing: dict[str, threading.Event] = {}  # prompt digest -> set once its tag is written
        if client is None:
            try:
                import openai
            except ImportError as exc:  # pragma: no cover - openai is a core dependency
                raise LLMError("The openai package is missing: pip install openai") from exc
            client = openai.OpenAI(
                base_url=settings.base_url,
                api_key=settings.api_key or "not-needed",
                timeout=settings.attempt_timeout_s,  # all attempts together: settings.timeout_s
                max_retries=settings.max_retries,
            )
        self._client = client

    def _where(self) -> str:
        return f"LLM server at {self.settings.base_url}"

    def _error(self, exc: Exception, model: str) -> LLMError:
        """Map an openai/httpx exception to an LLMError a user understands."""
        import openai

        timeout = self.settings.timeout_s
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(f"The {self._where()} did not answer within {timeout:g} s")
        if isinstance(exc, openai.APIConnectionError):
            return LLMError(f"Cannot reach the {self._where()}: {_reason(exc)}")
        if isinstance(exc, openai.AuthenticationError):
            return LLMError(f"The {self._where()} refused the API key (HTTP 401): check llm.api_key")
        if isinstance(exc, openai.PermissionDeniedError):
            return LLMError(f"The {self._where()} denied access (HTTP 403)")
        if isinstance(exc, openai.NotFoundError):
            return LLMError(f"The {self._where()} does not know model {model!r} or the chat API (HTTP 404)")
        if isinstance(exc, openai.RateLimitError):
            return LLMError(f"The {self._where()} is rate-limiting requests (HTTP 429): try again shortly")
        if isinstance(exc, openai.APIStatusError):
            detail = str(getattr(exc, "message", "") or "").strip()[:200]
            return LLMError(f"The {self._where()} answered HTTP {exc.status_code}" + (f": {detail}" if detail else ""))
        if isinstance(exc, openai.APIError):
            return LLMError(f"The {self._where()} sent a broken answer: {str(exc)[:200]}")
        return LLMError(f"The {self._where()} failed: {type(exc).__name__}: {str(exc)[:200]}")

    def prime(self, persona: PersonaBrief, path: list[Turn], cues: EmotionCues,
              tag_ahead: bool = False) -> dict[str, Any] | None:
        """Send the prompt for one token and drop the answer: a server with a prompt cache (llama.cpp
        `cache_prompt`) then has the prompt's prefix evaluated before the real turn (the persona's
        prompt at start; the next reply's prompt while the person still speaks). Returns the
        server's timings (llama.cpp: `prompt_n` tokens evaluated, `cache_n` reused; {} from a
        server that sends none), or None when it failed: failures are logged, not raised
        (priming is an optimisation).

        tag_ahead: where the reply would begin with the model writing its own tag (`writes_tag`),
        have it write the tag now (greedy, up to "]"): a reply to the same prompt then starts
        with that tag written (`stream_reply`), in the cache with the prompt, and its first words
        come that many tokens sooner (3-5 tokens, 0.5-1 s beside the avatar on 2 cores)."""
        import openai

        messages = self.style.messages(persona, path, cues)
        ahead = tag_ahead and self.writes_tag(messages)
        options: dict[str, Any] = {"max_tokens": TAG_AHEAD_TOKENS, "stop": ["]"]} if ahead else {"max_tokens": 1}
        if self.extra_body:
            options["extra_body"] = self.extra_body
        key, writing = _digest(messages), threading.Event()
        if ahead:  # a reply to this prompt asked for meanwhile waits for the tag (the server serves this first)
            with self._tags_lock:
                self._writing[key] = writing
        try:
            answer = self._client.chat.completions.create(
                model=persona.model or self.settings.model, messages=messages, temperature=0.0, stream=False, **options,
            )
            if ahead:
                self._keep_tag(key, _content(answer))
        except (openai.APIError, OSError) as exc:
            log.warning("priming the prompt cache failed: %s", self._error(exc, persona.model or self.settings.model))
            return None
        finally:
            with self._tags_lock:
                if self._writing.get(key) is writing:
                    del self._writing[key]
            writing.set()
        timings = (getattr(answer, "model_extra", None) or {}).get("timings")
        return dict(timings) if isinstance(timings, dict) else {}

    def writes_tag(self, messages: list[dict[str, str]]) -> bool:
        """Whether a reply to `messages` begins with the model writing its emotion tag: the style
        asks for one and the prompt answers a message without the reply's start written."""
        said = [m["role"] for m in messages if m["role"] != "system"]
        return self.style.ask_tag and bool(said) and said[-1] == "user"

    def _keep_tag(self, key: str, written: str) -> None:
        tag = written.strip() + "]"
        parsed, rest, _ = _match_tag(tag)
        if not tag.startswith("[") or parsed is None or parsed.emotion is None or rest.strip():
            return  # no tag (the model began its words): the reply writes what it writes
        with self._tags_lock:
            self._tags_ahead[key] = tag
            while len(self._tags_ahead) > TAGS_KEPT:
                self._tags_ahead.popitem(last=False)

    def _with_tag_ahead(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        """`messages` ending with the reply's start, when a tag was written ahead for them (or is
        being written: the server answers that request before this one anyway)."""
        if not self.writes_tag(messages):
            return messages
        key = _digest(messages)
        with self._tags_lock:
            writing = self._writing.get(key)
        if writing is not None:
            writing.wait(self.settings.attempt_timeout_s)
        with self._tags_lock:
            tag = self._tags_ahead.get(key)
        return messages + [{"role": "assistant", "content": tag}] if tag else messages

    def stream_reply(self, persona: PersonaBrief, path: list[Turn], cues: EmotionCues) -> Iterator[ReplyChunk]:
        """Yield clean sentences as the server streams them, then the final Reply.

        Raises LLMError (unreachable, timed out, HTTP error) before or during the stream; the
        sentences already yielded stay valid. Each wait is bounded by settings.timeout_s.
        A reply with nothing usable is asked for again (retry_unusable) before the fallback line.
        """
        messages = self._with_tag_ahead(self.style.messages(persona, path, cues))
        for attempt in range(self.retry_unusable + 1):
            last = attempt == self.retry_unusable
            chunks = self._stream_once(persona, messages, nudge=attempt > 0, heard=cues.user_current)
            first = next(chunks, None)
            if first is None:
                return
            if not last and first.sentence and first.emotion_source == "fallback":
                chunks.close()
                log.warning("LLM reply had nothing usable; asking again (%d of %d)", attempt + 1,
                            self.retry_unusable)
                continue
            yield first
            yield from chunks
            return

    def _stream_once(self, persona: PersonaBrief, messages: list[dict[str, str]], *, nudge: bool,
                     heard: EmotionState | None = None) -> Iterator[ReplyChunk]:
        import openai

        if nudge:  # before a reply's start written in the prompt, which must stay last
            cut = len(messages) - (messages[-1]["role"] == "assistant")
            messages = messages[:cut] + [{"role": "system", "content": NUDGE}] + messages[cut:]
        model = persona.model or self.settings.model
        temperature = persona.temperature if persona.temperature is not None else self.settings.temperature
        temperature = min(temperature + (0.2 if nudge else 0.0), self.max_temperature)
        max_tokens = persona.max_tokens or self.settings.max_tokens
        if self.max_tokens_cap is not None:
            max_tokens = min(max_tokens, self.max_tokens_cap)
        finish: dict[str, str | None] = {"reason": None}
        t0 = time.monotonic()
        extra = {"extra_body": self.extra_body} if self.extra_body else {}
        try:
            stream = self._client.chat.completions.create(
                model=model, messages=messages, temperature=temperature, max_tokens=max_tokens, stream=True, **extra
            )
        except (openai.APIError, OSError) as exc:
            raise self._error(exc, model) from exc

        server_timings: dict[str, Any] = {}
        raw: list[str] = []  # the model's text as it came (logged with the timings, for benchmarks)
        first_piece_s: list[float] = []  # seconds from the request to the first piece of text

        def pieces() -> Iterator[str]:
            if messages[-1]["role"] == "assistant":  # the reply's start, written in the prompt
                yield messages[-1]["content"]
            for chunk in stream:
                extra = getattr(chunk, "model_extra", None) or {}
                if isinstance(extra.get("timings"), dict):  # llama.cpp: prompt/cache/decode figures
                    server_timings.update(extra["timings"])
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                if choice.finish_reason:
                    finish["reason"] = choice.finish_reason
                text = getattr(choice.delta, "content", None) if choice.delta is not None else None
                if text:
                    if not raw:
                        first_piece_s.append(time.monotonic() - t0)
                    raw.append(text)
                    yield text

        first = True
        try:
            for out in stream_structured(
                pieces(), persona, emotion_of=self.emotion_of, max_sentences=self.style.max_sentences,
                max_chars=self.style.max_chars, truncated=lambda: finish["reason"] == "length",
                expect_tag=self.style.ask_tag, companion=self.style.companion, person_tag=self.style.person_tag,
                heard=heard,
                avoid=said_before(messages) + self.style.example_answers(),
            ):
                if first and out.sentence:
                    # with the server's timings so far (llama.cpp: prompt_ms, predicted_n, ...),
                    # for benchmarks (bench/live.py): where the time to the first sentence went
                    seconds = time.monotonic() - t0
                    facts = {"seconds": seconds, "first_piece_s": first_piece_s[0] if first_piece_s else None,
                             **server_timings}
                    log.info("LLM first sentence after %.2f s (%s)", seconds, model, extra={"llm_first": facts})
                    first = False
                if out.final is not None:  # logged before it is handed on: callers stop at the final chunk
                    _log_reply(time.monotonic() - t0, model, finish["reason"], server_timings, "".join(raw))
                yield out
        except (openai.APIError, OSError) as exc:
            raise self._error(exc, model) from exc
        except ValueError as exc:  # json.JSONDecodeError: the event stream is not chat-completion JSON
            raise LLMError(f"The {self._where()} sent a reply that is not an OpenAI chat event stream "
                           f"(an event is not valid JSON: {str(exc)[:120]}); check llm.base_url points at "
                           "an OpenAI-compatible /v1 endpoint") from exc
        finally:
            close: Callable[[], None] | None = getattr(stream, "close", None)
            if close is not None:
                close()  # stops the server's generation when we stopped early


def _digest(messages: list[dict[str, str]]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode("utf-8")).hexdigest()


def _content(answer: Any) -> str:
    """The text of a chat completion that does not stream ("" when it has none)."""
    choices = getattr(answer, "choices", None) or []
    message = getattr(choices[0], "message", None) if choices else None
    return str(getattr(message, "content", None) or "")


def _log_reply(seconds: float, model: str, finish: str | None, timings: dict[str, Any], raw: str) -> None:
    """One line per reply; `extra` carries the server's timings (llama.cpp: prompt_n tokens
    evaluated, cache_n reused, ...) and the raw text, for benchmarks (bench/live.py, replies.py)."""
    facts = {"llm_timings": dict(timings), "llm_raw": raw}
    t = timings
    if t:
        log.info("LLM reply in %.2f s (%s, finish=%s; prompt %s tokens, %s from cache; %s tokens at %.1f/s)",
                 seconds, model, finish, t.get("prompt_n"), t.get("cache_n"), t.get("predicted_n"),
                 float(t.get("predicted_per_second") or 0.0), extra=facts)
    else:
        log.info("LLM reply in %.2f s (%s, finish=%s)", seconds, model, finish, extra=facts)


def said_before(messages: list[dict[str, str]]) -> list[str]:
    """The sentences a reply must not copy: every assistant message of the prompt (the avatar's
    earlier turns, tags removed) and the message being answered (the few-shot answers, in the
    system message, come from PromptStyle.example_answers)."""
    said = [parse_tag(m["content"])[1] for m in messages if m["role"] == "assistant"]
    return said + [next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")]

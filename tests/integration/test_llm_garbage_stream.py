"""An OpenAI-compatible server that streams garbage (events that are not JSON): the turn fails with a
clear message in the CLI and the session goes on (issue 13, item 8). Real HTTP on 127.0.0.1."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.chat_repl import ChatRepl
from app.conversation import Conversation, Services
from app.turn_events import TurnFailed
from app.personas import get_persona
from app.settings import Settings
from dialogue.llm import LLMError, PersonaBrief, make_llm
from dialogue.settings import LLMSettings
from dialogue.store import ConversationStore
from dialogue.turns import AvatarRole, EmotionCues, Speaker, Turn
from tests.fakes import fake_emotion_of

BODIES = {
    "not-json": b"data: this is not json at all\n\n",
    "half-json": b'data: {"id": "x", "choices": [\n\n',
}


class GarbageHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    body = BODIES["not-json"]

    def log_message(self, *args):
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(GarbageHandler.body)
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture(scope="module")
def garbage_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), GarbageHandler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def llm_settings(url: str) -> LLMSettings:
    return LLMSettings(backend="openai", base_url=url, model="m", timeout_s=5, max_retries=0)


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_garbage_event_stream_is_an_llm_error(garbage_url, kind):
    GarbageHandler.body = BODIES[kind]
    llm = make_llm(llm_settings(garbage_url))
    path = [Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text="hi")]
    with pytest.raises(LLMError, match="not an OpenAI chat event stream|cannot be read"):
        list(llm.stream_reply(PersonaBrief(name="Ada", system_prompt="You are Ada."), path, EmotionCues()))


def test_cli_chat_with_a_garbage_server_says_so_and_goes_on(garbage_url, tmp_path):
    GarbageHandler.body = BODIES["not-json"]
    settings = Settings(data_dir=tmp_path)
    store = ConversationStore(settings.db_path)
    services = Services(store=store, llm=make_llm(llm_settings(garbage_url)), emotion_of=fake_emotion_of)
    conv = Conversation.start(services, get_persona("ada"))
    events = list(conv.send("first"))
    assert isinstance(events[-1], TurnFailed) and "JSONDecodeError" not in events[-1].message
    out = io.StringIO()
    ChatRepl(settings, services, conv).run(io.StringIO("second\n/path\n"), out, interactive=False)
    text = out.getvalue()
    assert "not an OpenAI chat event stream" in text and "[2] you: second" in text
    store.close()

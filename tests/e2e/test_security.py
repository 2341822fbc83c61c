"""Isolation between users, through gradio_client against a real server (issue 13, items 1-3).

Each `Client` is one browser: it gets its own owner cookie from the server on its first request.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.app_server import start_app
from tests.fakes import FakeLLM

REFUSED = "no such conversation"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("secure")
    demo, url = start_app(data_dir, FakeLLM([("Good to see you. Tell me more.", "happy", 0.7)]))
    yield url, data_dir
    demo.close()


def client(url: str, **kwargs):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False, **kwargs)


# API outputs of a turn event: history, video, badge, reply, status, text box (gr.State is not sent)
HISTORY, VIDEO, STATUS = 0, 1, 4


def status_of(result) -> str:
    return str(result[STATUS])


def only_conversation_of(data_dir: Path, owner_secret: str) -> str:
    from app.access import owned
    from dialogue.store import ConversationStore

    with ConversationStore(data_dir / "conversations.sqlite3") as store:
        [info] = owned(store, owner_secret)
    return info.id


@pytest.fixture(scope="module")
def alice(server):
    """A browser with one conversation: (client, conversation id, outputs of its first send)."""
    url, data_dir = server
    a = client(url)
    job = a.submit("hello, this is alice's secret", api_name="/send")
    job.result()
    return a, only_conversation_of(data_dir, a.cookies["warmchat_owner"]), job.outputs()


def test_every_browser_gets_its_own_httponly_owner_cookie(server):
    url, _ = server
    a, b = client(url), client(url)
    assert a.cookies["warmchat_owner"] != b.cookies["warmchat_owner"]
    with urllib.request.urlopen(url) as page:
        header = page.headers["set-cookie"]
    assert "warmchat_owner=" in header and "HttpOnly" in header and "SameSite=Strict" in header


def test_another_browser_cannot_open_a_conversation_by_its_id(server, alice):
    url, _ = server
    a, cid, _ = alice
    mine = a.predict(cid, api_name="/open_conversation")
    assert "alice's secret" in str(mine[HISTORY]) and REFUSED not in status_of(mine)
    for other in (client(url), client(url, httpx_kwargs={"cookies": {"warmchat_owner": "x" * 43}})):
        result = other.predict(cid, api_name="/open_conversation")
        assert status_of(result) == f'<div class="wc-error" role="alert">⚠ {REFUSED}</div>'
        assert "alice" not in str(result)
        assert other.predict("ghost-id", api_name="/open_conversation")[STATUS] == result[STATUS]  # same answer


def test_a_borrowed_session_is_refused_on_every_path(server, alice):
    """Bob presents Alice's session hash (her server-side state) with his own owner cookie."""
    url, _ = server
    a, cid, _ = alice
    bob = client(url)
    bob.session_hash = a.session_hash
    for api, args in (("/send", ("bob writes into alice's chat",)), ("/regenerate", ()),
                      ("/edit", (None, "bob's edit")), ("/switch_branch", (None,)), ("/export", ())):
        result = bob.predict(*args, api_name=api)
        assert REFUSED in str(result), api
        assert "alice's secret" not in str(result), api
    # nothing was added to Alice's tree
    history = a.predict(cid, api_name="/open_conversation")[HISTORY]
    assert "bob" not in str(history)


def test_media_is_handed_out_from_gradio_cache_not_from_an_id_derived_path(server, alice):
    url, data_dir = server
    _, cid, outputs = alice
    videos = [o[VIDEO]["value"] for o in outputs if isinstance(o[VIDEO], dict) and o[VIDEO].get("value")]
    assert videos, "the reply's video segments are streamed"
    served = videos[-1]["url"]
    assert str(data_dir) not in served and cid not in served
    [folder] = [p for p in (data_dir / "media").iterdir() if p.name.startswith(cid)]
    assert folder.name != cid and len(folder.name) == len(cid) + 33  # "<id>-<32 hex>": not guessable
    # the id-only path of older versions serves nothing
    guess = url + f"gradio_api/file={data_dir}/media/{cid}/x.mp4"
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(guess)


def save_persona(c, avatar: str = "stylized", profile: str = "warm", portrait=None):
    """The Persona tab's save, through the API: (picker, name, field, portrait, status, avatar) messages."""
    return c.predict("mallory", "Mallory", "", "Hi.", "Be brief.", avatar, profile, "piper", 1.0, 1.0, portrait,
                     api_name="/save_persona")


def test_a_persona_cannot_point_its_avatar_at_a_server_file(server):
    url, data_dir = server
    c = client(url)
    answers = {bad: save_persona(c, avatar=bad) for bad in ("/etc/passwd", "/no/such/file.png", "../../ui_secret")}
    texts = {bad: " ".join(map(str, out[1:5])).replace(bad, "X") for bad, out in answers.items()}
    assert len(set(texts.values())) == 1  # the same answer whether the file exists or not
    text = texts["/etc/passwd"]
    assert "not saved" in text and "neither a built-in avatar" in text and "cannot read" not in text
    assert not (data_dir / "personas" / "mallory.toml").exists()
    assert "saved persona" in str(save_persona(c, avatar="hopper")[4])


def test_an_emotion_profile_is_a_name_and_errors_hide_the_install_path(server):
    url, _ = server
    out = save_persona(client(url), profile="../../../../x")
    text = " ".join(map(str, out[1:5]))
    assert "not saved" in text and "emotion_profile" in text
    assert str(Path(__file__).resolve().parents[2]) not in text  # the install path



def test_an_uploaded_oversized_portrait_is_refused_with_a_message(server, tmp_path):
    """7000x7000 (49 MP, under PIL's own bomb limit, so gradio hands it over undecoded) is refused
    from its header by the app. Larger ones (20000x20000) stop at PIL's limit in gradio's lazy
    open, also before any pixel is decoded."""
    from gradio_client import handle_file

    from tests.unit.app.test_refusals import huge_png

    url, data_dir = server
    out = save_persona(client(url), portrait=handle_file(str(huge_png(tmp_path / "big.png", 7000, 7000))))
    assert "portrait refused: the image is larger (7000x7000 pixels) than the 36 megapixels" in str(out[3])
    assert "not saved" in str(out[4]) and not (data_dir / "avatars" / "mallory.png").exists()

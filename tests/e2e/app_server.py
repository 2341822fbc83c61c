"""The app with fast fake services, launched in-process (tests and the docs screenshots)."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.e2e.fake_media import FakeASR, FakeSpeak, write_clip
from tests.fakes import fake_emotion_of


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(data_dir: Path, llm, avatar=None, port: int | None = None, listen_clip: str | None = None,
              settings=None, live: bool = False) -> tuple[object, str]:
    """Launch the demo on 127.0.0.1 without blocking, queued and launched as `warmchat serve` does
    (app.ui.server.configure_queue, launch_options); returns (demo, url).

    settings: the app's Settings (its data_dir is replaced by `data_dir`); default Settings().
    """
    from app.conversation import Services
    from app.settings import Settings
    from app.ui.demo import build_demo
    from app.ui.server import configure_queue, launch_options
    from dialogue.store import ConversationStore

    settings = (settings or Settings()).model_copy(update={"data_dir": data_dir})
    (data_dir / "media").mkdir(parents=True, exist_ok=True)
    services = Services(store=ConversationStore(settings.db_path), llm=llm, emotion_of=fake_emotion_of,
                        max_message_chars=200, avatar=avatar or FakeSpeak(data_dir / "media"))
    if listen_clip is None:
        listen_clip = str(data_dir / "media" / "listening.mp4")
        write_clip(Path(listen_clip), (90, 160, 120), frames=25)
    # live: the avatar as one live stream per page (tests/e2e/test_live.py); else the clip player
    demo = build_demo(services, settings, asr=FakeASR, listen_clip=listen_clip, live=live)
    port = port or free_port()
    configure_queue(demo, settings).launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options(settings, demo))
    return demo, f"http://127.0.0.1:{port}/"

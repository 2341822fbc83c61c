"""`warmchat serve`: build the real services and run the web app until interrupted."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading

from app.settings import ServerSettings, Settings

log = logging.getLogger(__name__)


class ServeError(ValueError):
    """The server cannot start as configured; the message says what to change."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and names that resolve only to loopback (localhost)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addrs = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return False
    return bool(addrs) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs)


def check_server(server: ServerSettings) -> tuple[str, str] | None:
    """The (username, password) for gradio auth, or None for no login.

    Raises:
        ServeError: a non-loopback host without a password, or a password without a username
            (or the reverse).
    """
    if bool(server.username) != bool(server.password):
        raise ServeError("give both --username and --password (or neither)")
    if not server.password and not is_loopback(server.host):
        raise ServeError(f"refusing to serve on {server.host} without a login: anyone on the network could "
                         "read the conversations. Add --username and --password, or use --host 127.0.0.1")
    return (server.username, server.password) if server.password else None


def media_dirs(settings: Settings) -> list[str]:
    """The folders whose files the browser may fetch: rendered video (data_dir/media), portraits
    and exports. Never the whole data dir: it holds every user's conversations (SQLite)."""
    return [str(settings.data_dir / "media"), str(settings.avatars_dir), str(settings.data_dir / "exports")]


def launch_options(settings: Settings, demo=None) -> dict:
    """Keyword arguments of `Blocks.launch` shared by `serve` and the tests; with the `demo`,
    its live avatar stream (the page script and the WebSocket route, app/ui/live.py).

    The owner-cookie middleware (app/access.py) gives every browser its server-issued secret.
    """
    from app.access import middleware
    from app.ui.demo import CSS

    db = str(settings.db_path)
    options = {"css": CSS, "allowed_paths": media_dirs(settings), "blocked_paths": [db, db + "-wal", db + "-shm"],
               "show_error": True, "ssr_mode": False, "app_kwargs": {"middleware": middleware()}}
    hub = getattr(demo, "warmchat_live", None)
    if hub is not None:
        from app.ui import live

        options["head"] = live.head()
        options["app_kwargs"]["routes"] = live.routes(hub)
    return options


# How often gradio's queue looks for new events while it has none. Gradio polls every 1 ms (its
# `Queue.sleep_when_free`): about 900 wake-ups a second and 5-6 % of a core on an idle server, on
# the 2 cores the LLM and the avatar share. Every 10 ms costs an event 5 ms on average.
QUEUE_IDLE_POLL_S = 0.01
QUEUE_PROGRESS_POLL_S = 0.05  # its progress-update loop's (gradio: 10 ms); only gr.Progress uses it


def configure_queue(demo, settings: Settings):
    """The queue shared by `serve` and the tests: no global limit of one request at a time.

    Events without their own limit (page load, branch switch, tree views, persona and profile
    forms) run as they come; turns run in their own "turn" group (ServerSettings.turn_concurrency,
    set where they are wired), export and speech recognition one at a time in their own groups;
    the LLM and the avatar renderer are bounded by their own slots (app/limits.py). The queue
    polls at `QUEUE_IDLE_POLL_S` when idle.
    """
    demo = demo.queue(default_concurrency_limit=None)
    queue = getattr(demo, "_queue", None)  # gradio keeps no public setting for its polling
    for name, seconds in (("sleep_when_free", QUEUE_IDLE_POLL_S),
                          ("progress_update_sleep_when_free", QUEUE_PROGRESS_POLL_S)):
        if hasattr(queue, name):
            setattr(queue, name, seconds)
        else:  # a gradio without it polls as it does (tests/unit/app/test_ui_logic.py checks the pin)
            log.warning("gradio's queue has no %s: its idle polling is left as it is", name)
    return demo


def serve(settings: Settings) -> int:
    """Build services (LLM, store, avatar pipeline, ASR on first use) and serve until Ctrl-C.

    Returns the exit status. Raises ServeError for an unsafe or inconsistent server setting.
    """
    auth = check_server(settings.server)
    # warmchat works offline: no usage analytics calls home (set before gradio is imported)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from app.services import build_services
    from app.ui.demo import build_demo

    try:
        services = build_services(settings, with_media=True)
    except ImportError as exc:  # the avatar pipeline (app.media) is not installed/built yet
        log.warning("avatar video disabled (%s): the chat runs text only", exc)
        services = build_services(settings, with_media=False)
    # services.listen (persona -> looping listening clip) is used once the avatar pipeline offers it
    demo = build_demo(services, settings, asr=_asr_factory(settings), listen=getattr(services, "listen", None))
    log.info("serving on http://%s:%d", settings.server.host, settings.server.port)
    configure_queue(demo, settings).launch(
        server_name=settings.server.host, server_port=settings.server.port, auth=auth,
        inbrowser=False, prevent_thread_lock=True, **launch_options(settings, demo))
    # Warm up only once the server answers: Gradio's launch() checks that the page loads within
    # 3 s and gives up; the warm-up (model loading, clip rendering) made that fail on a loaded machine.
    _warm_up_in_background(services, settings)
    demo.block_thread()  # until Ctrl-C
    return 0


def _warm_up_in_background(services, settings: Settings) -> threading.Thread:
    """Load the LLM and the default persona's voice, motion and avatar while the page opens."""
    from app.personas import get_persona
    from app.services import warm_up

    def run() -> None:
        try:
            warm_up(services, get_persona(settings.persona, settings.personas_dir), moods=True)
        except Exception:  # the first message will load (and report) whatever failed here
            log.exception("warm-up failed")

    thread = threading.Thread(target=run, name="warmchat-warm-up", daemon=True)
    thread.start()
    return thread


def _asr_factory(settings: Settings):
    """A builder of the configured speech recognizer, or None when dialogue.asr has none yet."""
    try:
        from dialogue.asr import make_asr
    except ImportError:
        log.warning("speech input disabled: dialogue.asr.make_asr is not available")
        return None
    return lambda: make_asr(settings.asr)

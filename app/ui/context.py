"""What every tab needs: the shared services and settings, the optional speech recognizer and the
listening-clip hook. Shared by all sessions and only read by them; per-session state (the
`Conversation`) lives in `gr.State`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.access import check_owner, owned, owner_of, server_secret
from app.conversation import Conversation, Services
from app.settings import Settings

log = logging.getLogger(__name__)


class Lazy:
    """A component built on first use, once, under a lock (the ASR model takes seconds to load)."""

    def __init__(self, build: Callable[[], object] | None):
        self._build = build
        self._value: object | None = None
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self._build is not None

    def get(self) -> object:
        if self._build is None:
            raise RuntimeError("not configured")
        with self._lock:
            if self._value is None:
                self._value = self._build()
            return self._value


@dataclass
class UIContext:
    """Shared, read-only inputs of the UI.

    asr: builds an object with `transcribe(pcm, sample_rate) -> Transcript` (dialogue.asr), or
        None when speech input is not available.
    listen: (persona) -> path of a short looping MP4 of the avatar listening, or None. The default
        returns `listen_clip` (a fixed idle clip file) when one is given.
    """

    services: Services
    settings: Settings
    asr: Lazy = field(default_factory=lambda: Lazy(None))
    listen_clip: str | None = None
    listen: Callable[[object], str | None] | None = None
    live: object | None = None  # app.ui.live.LiveHooks: the pages' live avatar streams (None: clips only)
    # One lock per conversation: a Regenerate clicked while a reply still streams waits for it
    # (a Conversation is not thread-safe). Locks only; no per-request data is kept here.
    _turn_locks: dict[str, threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    def turn_lock(self, conversation_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._turn_locks.setdefault(conversation_id, threading.Lock())

    def browser_secret(self) -> str:
        """The server's secret (app.access.server_secret): keys what the app keeps in browsers
        (gr.BrowserState) and private folder names; stable across restarts."""
        return server_secret(self.settings.data_dir)

    # --- ownership (app/access.py) -------------------------------------------------------------

    def check_owner(self, conversation_id: str, request) -> None:
        """Raise NoSuchConversation unless the request's owner cookie owns the conversation."""
        check_owner(self.services.store, conversation_id, request)

    def owned_conversations(self, request) -> list:
        """The request owner's conversations (ConversationInfo), most recent first."""
        return owned(self.services.store, request)

    def listening_video(self, persona, emotion=None) -> str | None:
        """The avatar listening (to a person feeling `emotion`, mirrored), or the fixed clip.

        persona: the conversation's persona; None (no conversation yet: the page shows the default
        persona's greeting) listens as the default persona."""
        if self.listen is not None:
            try:
                if persona is None:
                    persona = self.persona(self.settings.persona)
                return self.listen(persona, emotion)
            except Exception:  # no listening video is no reason to fail a turn
                log.exception("listening clip failed")
                return self.listen_clip
        return self.listen_clip

    # --- personas ----------------------------------------------------------------------------

    def personas(self) -> dict:
        """{name: Persona}, built-in and the user's."""
        from app.personas import list_personas

        return {p.name: p for p in list_personas(self.settings.personas_dir)}

    def persona(self, name: str):
        from app.personas import get_persona

        return get_persona(name, self.settings.personas_dir)

    def open_or_start(self, conv: Conversation | None, persona_name: str | None = None, owner=None
                      ) -> Conversation:
        """The session's conversation, started (and saved) with the default persona if none yet.

        owner: the request (or OwnerToken) whose owner cookie the new conversation belongs to;
            None = the local user's (no web request can open it). Raises NoSuchConversation
            for a request without a valid owner cookie.
        """
        if conv is not None:
            return conv
        digest = owner_of(owner).digest if owner is not None else None
        return Conversation.start(self.services, self.persona(persona_name or self.settings.persona), owner=digest)

    def open(self, conversation_id: str, owner=None) -> Conversation:
        """A saved conversation, at its saved current node, with the persona it was held with.

        owner: the request (or OwnerToken) that asks; the conversation must be its own
            (NoSuchConversation otherwise). None = the local user (no check).
        Builds the Conversation directly: ConversationStore.load returns the tree (with
        tree.current), not the (tree, current) pair Conversation.open expects.
        """
        if owner is not None:
            self.check_owner(conversation_id, owner)
        info = self.services.store.info(conversation_id)
        tree = self.services.store.load(conversation_id)
        try:
            persona = self.persona(info.persona)
        except ValueError:  # the persona was deleted since: continue with the default one
            log.warning("persona %r of %s is gone; using %r", info.persona, conversation_id, self.settings.persona)
            persona = self.persona(self.settings.persona)
        current = tree.current or tree.turns()[-1].id
        return Conversation(self.services, persona, tree, current)

    @staticmethod
    def switch(conv: Conversation, node_id: str) -> None:
        """Continue from `node_id`'s branch (its most recent leaf).

        Works around Conversation.switch storing the Turn that TalkingTree.leaf_of returns
        instead of its id.
        """
        leaf = conv.tree.leaf_of(node_id)
        conv.current = getattr(leaf, "id", leaf)
        conv.services.store.set_current(conv.id, conv.current)

    def turn_video(self, turn) -> str | None:
        """The first video segment of a turn (its TurnMedia), as an existing path; rows from before
        TurnMedia named only the folder: its first MP4 then."""
        refs = list(turn.media.segments)
        if not refs and turn.media.dir:
            folder = self.settings.data_dir / turn.media.dir
            refs = [str(p) for p in sorted(folder.glob("*.mp4"))] if folder.is_dir() else []
        return next((found for ref in refs if (found := self.media_path(ref))), None)

    def media_path(self, ref: str) -> str | None:
        """A turn's media reference (relative to the data dir, or absolute) as an existing path."""
        path = Path(ref)
        if not path.is_absolute():
            path = self.settings.data_dir / path
        return str(path) if path.is_file() else None

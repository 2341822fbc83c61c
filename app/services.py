"""Build the process-wide Services from Settings (heavy components load lazily, once)."""

from __future__ import annotations

import logging

from app.conversation import Services
from app.settings import Settings

log = logging.getLogger(__name__)


def build_services(settings: Settings, *, with_media: bool = False) -> Services:
    """Store, LLM and emotion recognizer from settings; the avatar pipeline when `with_media`.

    Raises ValueError for an unknown backend name (the message lists the known ones).
    """
    from dialogue.llm import make_llm
    from dialogue.store import ConversationStore
    from app.text_emotion import FeelingReader
    from emotion.text import recognize

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = ConversationStore(settings.db_path)
    services = Services(
        store=store,
        llm=make_llm(settings.llm, emotion_of=recognize),
        emotion_of=recognize,
        feeling_of=FeelingReader() if settings.learned_feelings else None,
        max_message_chars=settings.max_message_chars,
        profiles_dir=settings.profiles_dir,
        data_dir=settings.data_dir,
    )
    if with_media:
        from app.media import AvatarComponents

        services.avatar = AvatarComponents(settings)
    return services


def warm_up(services: Services, persona, moods: bool = False) -> float:
    """Load the LLM and the persona's voice, motion and avatar now (and its listening clips for
    every emotion when `moods`); returns the seconds it took."""
    import time

    from app.text_emotion import FeelingReader

    t0 = time.perf_counter()
    warm = getattr(services.llm, "warm_up", None)  # remote servers have nothing to load
    if warm is not None:
        warm(persona.brief())  # the embedded model starts and caches the persona's prompt
    if isinstance(services.feeling_of, FeelingReader):
        services.feeling_of.load()  # the sentence embedder (about 1-2 s), before the first message
    if services.avatar is not None:
        services.avatar.warm_up(persona, moods=moods)
    return time.perf_counter() - t0

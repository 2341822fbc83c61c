"""What warmchat keeps on disk: the SQLite schema (as migrations), turn rows, the export document.

Used by dialogue/store.py; pure (no connection is opened here).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from dialogue.tree import TalkingTree, TreeError
from dialogue.turns import SentenceEmotion, Turn

EXPORT_FORMAT = "warmchat.conversation"
EXPORT_VERSION = 1

# MIGRATIONS[i] takes the schema from version i to i + 1. Append, never edit a released one.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            persona TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            current_node TEXT
        )""",
        """CREATE TABLE turns (
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            parent_id TEXT,
            speaker TEXT NOT NULL,
            avatar_role TEXT NOT NULL,
            text TEXT NOT NULL,
            emotion TEXT NOT NULL,
            created_at REAL NOT NULL,
            started_at REAL,
            ended_at REAL,
            media TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (conversation_id, id),
            FOREIGN KEY (conversation_id, parent_id) REFERENCES turns(conversation_id, id) ON DELETE CASCADE
        )""",
        "CREATE INDEX turns_by_parent ON turns(conversation_id, parent_id)",
        # at most one root per conversation, enforced by the database as well as by the tree
        "CREATE UNIQUE INDEX turns_one_root ON turns(conversation_id) WHERE parent_id IS NULL",
    ),
    (
        # who may open a conversation through the web app: the SHA-256 of its browser's owner secret
        # (app/access.py); NULL = made by the CLI or before owners existed (never opened by the web app)
        "ALTER TABLE conversations ADD COLUMN owner TEXT",
        "CREATE INDEX conversations_by_owner ON conversations(owner, updated_at)",
    ),
    (
        # an avatar turn's sentences with the emotion each was said with (Turn.arc, a JSON list);
        # NULL = saved before arcs: the whole text said with the turn's emotion
        "ALTER TABLE turns ADD COLUMN arc TEXT",
    ),
]
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(RuntimeError):
    """The store cannot do what was asked: unknown conversation or turn, bad import, newer schema."""


class ConversationInfo(BaseModel):
    """One row of the conversation list (timestamps in seconds since the epoch)."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str = ""
    persona: str = ""
    created_at: float
    updated_at: float
    current_node: str | None = None



TURN_COLUMNS = (
    "conversation_id, id, parent_id, speaker, avatar_role, text, emotion, created_at, started_at, ended_at, media, arc"
)
_ARC = TypeAdapter(tuple[SentenceEmotion, ...])


def turn_row(conversation_id: str, turn: Turn) -> tuple[Any, ...]:
    """The values of a turns row, in the column order of `TURN_COLUMNS`."""
    return (
        conversation_id, turn.id, turn.parent, turn.speaker.value, turn.avatar_role.value, turn.text,
        turn.emotion.model_dump_json(), turn.created_at, turn.started_at, turn.ended_at,
        turn.media.model_dump_json(exclude_defaults=True),
        _ARC.dump_json(turn.arc).decode() if turn.arc else None,
    )


def row_turn(row: sqlite3.Row) -> Turn:
    return Turn(
        id=row["id"],
        parent=row["parent_id"],
        speaker=row["speaker"],
        avatar_role=row["avatar_role"],
        text=row["text"],
        emotion=json.loads(row["emotion"]),
        created_at=row["created_at"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        media=json.loads(row["media"]),
        arc=json.loads(row["arc"]) if row["arc"] else (),
    )


def parse_export(doc: dict[str, Any] | str) -> tuple[ConversationInfo, TalkingTree]:
    """Validate an export document. Raises StoreError saying what is wrong."""
    if isinstance(doc, (str, bytes)):
        try:
            doc = json.loads(doc)
        except json.JSONDecodeError as e:
            raise StoreError(f"import is not valid JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise StoreError(f"not a {EXPORT_FORMAT} export (format={found!r})")
    if doc.get("version") != EXPORT_VERSION:
        version = doc.get("version")
        raise StoreError(f"unsupported {EXPORT_FORMAT} version {version!r}; this build reads {EXPORT_VERSION}")
    try:
        info = ConversationInfo.model_validate(doc.get("conversation"))
        tree = TalkingTree.from_dict(doc.get("tree"))  # type: ignore[arg-type]
    except ValidationError as e:
        first = e.errors()[0]
        where = "".join(f".{p}" for p in first["loc"])
        raise StoreError(f"invalid export: conversation{where}: {first['msg']}") from None
    except TreeError as e:
        raise StoreError(f"invalid export: {e}") from None
    return info, tree

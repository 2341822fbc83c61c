"""Conversations on disk: one SQLite file holds every conversation's talking tree.

The schema (as migrations), the row mapping and the export format live in dialogue/store_schema.py.

stdlib sqlite3 in WAL mode with foreign keys on. Each saved turn is one transaction (insert the turn,
move the conversation's current node), so a crash loses at most the turn being written and never
leaves a half-saved one. A `schema_version` table records which migrations ran; a database written
by a newer build is refused rather than misread.

Thread-safety: one connection (`check_same_thread=False`) guarded by a re-entrant lock; the Gradio
app calls the store from worker threads. Turn ids are unique within a conversation (the primary key is
(conversation_id, id)), so an imported copy of a conversation keeps its turn ids.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dialogue.store_schema import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    MIGRATIONS,
    SCHEMA_VERSION,
    TURN_COLUMNS,
    ConversationInfo,
    StoreError,
    parse_export,
    row_turn,
    turn_row,
)
from dialogue.tree import TalkingTree, TreeError
from dialogue.turns import Turn, new_id

__all__ = ["ConversationInfo", "ConversationStore", "StoreError"]

log = logging.getLogger(__name__)
_TURN_VALUES = ", ".join("?" * len(TURN_COLUMNS.split(",")))  # one placeholder per turns column


class ConversationStore:
    """Conversations and their turns in the SQLite file at `path` (created if missing).

    Every error names the database file: SQLite's own errors (not a database, locked, read-only,
    disk full) are raised as StoreError "<path>: <what SQLite said>".

    Raises:
        StoreError: the file cannot be opened, is not a database, or its schema is newer than this
            build understands.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create the folder of the conversation database ({exc})") from exc
        with self._named_errors("cannot open the conversation database"):
            # isolation_level=None: no implicit transactions; _tx() opens and closes them explicitly
            self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10.0)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()

    # ---- plumbing -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _named_errors(self, doing: str = "conversation database error") -> Iterator[None]:
        """SQLite errors as StoreError naming this file (integrity errors pass: callers map them)."""
        try:
            yield
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {doing} ({exc})") from exc

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """The connection for reading, under the lock, with errors naming the file."""
        with self._lock, self._named_errors():
            yield self._conn

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock: committed on success, rolled back on any error."""
        with self._lock, self._named_errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def _migrate(self) -> None:
        with self._tx() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
            )
            have = db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
            if have > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: schema version {have} is newer than this build reads ({SCHEMA_VERSION})"
                )
            for version in range(have + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version - 1]:
                    db.execute(statement)
                db.execute("INSERT INTO schema_version VALUES (?, ?)", (version, time.time()))
                log.info("%s: migrated schema to version %d", self.path, version)

    def schema_version(self) -> int:
        """The highest migration applied to this database."""
        with self._read() as db:
            return db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]

    def _info(self, conversation_id: str) -> ConversationInfo:
        row = self._conn.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if row is None:
            raise StoreError(f"no conversation {conversation_id!r}")
        return ConversationInfo(**dict(row))

    def _require_turn(self, conversation_id: str, turn_id: str) -> None:
        hit = self._conn.execute(
            "SELECT 1 FROM turns WHERE conversation_id = ? AND id = ?", (conversation_id, turn_id)
        ).fetchone()
        if hit is None:
            raise StoreError(f"no turn {turn_id!r} in conversation {conversation_id!r}")

    def _insert_turn(self, conversation_id: str, turn: Turn) -> None:
        self._conn.execute(
            f"INSERT INTO turns ({TURN_COLUMNS}) VALUES ({_TURN_VALUES})",
            turn_row(conversation_id, turn),
        )

    def _update_conversation(self, conversation_id: str, current_node: str) -> None:
        self._require_turn(conversation_id, current_node)
        self._conn.execute(
            "UPDATE conversations SET current_node = ?, updated_at = ? WHERE id = ?",
            (current_node, time.time(), conversation_id),
        )

    # ---- conversations --------------------------------------------------------------------
    def create(self, conversation_id: str | None = None, title: str = "", persona: str = "",
               owner: str | None = None) -> str:
        """Create an empty conversation and return its id (a fresh one when None).

        owner: an opaque owner key (the web app stores a digest of the browser's secret, see
            app/access.py); None for conversations of the local user (CLI).
        Raises StoreError when the id is taken.
        """
        cid = conversation_id or new_id()
        now = time.time()
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO conversations (id, title, persona, created_at, updated_at, owner)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (cid, title, persona, now, now, owner),
                )
        except sqlite3.IntegrityError:
            raise StoreError(f"conversation {cid!r} already exists") from None
        log.info("created conversation %s", cid)
        return cid

    def list_conversations(self, owner: str | None = None) -> list[ConversationInfo]:
        """All conversations (only `owner`'s when given), most recently updated first."""
        where, args = ("WHERE owner = ? ", (owner,)) if owner is not None else ("", ())
        with self._read() as db:
            rows = db.execute(f"SELECT * FROM conversations {where}ORDER BY updated_at DESC, id", args).fetchall()
        return [ConversationInfo(**dict(r)) for r in rows]

    def owner(self, conversation_id: str) -> str | None:
        """The conversation's owner key (None: the local user's). Raises StoreError for an unknown id."""
        with self._read() as db:
            row = db.execute("SELECT owner FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if row is None:
            raise StoreError(f"no conversation {conversation_id!r}")
        return row["owner"]

    def info(self, conversation_id: str) -> ConversationInfo:
        """The conversation's row. Raises StoreError for an unknown id."""
        with self._read():
            return self._info(conversation_id)

    def load(self, conversation_id: str) -> TalkingTree:
        """The conversation's tree, with `tree.current` set to its saved current node.

        Raises StoreError for an unknown id or rows that do not form a tree.
        """
        with self._read() as db:
            info = self._info(conversation_id)
            rows = db.execute(
                "SELECT * FROM turns WHERE conversation_id = ? ORDER BY rowid", (conversation_id,)
            ).fetchall()
        turns = [row_turn(r) for r in rows]
        try:
            return TalkingTree.from_turns(conversation_id, turns, title=info.title, current=info.current_node)
        except TreeError as e:
            raise StoreError(f"conversation {conversation_id!r} is damaged: {e}") from e

    def save_turn(self, conversation_id: str, turn: Turn, current_node: str | None = None) -> None:
        """Insert `turn` and make `current_node` (default: the turn) current, in ONE transaction.

        Raises:
            StoreError: unknown conversation, parent or current node; duplicate id; a second root.
                Nothing is written then.
        """
        with self._tx():
            self._info(conversation_id)
            if turn.parent is not None:
                self._require_turn(conversation_id, turn.parent)
            try:
                self._insert_turn(conversation_id, turn)
            except sqlite3.IntegrityError as e:
                raise StoreError(
                    f"cannot save turn {turn.id!r} in {conversation_id!r} (duplicate id or second root): {e}"
                ) from None
            self._update_conversation(conversation_id, current_node or turn.id)
        log.debug("saved turn %s in %s", turn.id, conversation_id)

    def set_current(self, conversation_id: str, node_id: str) -> None:
        """Make `node_id` the conversation's current node. Raises StoreError for unknown ids."""
        with self._tx():
            self._info(conversation_id)
            self._update_conversation(conversation_id, node_id)

    def rename(self, conversation_id: str, title: str) -> None:
        """Change the conversation's title. Raises StoreError for an unknown id."""
        with self._tx() as db:
            self._info(conversation_id)
            db.execute(
                "UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?",
                (title, time.time(), conversation_id),
            )

    def delete(self, conversation_id: str) -> None:
        """Delete the conversation and all its turns. Raises StoreError for an unknown id."""
        with self._tx() as db:
            self._info(conversation_id)
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        log.info("deleted conversation %s", conversation_id)

    # ---- JSON -----------------------------------------------------------------------------
    def export_json(self, conversation_id: str) -> dict[str, Any]:
        """A JSON-ready copy: {"format": "warmchat.conversation", "version": 1, "conversation": {...},
        "tree": <warmchat.tree document>}. Raises StoreError for an unknown id."""
        with self._read():
            info = self._info(conversation_id)
            tree = self.load(conversation_id)
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "conversation": info.model_dump(mode="json"),
            "tree": tree.to_dict(),
        }

    def import_json(self, doc: dict[str, Any] | str) -> str:
        """Store an `export_json` document (or its JSON text) and return the new conversation's id.

        The exported id is kept unless taken, in which case a fresh id is used.

        Raises:
            StoreError: not valid JSON, not a warmchat.conversation document, an unsupported version,
                or a tree that does not validate (the message says what is wrong). Nothing is written.
        """
        info, tree = parse_export(doc)
        with self._tx() as db:
            cid = info.id
            if db.execute("SELECT 1 FROM conversations WHERE id = ?", (cid,)).fetchone() is not None:
                cid = new_id()
            db.execute(
                "INSERT INTO conversations (id, title, persona, created_at, updated_at, current_node)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (cid, info.title, info.persona, info.created_at, info.updated_at, tree.current),
            )
            for turn in tree.turns():  # parents first
                self._insert_turn(cid, turn)
        log.info("imported conversation %s as %s (%d turns)", info.id, cid, len(tree))
        return cid

    def integrity_check(self) -> str:
        """SQLite's `PRAGMA integrity_check` verdict ("ok" when the file is sound)."""
        with self._read() as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0]

    def close(self) -> None:
        """Close the database; the store cannot be used afterwards."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "ConversationStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()



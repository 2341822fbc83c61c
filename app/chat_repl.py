"""`warmchat chat`: a conversation in the terminal, typed or piped line by line."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TextIO

from app.conversation import Conversation, Services
from app.turn_events import InputError, ReplySaved, ReplySentence, TurnFailed, UserTurnSaved
from app.errors import user_message
from app.personas import get_persona
from app.settings import Settings
from dialogue.store import StoreError
from dialogue.turns import Speaker

log = logging.getLogger(__name__)


class ChatRepl:
    def __init__(self, settings: Settings, services: Services, conversation: Conversation):
        self.settings = settings
        self.services = services
        self.conv = conversation

    @classmethod
    def create(cls, settings: Settings, conversation_id: str | None = None) -> "ChatRepl":
        from app.services import build_services

        persona = get_persona(settings.persona, settings.personas_dir)
        services = build_services(settings)
        if conversation_id:
            conv = Conversation.open(services, conversation_id, persona)
        else:
            conv = Conversation.start(services, persona)
        return cls(settings, services, conv)

    # --- the loop ------------------------------------------------------------------------------

    def run(self, stdin: TextIO, out: TextIO, interactive: bool) -> int:
        name = self.conv.persona.display_name
        if interactive:
            out.write(f"warmchat: talking with {name} (conversation {self.conv.id}). /help for commands.\n")
        self._show_path_tail(out)
        while True:
            if interactive:
                out.write("you> ")
                out.flush()
            line = stdin.readline()
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            if not interactive:  # echo what was read, so a piped transcript reads as a dialogue
                out.write(f"you> {line if len(line) <= 200 else line[:200] + '...'}\n")
            if line.startswith("/"):
                if self.command(line, out) == "quit":
                    break
            else:
                self._run_turn(self.conv.send, out, line)
            out.flush()
        out.write(f"(saved as conversation {self.conv.id})\n")
        return 0

    def _run_turn(self, action, out: TextIO, *args) -> None:
        try:
            events = action(*args)
            for event in events:
                if isinstance(event, ReplySentence) and event.index == 0:
                    out.write(f"{self.conv.persona.display_name}> ")
                    out.flush()
                if isinstance(event, ReplySentence):
                    out.write(event.text + " ")
                    out.flush()
                elif isinstance(event, ReplySaved):
                    e = event.turn.emotion
                    out.write(f"\n   [{e.label.value} {e.intensity:.1f}]\n")
                    if event.notice:
                        out.write(f"   ({event.notice})\n")
                elif isinstance(event, TurnFailed):
                    out.write(f"\n! {event.message}\n  (your message is saved; try /regen when the model is back)\n")
                elif isinstance(event, UserTurnSaved):
                    e = event.turn.emotion
                    log.info("user emotion: %s %.2f", e.label.value, e.intensity)
        except InputError as exc:
            out.write(f"! {exc}\n")

    # --- slash commands ------------------------------------------------------------------------

    def command(self, line: str, out: TextIO) -> str | None:
        cmd, _, rest = line.partition(" ")
        rest = rest.strip()
        try:
            if cmd in ("/quit", "/exit", "/q"):
                return "quit"
            if cmd == "/help":
                from app.cli import CHAT_HELP

                out.write(CHAT_HELP)
            elif cmd == "/regen":
                self._run_turn(self.conv.regenerate, out)
            elif cmd == "/edit":
                num, _, text = rest.partition(" ")
                turn = self._numbered_turn(num)
                self._run_turn(self.conv.edit, out, turn.id, text)
            elif cmd == "/path":
                self._show_path(out)
            elif cmd == "/branches":
                self._show_branches(out)
            elif cmd == "/switch":
                self.conv.switch(rest)
                self._show_path_tail(out)
            elif cmd == "/save":
                self._save(rest, out)
            elif cmd == "/load":
                self._load(rest, out)
            elif cmd == "/list":
                for row in self.services.store.list_conversations():
                    out.write(f"  {row.id}  {row.title}\n")
            elif cmd == "/new":
                self.conv = Conversation.start(self.services, self.conv.persona)
                self._show_path_tail(out)
            else:
                out.write(f"! unknown command {cmd}; /help lists them\n")
        except Exception as exc:  # a bad command must not end the chat
            out.write(f"! {user_message(exc)}\n")
        return None

    def _save(self, arg: str, out: TextIO) -> None:
        """/save FILE: the conversation as a JSON export (into FOLDER/<id>.json for a folder)."""
        if not arg:
            raise InputError("give a file name: /save FILE (for example /save chat.json)")
        path = Path(arg).expanduser()
        if path.is_dir():
            path = path / f"{self.conv.id}.json"
        if not path.parent.is_dir():
            raise InputError(f"cannot save to {path}: the folder {path.parent} does not exist")
        text = json.dumps(self.services.store.export_json(self.conv.id), indent=2, ensure_ascii=False)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot save to {path}: {exc.strerror or exc}") from exc
        out.write(f"saved to {path}\n")

    def _load(self, arg: str, out: TextIO) -> None:
        """/load FILE|ID: import a JSON export made by /save (or export), or open a saved id."""
        if not arg:
            raise InputError("give a file or a conversation id: /load FILE|ID (see /list)")
        path = Path(arg).expanduser()
        if path.is_file():
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise InputError(f"cannot load {path}: it is not a warmchat conversation export "
                                 f"(a JSON file written by /save): {exc}") from None
            try:
                conv_id = self.services.store.import_json(doc)
            except StoreError as exc:
                raise InputError(f"cannot load {path}: {exc}") from None
        elif path.exists():
            raise InputError(f"cannot load {path}: it is a folder, not a conversation export")
        else:
            known = {row.id for row in self.services.store.list_conversations()}
            if arg not in known:
                raise InputError(f"no file and no saved conversation called {arg!r} (see /list)")
            conv_id = arg
        self.conv = Conversation.open(self.services, conv_id, self.conv.persona)
        out.write(f"opened conversation {conv_id}\n")
        self._show_path_tail(out)

    def _numbered_turn(self, num: str):
        users = [t for t in self.conv.path() if t.speaker is Speaker.USER]
        if not num.isdigit() or not 1 <= int(num) <= len(users):
            raise InputError(f"give a message number between 1 and {len(users)} (see /path)")
        return users[int(num) - 1]

    def _show_path(self, out: TextIO) -> None:
        n = 0
        for turn in self.conv.path():
            if turn.speaker is Speaker.USER:
                n += 1
                out.write(f"  [{n}] you: {turn.text}\n")
            else:
                alts = len(self.conv.tree.siblings(turn.id))
                more = f"  (+{alts} other replies)" if alts else ""
                out.write(f"      {self.conv.persona.display_name} [{turn.emotion.label.value}]: {turn.text}{more}\n")

    def _show_path_tail(self, out: TextIO) -> None:
        last = self.conv.path()[-1]
        who = "you" if last.speaker is Speaker.USER else self.conv.persona.display_name
        out.write(f"{who}> {last.text}\n   [{last.emotion.label.value} {last.emotion.intensity:.1f}]\n")

    def _show_branches(self, out: TextIO) -> None:
        for i, branch in enumerate(self.conv.tree.branches(), 1):
            leaf = branch[-1]
            mark = "*" if leaf.id == self.conv.current else " "
            out.write(f" {mark}{i}. {leaf.id}  ({len(branch)} turns) ...{leaf.text[:50]}\n")

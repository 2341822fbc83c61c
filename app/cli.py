"""The `warmchat` command line: chat in the terminal, serve the web app, render, export, train."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from emotion import Emotion

log = logging.getLogger("warmchat")

CHAT_HELP = """\
Commands (type them at the prompt):
  /regen            regenerate the last reply (a sibling branch)
  /edit N TEXT      edit your message number N (from /path) into TEXT: a new branch and a new reply
  /path             show the current path with turn numbers
  /branches         list the tree's branches (leaf ids)
  /switch ID        continue from the branch of node ID (a leaf id or any node id)
  /save FILE        export this conversation as JSON
  /load FILE|ID     import a JSON export, or open a saved conversation by id
  /list             list saved conversations
  /new              start a new conversation
  /help             this help
  /quit             leave (everything is already saved)
"""


def _settings(args: argparse.Namespace):
    from app.settings import Settings

    overrides: dict = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    settings = Settings(**overrides)
    if getattr(args, "persona", None):
        settings = settings.model_copy(update={"persona": args.persona})
    if getattr(args, "llm_url", None):
        llm = settings.llm.model_copy(update={"backend": "openai", "base_url": args.llm_url})
        if getattr(args, "llm_model", None):
            llm = llm.model_copy(update={"model": args.llm_model})
        settings = settings.model_copy(update={"llm": llm})
    return settings


# --- chat --------------------------------------------------------------------------------


def cmd_chat(args: argparse.Namespace) -> int:
    from app.chat_repl import ChatRepl

    settings = _settings(args)
    # Piped input may hold bytes that are not UTF-8: read them as U+FFFD instead of failing later.
    for stream in (sys.stdin, sys.stdout):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    repl = ChatRepl.create(settings, conversation_id=args.resume)
    return repl.run(sys.stdin, sys.stdout, interactive=sys.stdin.isatty())


def cmd_serve(args: argparse.Namespace) -> int:
    from app.ui.server import serve

    settings = _settings(args)
    server = settings.server.model_copy(
        update={k: v for k, v in (("host", args.host), ("port", args.port), ("username", args.username),
                                  ("password", args.password)) if v is not None}
    )
    return serve(settings.model_copy(update={"server": server}))


def cmd_demo(args: argparse.Namespace) -> int:
    from app.demo import run_demo

    return run_demo(_settings(args), Path(args.out))


def cmd_render(args: argparse.Namespace) -> int:
    """One utterance to an MP4, showing each step and the frames rendered (on stderr)."""
    import dataclasses
    import time

    from app.media import AvatarComponents
    from app.personas import get_persona
    from app.progress import FrameProgress, ProgressLine, VoiceProgress
    from avatar.pipeline import Continuity, Mp4File, Say
    from emotion import EmotionState

    settings = _settings(args)
    persona = get_persona(settings.persona, settings.personas_dir).model_copy(update={"avatar": args.avatar})
    t0 = time.perf_counter()
    progress = ProgressLine(sys.stderr, interactive=sys.stderr.isatty())
    progress.step(f"loading the voice, motion model and avatar {args.avatar!r}")
    pipeline = AvatarComponents(settings, portraits_anywhere=True).pipeline(persona)  # the local user's file
    pipeline = dataclasses.replace(pipeline, tts=VoiceProgress(pipeline.tts, progress),
                                   renderer=FrameProgress(pipeline.renderer, progress))
    say = Say(args.text, EmotionState.of(args.emotion, args.intensity))
    seg = next(pipeline.stream([say], Continuity(), Mp4File(pipeline, Path(args.out))))
    progress.done()
    print(f"wrote {seg.video} ({seg.motion.duration:.1f} s, {seg.motion.num_frames} frames at "
          f"{seg.motion.fps} fps) in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from app.export import export_path

    def show(fraction: float, message: str) -> None:
        print(f"\r[{'#' * int(fraction * 30):30s}] {message:40s}", end="", flush=True)

    result = export_path(_settings(args), args.conversation, Path(args.out), node_id=args.node,
                         video=not args.no_video, progress=show)
    print()
    for f in (result.mp4, result.srt, result.json, result.csv):
        if f is not None:
            print(f"wrote {f}")
    print(f"{result.duration_s:.1f} s of conversation")
    return 0


def cmd_personas(args: argparse.Namespace) -> int:
    """List personas; malformed persona files are named on stderr with what is wrong."""
    from app.personas import scan_personas

    settings = _settings(args)
    personas, problems = scan_personas(settings.personas_dir)
    for persona in personas:
        print(f"{persona.name:12s} {persona.display_name:12s} avatar={persona.avatar:10s} "
              f"profile={persona.emotion_profile:9s} {persona.description}")
    for problem in problems:
        print(f"warmchat: skipped a malformed persona: {problem}", file=sys.stderr)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete a saved conversation with its media (videos, your recorded voice)."""
    from app.conversation import delete_conversation
    from dialogue.store import ConversationStore, StoreError

    settings = _settings(args)
    if not settings.db_path.is_file():
        print(f"warmchat: no saved conversations (in {settings.data_dir})", file=sys.stderr)
        return 1
    with ConversationStore(settings.db_path) as store:
        try:
            delete_conversation(store, settings.data_dir, args.conversation)
        except StoreError as exc:
            print(f"warmchat: {exc}", file=sys.stderr)
            return 1
    print(f"deleted conversation {args.conversation} and its media")
    return 0


def cmd_conversations(args: argparse.Namespace) -> int:
    import time

    from dialogue.store import ConversationStore

    settings = _settings(args)
    if not settings.db_path.is_file():  # nothing saved yet: list nothing, create nothing
        print(f"no saved conversations yet (in {settings.data_dir})")
        return 0
    with ConversationStore(settings.db_path) as store:
        rows = store.list_conversations()
    for row in rows:
        updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.updated_at))
        print(f"{row.id}  {row.title}  ({row.persona}, updated {updated})")
    if not rows:
        print(f"no saved conversations yet (in {settings.data_dir})")
    return 0


def _delegate(module: str, defaults: Callable[[object], list[str]] | None = None
              ) -> Callable[[argparse.Namespace], int]:
    """Run `module.main(argv)` (`function` for "module:function") with the remaining arguments,
    plus options taken from settings (`defaults(settings)`, each added only when the user did not give it)."""

    def run(args: argparse.Namespace) -> int:
        import importlib

        argv = list(args.rest)
        if defaults is not None and not any(a in ("-h", "--help") for a in argv):
            extra = defaults(_settings(args))
            for flag, value in zip(extra[::2], extra[1::2]):
                if flag not in argv:
                    argv += [flag, value]
        name, _, function = module.partition(":")
        return int(getattr(importlib.import_module(name), function or "main")(argv) or 0)

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warmchat",
        description="Chat with an emotion-aware talking-head avatar, offline. "
        "Settings come from WARMCHAT_* environment variables and ~/.config/warmchat/warmchat.toml.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    parser.add_argument("--data-dir", help="where conversations, personas and avatars are kept "
                        "(default: WARMCHAT_DATA_DIR or ~/.local/share/warmchat)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("chat", help="chat in the terminal (also reads lines piped on stdin)",
                       description="Chat in the terminal.\n\n" + CHAT_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--persona", help="persona name (see `warmchat personas`)")
    p.add_argument("--resume", metavar="ID", help="continue a saved conversation")
    p.add_argument("--llm-url", help="an OpenAI-compatible server (e.g. http://127.0.0.1:8080/v1) "
                   "instead of the embedded model")
    p.add_argument("--llm-model", help="model name on that server")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", help="start the web app (Gradio) on 127.0.0.1")
    p.add_argument("--host", help="address to bind (default 127.0.0.1; other hosts need a password)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--username", help="login name")
    p.add_argument("--password", help="login password")
    p.add_argument("--persona", help="default persona")
    p.add_argument("--llm-url", help="an OpenAI-compatible server instead of the embedded model")
    p.add_argument("--llm-model", help="model name on that server")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="hold a short scripted conversation and export it (no browser)")
    p.add_argument("--out", default="warmchat-demo", help="output folder for the MP4, SRT and JSON")
    p.add_argument("--persona", help="persona name")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("render", help="render one utterance to an MP4 (TTS -> motion -> video)")
    p.add_argument("--text", required=True, help="what the avatar says")
    p.add_argument("--emotion", default="neutral", choices=[e.value for e in Emotion], help="the emotion it is said with")
    p.add_argument("--intensity", type=float, default=0.7, help="emotion intensity 0..1")
    p.add_argument("--avatar", default="astronaut", help="built-in avatar name or a portrait image path")
    p.add_argument("--out", default="clip.mp4", help="output MP4 path")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("export", help="export a conversation path as MP4 + SRT + JSON (+ ARKit CSV)")
    p.add_argument("conversation", help="conversation id (see `warmchat conversations`)")
    p.add_argument("--node", help="export the path ending at this node (default: the current one)")
    p.add_argument("--out", default="export", help="output folder")
    p.add_argument("--no-video", action="store_true", help="only the transcript, subtitles and motion")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("personas", help="list personas (built-in and yours)")
    p.set_defaults(func=cmd_personas)
    p = sub.add_parser("conversations", help="list saved conversations")
    p.set_defaults(func=cmd_conversations)
    p = sub.add_parser("delete", help="delete a saved conversation and its media (videos, your recorded voice)")
    p.add_argument("conversation", help="conversation id (see: warmchat conversations)")
    p.set_defaults(func=cmd_delete)

    for name, module, text, defaults in (
        ("train-motion", "avatar.motion.train", "train the motion generator on a teacher corpus", None),
        ("mimic", "app.video_commands:mimic_main",
         "learn a person's talking style from a video: mimic VIDEO --name STYLE [--portrait IMG] (then set "
         "a persona's motion_style = STYLE; IMG: the clip's best frame as a portrait)",
         lambda s: ["--styles-dir", str(s.styles_dir)]),
        ("train-renderer", "app.video_commands:train_renderer_main",
         "train the diffusion refiner on a video of the avatar's person: train-renderer VIDEO [--config cpu|gpu] "
         "(writes a checkpoint and its portrait)", None),
    ):
        p = sub.add_parser(name, help=text, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER, help="options of the command (see its --help)")
        p.set_defaults(func=_delegate(module, defaults))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # Commands run by another module's main() take options warmchat does not know: pass them on.
    args, unknown = parser.parse_known_args(argv)
    if hasattr(args, "rest"):
        args.rest = unknown + list(args.rest)
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the CLI's last line of defence: a clear message, not a traceback
        if args.verbose:
            raise
        from app.errors import user_message

        print(f"warmchat: error: {user_message(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

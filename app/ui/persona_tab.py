"""The Persona tab: create, edit, duplicate, delete, import and export personas; upload and check a
portrait; pick the voice; preview the greeting. Errors appear under the field they concern.
"""

from __future__ import annotations

import json
import logging
import tempfile
import tomllib
from pathlib import Path

import gradio as gr

from app.access import avatar_source
from app.errors import user_message
from app.ui.chat_tab import error_html, ok_html
from app.ui.context import UIContext
from app.ui.record_actions import delete_handler, duplicate_handler, problems_html
from app.ui.records import RecordError, RecordFiles
from app.ui.storage import atomic_write_bytes, check_portrait
from avatar.face.landmarks import PortraitError
from dialogue.turns import new_id

log = logging.getLogger(__name__)

BUILTIN_AVATARS = ["stylized", "astronaut", "hopper"]
VOICE_BACKENDS = ["piper", "espeak", "coqui"]
PORTRAIT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
_FIELDS = ("name", "display_name", "description", "greeting", "system_prompt", "avatar", "emotion_profile",
           "voice")


def persona_files(ctx: UIContext) -> RecordFiles:
    """Personas through app.personas (TOML files; the user's in settings.personas_dir)."""
    from app.personas import Persona, delete_persona, list_personas, save_persona

    user_dir = ctx.settings.personas_dir

    def user_file(name: str) -> Path | None:
        path = user_dir / f"{name}.toml"
        return path if path.is_file() else None

    def parse(text: str, suffix: str) -> dict:
        return json.loads(text) if suffix == ".json" else tomllib.loads(text)

    return RecordFiles(Persona, lambda: {p.name: p for p in list_personas(user_dir)},
                       lambda p: save_persona(p, user_dir), lambda n: delete_persona(n, user_dir), user_file, parse)


def build_persona_tab(ctx: UIContext) -> tuple:
    """Lay out the tab; returns (fn, outputs) to run on page load (fills the persona list)."""
    files = persona_files(ctx)
    with gr.Row():
        pick = gr.Dropdown(label="Personas", choices=[], scale=3, elem_id="persona-pick")
        new_btn = gr.Button("New", size="sm", elem_id="persona-new")
        dup_btn = gr.Button("Duplicate", size="sm", elem_id="persona-duplicate")
        del_btn = gr.Button("Delete", size="sm", variant="stop", elem_id="persona-delete")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            name = gr.Textbox(label="Name (file name: lowercase letters, digits, - _)", elem_id="persona-name")
            name_err = gr.HTML("", elem_classes="wc-slot")
            display = gr.Textbox(label="Display name", elem_id="persona-display")
            description = gr.Textbox(label="Description", lines=2)
            greeting = gr.Textbox(label="Greeting", lines=2, elem_id="persona-greeting")
            system_prompt = gr.Textbox(label="System prompt (how the persona talks)", lines=4, elem_id="persona-prompt")
            field_err = gr.HTML("", elem_classes="wc-slot")
            profile = gr.Dropdown(label="Emotion profile", choices=[], allow_custom_value=True)
            with gr.Row():
                backend = gr.Dropdown(label="Voice engine", choices=VOICE_BACKENDS, value="piper")
                rate = gr.Slider(0.5, 2.0, value=1.0, step=0.05, label="Voice rate")
                pitch = gr.Slider(0.5, 2.0, value=1.0, step=0.05, label="Voice pitch")
        with gr.Column(scale=2):
            avatar = gr.Dropdown(label="Avatar (built in, or your uploaded portrait)", choices=BUILTIN_AVATARS,
                                 value="stylized", allow_custom_value=True, elem_id="persona-avatar")
            # image_mode=None: gradio hands over the file as uploaded, without decoding it (the
            # portrait is size-checked from its header before anything decodes it). PIL's own
            # limit (~179 MP) refuses larger files at gradio's lazy open, also before decoding.
            portrait = gr.Image(label="Upload a portrait (one face, frontal)", type="filepath", height=240,
                                sources=["upload"], elem_id="portrait", image_mode=None)
            portrait_err = gr.HTML("", elem_id="portrait-error", elem_classes="wc-slot")
            preview_btn = gr.Button("Preview greeting", elem_id="persona-preview")
            preview_video = gr.Video(label="Preview", autoplay=True, interactive=False, height=220,
                                     elem_id="persona-preview-video")
            preview_text = gr.Markdown("")
    with gr.Row():
        save_btn = gr.Button("Save persona", variant="primary", elem_id="persona-save")
        export_btn = gr.Button("Export", size="sm")
        import_file = gr.File(label="Import a persona (.toml or .json)", file_types=[".toml", ".json"], height=130)
        export_file = gr.File(label="Exported", interactive=False, height=130)
    status = gr.HTML("", elem_id="persona-status", elem_classes="wc-slot")

    form = [name, display, description, greeting, system_prompt, avatar, profile, backend, rate, pitch]

    def choices(selected: str | None = None):
        names = sorted(files.all())
        return gr.Dropdown(choices=names, value=selected if selected in names else None)

    slots = [name_err, field_err, portrait_err, status]

    def fill(selected: str | None):
        """The form for persona `selected` (an empty one for None), its message slots cleared and
        the portrait upload emptied (it belonged to the persona shown before)."""
        rec = files.all().get(selected or "")
        profiles = _profile_names(ctx)
        cleared = ("", "", "", "", None)
        if rec is None:
            return ("", "", "", "", "", gr.Dropdown(value="stylized", choices=BUILTIN_AVATARS),
                    gr.Dropdown(choices=profiles, value="warm" if "warm" in profiles else None), "piper", 1.0,
                    1.0) + cleared
        d = rec.model_dump(mode="json")
        voice = d.get("voice") or {}
        return (d.get("name", ""), d.get("display_name", ""), d.get("description", ""), d.get("greeting", ""),
                d.get("system_prompt", ""), gr.Dropdown(value=d.get("avatar", "stylized"), choices=_avatars(ctx, d)),
                gr.Dropdown(choices=profiles, value=d.get("emotion_profile")), voice.get("backend", "piper"),
                voice.get("rate", 1.0), voice.get("pitch", 1.0)) + cleared

    def check_upload(path: str | None):
        if not path:
            return ""
        try:
            check_portrait(path)
        except Exception as exc:
            return error_html(f"portrait refused: {user_message(exc)}")
        return ok_html("one frontal face found: this portrait can be animated")

    def form_data(nm, disp, desc, greet, prompt, av, prof, be, rt, pt) -> dict:
        """The form as a persona document, over the saved one's fields the form does not show
        (fallback line, llm options, voice id), so saving never drops them."""
        data = {"name": (nm or "").strip(), "display_name": (disp or "").strip(), "description": desc or "",
                "greeting": greet or "", "system_prompt": prompt or "", "avatar": av or "stylized",
                "emotion_profile": prof or "", "voice": {"backend": be, "rate": rt, "pitch": pt}}
        data = {k: v for k, v in data.items() if k in files.model.model_fields and (v != "" or k == "name")}
        existing = files.all().get(data["name"])
        if existing is not None:
            base = existing.model_dump(mode="json")
            data["voice"] = {**base.get("voice", {}), **data.get("voice", {})}
            data = {**base, **data}
        return data

    def save(nm, disp, desc, greet, prompt, av, prof, be, rt, pt, portrait_path):
        """Save the form; (picker, name error, field error, portrait error, status, avatar field)."""
        no = ""
        outcome = _save(nm, disp, desc, greet, prompt, av, prof, be, rt, pt, portrait_path)
        if isinstance(outcome, tuple):  # refused: the messages say why
            return outcome + (gr.skip(),)
        return (choices(outcome.name), no, no, gr.skip(), ok_html(f"saved persona “{outcome.name}”"),
                gr.Dropdown(value=outcome.avatar, choices=_avatars(ctx, {"avatar": outcome.avatar})))

    def _save(nm, disp, desc, greet, prompt, av, prof, be, rt, pt, portrait_path):
        """The saved persona, or the (picker, messages...) outputs saying why it was not saved."""
        no = ""
        data = form_data(nm, disp, desc, greet, prompt, av, prof, be, rt, pt)
        if portrait_path:
            try:
                check_portrait(portrait_path)
            except Exception as exc:
                return gr.skip(), no, no, error_html(f"portrait refused: {user_message(exc)}"), \
                    error_html("not saved: fix the portrait above")
            suffix = Path(portrait_path).suffix.lower()
            # the persona names its portrait by file name: app.access.avatar_source finds it in avatars/
            data["avatar"] = f"{data['name'] or 'unnamed'}{suffix if suffix in PORTRAIT_SUFFIXES else '.png'}"
        else:
            try:  # a built-in avatar or a portrait uploaded before; never another file of the server
                avatar_source(data.get("avatar", "stylized"), ctx.settings.avatars_dir)
            except PortraitError as exc:
                return gr.skip(), no, no, error_html(str(exc)), error_html("not saved: see the message above")
        profiles = _profile_names(ctx)
        if data.get("emotion_profile", "warm") not in profiles:
            return gr.skip(), no, error_html(f"emotion_profile: there is no profile {data['emotion_profile']!r}; "
                                             f"pick one of: {', '.join(profiles)}"), gr.skip(), \
                error_html("not saved: see the message above")
        try:
            record = files.build(data)
            if portrait_path:
                atomic_write_bytes(ctx.settings.avatars_dir / data["avatar"], Path(portrait_path).read_bytes())
            files.save(record)
        except RecordError as exc:
            msg = error_html(f"{exc.field}: {exc}" if exc.field else str(exc))
            where = (msg, no) if exc.field == "name" else (no, msg)
            return gr.skip(), *where, gr.skip(), error_html("not saved: see the message above")
        except OSError as exc:
            return gr.skip(), no, no, gr.skip(), error_html(f"not saved: {user_message(exc)}")
        return record

    duplicate = duplicate_handler(files, choices, "persona")
    delete = delete_handler(files, choices)

    def export(selected: str | None):
        rec = files.all().get(selected or "")
        if rec is None:
            return None, error_html("pick a persona to export")
        from app.personas import to_toml

        out = Path(tempfile.mkdtemp(prefix="warmchat-export-")) / f"{rec.name}.toml"
        out.write_text(to_toml(rec), encoding="utf-8")
        return str(out), ""

    def import_(path: str | None):
        if not path:
            return gr.skip(), ""
        try:
            rec = files.import_file(path)
        except RecordError as exc:
            return gr.skip(), error_html(f"import refused: {exc}")
        return choices(rec.name), ok_html(f"imported “{rec.name}”")

    def preview_portrait(path: str) -> str:
        """An uploaded (not yet saved) portrait as a file in the data dir's avatars folder, named
        by its content, so the preview renders the portrait the person sees."""
        import hashlib

        data = Path(path).read_bytes()
        suffix = Path(path).suffix.lower()
        out = ctx.settings.avatars_dir / "previews" / (hashlib.sha256(data).hexdigest()[:16]
                                                       + (suffix if suffix in PORTRAIT_SUFFIXES else ".png"))
        if not out.is_file():
            atomic_write_bytes(out, data)
        return str(out)

    def preview(*form_and_portrait):
        """The greeting spoken by the persona as the form describes it (unsaved edits included),
        with the uploaded portrait when there is one (else the avatar field's)."""
        *form_values, portrait_path = form_and_portrait
        data = form_data(*form_values)
        disp, text = data.get("display_name") or data["name"], data.get("greeting") or "Hello!"
        avatar = ctx.services.avatar
        if avatar is None:
            return None, f"**{disp}:** {text}  \n*(video preview not available: no avatar pipeline)*"
        try:
            if portrait_path:
                check_portrait(portrait_path)
                data["avatar"] = preview_portrait(portrait_path)
            try:
                persona = files.build(data)
            except RecordError:  # an incomplete form: the default persona, with this form's avatar
                persona = ctx.persona(ctx.settings.persona).model_copy(update={"avatar": data["avatar"]})
            out = ctx.settings.data_dir / "media" / "preview" / f"{new_id()}.mp4"
            path = str(avatar.say_to_file(text, ctx.services.emotion_of(text), persona, out).video)
        except Exception as exc:
            log.exception("preview failed")
            return None, f"**{disp}:** {text}  \n" + error_html(user_message(exc))
        return path, f"**{disp}:** {text}"

    pick.input(fill, [pick], form + slots + [portrait], api_name=False)
    new_btn.click(lambda: (gr.Dropdown(value=None),) + fill(None), None, [pick] + form + slots + [portrait],
                  api_name=False)
    portrait.upload(check_upload, [portrait], [portrait_err], api_name=False)
    portrait.clear(lambda: "", None, [portrait_err], api_name=False)
    save_btn.click(save, form + [portrait], [pick, name_err, field_err, portrait_err, status, avatar],
                   api_name="save_persona")
    # after a change of the selection, the form shows the selected persona (its message stays)
    refill = (lambda selected: fill(selected)[:len(form)], [pick], form)
    dup_btn.click(duplicate, [pick], [pick, status], api_name=False).then(*refill, api_name=False)
    del_btn.click(delete, [pick], [pick, status], api_name=False).then(*refill, api_name=False)
    export_btn.click(export, [pick], [export_file, status], api_name=False)
    import_file.upload(import_, [import_file], [pick, status], api_name=False).then(*refill, api_name=False)
    preview_btn.click(preview, form + [portrait], [preview_video, preview_text], api_name=False)
    gr.on([pick.focus], lambda s: choices(s), [pick], [pick], api_name=False, show_progress="hidden")

    def on_load():
        """The default persona selected and its form filled (never a selected name over an empty
        form), and which persona files are malformed (left out) and why."""
        from app.personas import scan_personas

        default = ctx.settings.persona if ctx.settings.persona in files.all() else None
        problems = [str(exc) for exc in scan_personas(ctx.settings.personas_dir)[1]]
        return (choices(default),) + fill(default)[:len(form)] + (problems_html("persona", problems),)

    return on_load, [pick] + form + [status]


def _avatars(ctx: UIContext, d: dict) -> list[str]:
    """The avatar choices: the built-in ones, the portraits uploaded to the data dir, and the
    persona's own (shown even when it is no longer usable, so the form says what the file says)."""
    folder = ctx.settings.avatars_dir
    uploaded = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PORTRAIT_SUFFIXES) \
        if folder.is_dir() else []
    av = d.get("avatar", "stylized")
    names = BUILTIN_AVATARS + uploaded
    return names + ([av] if av not in names else [])


def _profile_names(ctx: UIContext) -> list[str]:
    from app.ui.profile_tab import profile_files

    return sorted(profile_files(ctx).all())


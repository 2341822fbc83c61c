"""The Emotion profile tab: create, edit, duplicate, delete, import and export emotion profiles
(baseline emotion, expressiveness, mirroring, decay, and the speaker/listener expression tables).
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import gradio as gr

from app.ui.chat_tab import error_html, ok_html
from app.ui.context import UIContext
from app.ui.record_actions import delete_handler, duplicate_handler, problems_html
from app.ui.records import RecordError, RecordFiles, json_files
from emotion import Emotion
from emotion.profile import EmotionProfile

log = logging.getLogger(__name__)

_NUMERIC = ("expressiveness", "mirroring", "decay_half_life_s")


def profile_files(ctx: UIContext) -> RecordFiles:
    """Emotion profiles through emotion.builtin (JSON files; the user's in settings.profiles_dir).
    A malformed file is left out (one broken file must not hide the others): `profile_problems`
    says which and why."""
    from emotion.builtin import scan_profiles

    def list_all() -> dict:
        return scan_profiles(ctx.settings.profiles_dir)[0]

    return json_files(EmotionProfile, ctx.settings.profiles_dir, list_all)


def profile_problems(ctx: UIContext) -> list[str]:
    """One line per malformed profile file: the file and what is wrong with it."""
    from emotion.builtin import scan_profiles

    return [str(exc) for exc in scan_profiles(ctx.settings.profiles_dir)[1]]



def table_json(table: dict) -> str:
    """An expression table as JSON, one emotion per line (compact enough to read at a glance)."""
    if not table:
        return "{}"
    rows = [f"  {json.dumps(emo)}: {json.dumps(coeffs)}" for emo, coeffs in table.items()]
    return "{\n" + ",\n".join(rows) + "\n}"


def build_profile_tab(ctx: UIContext) -> tuple:
    """Lay out the tab; returns (fn, outputs) to run on page load (fills the profile list)."""
    files = profile_files(ctx)
    labels = [e.value for e in Emotion]
    with gr.Row():
        pick = gr.Dropdown(label="Emotion profiles", choices=[], scale=3, elem_id="profile-pick")
        new_btn = gr.Button("New", size="sm")
        dup_btn = gr.Button("Duplicate", size="sm")
        del_btn = gr.Button("Delete", size="sm", variant="stop")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2):
            name = gr.Textbox(label="Name (lowercase letters, digits, - _)", elem_id="profile-name")
            name_err = gr.HTML("", elem_classes="wc-slot")
            description = gr.Textbox(label="Description", lines=2)
            with gr.Row():
                base_label = gr.Dropdown(label="Baseline emotion", choices=labels, value="neutral")
                base_k = gr.Slider(0.0, 1.0, value=0.0, step=0.05, label="Baseline intensity")
            expressiveness = gr.Slider(0.0, 1.5, value=1.0, step=0.05, label="Expressiveness (0 = still, 1.5 = theatrical)")
            mirroring = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="Mirroring of your emotion while listening")
            decay = gr.Number(value=20.0, label="Decay half-life back to baseline (seconds, 0-3600)")
            num_err = gr.HTML("", elem_classes="wc-slot")
        with gr.Column(scale=3):
            speaker = gr.Code(label="Speaking expressions: emotion -> {ARKit blendshape: weight 0..1}",
                              language="json", lines=8, max_lines=9, value="{}")
            listener = gr.Code(label="Listening expressions", language="json", lines=8, max_lines=9, value="{}")
            table_err = gr.HTML("", elem_classes="wc-slot")
    with gr.Row():
        save_btn = gr.Button("Save profile", variant="primary", elem_id="profile-save")
        export_btn = gr.Button("Export", size="sm")
        import_file = gr.File(label="Import a profile (.json)", file_types=[".json"], height=130)
        export_file = gr.File(label="Exported", interactive=False, height=130)
    status = gr.HTML("", elem_id="profile-status", elem_classes="wc-slot")
    form = [name, description, base_label, base_k, expressiveness, mirroring, decay, speaker, listener]

    def choices(selected: str | None = None):
        names = sorted(files.all())
        return gr.Dropdown(choices=names, value=selected if selected in names else None)

    slots = [name_err, num_err, table_err, status]

    def fill(selected: str | None):
        """The form for profile `selected` (an empty one for None), its message slots cleared."""
        rec = files.all().get(selected or "")
        cleared = ("", "", "", "")
        if rec is None:
            return ("", "", "neutral", 0.0, 1.0, 0.5, 20.0, "{}", "{}") + cleared
        d = rec.model_dump(mode="json")
        return (d["name"], d["description"], d["baseline"]["label"], d["baseline"]["intensity"],
                d["expressiveness"], d["mirroring"], d["decay_half_life_s"],
                table_json(d["speaker"]), table_json(d["listener"])) + cleared

    def save(nm, desc, bl, bk, ex, mi, de, sp, li):
        no = ""
        tables = {}
        for key, text in (("speaker", sp), ("listener", li)):
            try:
                tables[key] = json.loads(text or "{}")
            except json.JSONDecodeError as exc:
                return (gr.skip(), no, no, error_html(f"{key} table: not valid JSON (line {exc.lineno}: {exc.msg})"),
                        error_html("not saved: see the message above"))
        data = {"name": (nm or "").strip(), "description": desc or "",
                "baseline": {"label": bl, "intensity": bk}, "expressiveness": ex, "mirroring": mi,
                "decay_half_life_s": de, **tables}
        try:
            from emotion import EmotionState

            data["baseline"] = EmotionState.of(bl or "neutral", float(bk or 0.0))
            record = files.build(data)
            files.save(record)
        except RecordError as exc:
            msg = error_html(f"{exc.field}: {exc}" if exc.field else str(exc))
            slot = {"name": 0, "speaker": 2, "listener": 2}.get(exc.field, 1)
            errs = [no, no, no]
            errs[slot] = msg
            return gr.skip(), *errs, error_html("not saved: see the message above")
        except OSError as exc:
            return gr.skip(), no, no, no, error_html(f"not saved: {exc}")
        return choices(record.name), no, no, no, ok_html(f"saved profile “{record.name}”")

    duplicate = duplicate_handler(files, choices, "profile")
    delete = delete_handler(files, choices)

    def export(selected: str | None):
        rec = files.all().get(selected or "")
        if rec is None:
            return None, error_html("pick a profile to export")
        out = Path(tempfile.mkdtemp(prefix="warmchat-export-")) / f"{rec.name}.profile.json"
        out.write_text(rec.model_dump_json(indent=2), encoding="utf-8")
        return str(out), ""

    def import_(path: str | None):
        if not path:
            return gr.skip(), ""
        try:
            rec = files.import_file(path)
        except RecordError as exc:
            return gr.skip(), error_html(f"import refused: {exc}")
        return choices(rec.name), ok_html(f"imported “{rec.name}”")

    pick.input(fill, [pick], form + slots, api_name=False)
    new_btn.click(lambda: (gr.Dropdown(value=None),) + fill(None), None, [pick] + form + slots, api_name=False)
    save_btn.click(save, form, [pick, name_err, num_err, table_err, status], api_name="save_profile")
    # after a change of the selection, the form shows the selected profile (its message stays)
    refill = (lambda selected: fill(selected)[:len(form)], [pick], form)
    dup_btn.click(duplicate, [pick], [pick, status], api_name=False).then(*refill, api_name=False)
    del_btn.click(delete, [pick], [pick, status], api_name=False).then(*refill, api_name=False)
    export_btn.click(export, [pick], [export_file, status], api_name=False)
    import_file.upload(import_, [import_file], [pick, status], api_name=False).then(*refill, api_name=False)

    def on_load():
        """The profile list, and which of the user's files are malformed (left out) and why."""
        return choices(None), problems_html("emotion profile", profile_problems(ctx))

    return on_load, [pick, status]

"""Screenshots of each tab for docs/ (run: python -m tests.e2e.take_screenshots [docs]).

The app runs with the scripted LLM (repeatable pictures) and the real motion teacher + warp
renderer animating the astronaut portrait (tests/e2e/fake_media.RenderedSpeak); the layout,
history, tree and editors are the real app's.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.e2e.app_server import start_app  # noqa: E402
from tests.e2e.conftest import CHROMIUM_ARGS  # noqa: E402
from tests.e2e.fake_media import RenderedSpeak  # noqa: E402
from tests.e2e.helpers import send, wait_ready, wait_replies  # noqa: E402
from tests.fakes import FakeLLM  # noqa: E402

REPLIES = [
    ("Congratulations, that is wonderful news! How did the interview go?", "happy", 0.8),
    ("Oh no, I am sorry the commute was so rough. Do you want to talk about it?", "sad", 0.6),
    ("That is a great plan. A walk in the park sounds lovely.", "happy", 0.6),
    ("Well done for getting through it! What will you celebrate with?", "surprised", 0.5),
]
MESSAGES = ["I got the job offer today, I am so happy!", "But the commute home was awful and I feel sad.",
            "I think I will go for a walk in the park this evening."]


def main(out_dir: str = "docs") -> int:
    from avatar.render import AVATAR_DIR

    astronaut = np.asarray(Image.open(AVATAR_DIR / "astronaut.png").convert("RGB"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="warmchat-shots-"))
    Image.fromarray(astronaut).save(work / "astronaut.png")
    speak = RenderedSpeak(work / "data" / "media", astronaut)
    demo, url = start_app(work / "data", FakeLLM(REPLIES), avatar=speak, listen_clip=speak.listening_clip())
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1360, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(url)
            wait_ready(page)
            for i, text in enumerate(MESSAGES):
                send(page, text)
                wait_replies(page, i + 2)
            page.locator("#regenerate").click()
            expect(page.locator("#history")).to_contain_text("Well done")
            wait_replies(page, len(MESSAGES) + 1)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(out / "ui_chat.png"), full_page=True)

            page.get_by_role("tab", name="Tree").click()
            expect(page.locator("#tree-summary")).to_contain_text("2 branches")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(out / "ui_tree.png"), full_page=True)

            page.get_by_role("tab", name="Persona").click()
            page.locator("#persona-pick input").click()
            page.get_by_role("option", name="ada", exact=True).click()
            expect(page.locator("#persona-display input, #persona-display textarea").first).to_have_value("Ada")
            page.locator("#portrait input[type=file]").set_input_files(str(work / "astronaut.png"))
            expect(page.locator("#portrait-error")).to_contain_text("one frontal face")
            page.locator("#persona-preview").click()
            expect(page.locator("#persona-preview-video video")).to_have_attribute("src", re.compile(r".+\.mp4"))
            page.wait_for_timeout(1500)
            page.screenshot(path=str(out / "ui_persona.png"), full_page=True)

            page.get_by_role("tab", name="Emotion profile").click()
            page.locator("#profile-pick input").click()
            page.get_by_role("option", name="warm", exact=True).click()
            expect(page.locator("#profile-name input, #profile-name textarea").first).to_have_value("warm")
            page.wait_for_timeout(800)
            page.screenshot(path=str(out / "ui_profile.png"), full_page=True)
            browser.close()
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

"""A person makes a persona from a portrait; a picture without a face is refused with the reason."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect


@pytest.fixture(scope="module")
def astronaut_png(tmp_path_factory):
    from avatar.render import AVATAR_DIR

    path = tmp_path_factory.mktemp("img") / "astronaut.png"
    shutil.copy(AVATAR_DIR / "astronaut.png", path)
    return path


@pytest.fixture(scope="module")
def gradient_png(tmp_path_factory):
    ramp = np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))
    path = tmp_path_factory.mktemp("img") / "gradient.png"
    Image.fromarray(np.stack([ramp, ramp[::-1], ramp], axis=-1)).save(path)
    return path


def open_persona_tab(page, url):
    page.goto(url)
    page.get_by_role("tab", name="Persona").click()
    expect(page.locator("#persona-pick input")).to_have_value("ada")  # the page has loaded
    # the selected persona's own form, not an empty one under its name
    expect(page.locator("#persona-display textarea, #persona-display input").first).to_have_value("Ada")
    expect(page.locator("#persona-avatar input")).to_have_value("astronaut")


def test_create_persona_with_portrait(page, app_url, astronaut_png):
    open_persona_tab(page, app_url)
    page.locator("#persona-name textarea, #persona-name input").first.fill("astro")
    page.locator("#persona-display textarea, #persona-display input").first.fill("Astro")
    page.locator("#persona-greeting textarea").fill("Hello from orbit!")
    page.locator("#persona-prompt textarea").fill("You are Astro, a cheerful astronaut. Keep answers short.")
    page.locator("#portrait input[type=file]").set_input_files(str(astronaut_png))
    expect(page.get_by_text("one frontal face found")).to_be_visible()  # success is shown, not hidden
    page.locator("#persona-preview").click()
    expect(page.locator("#persona-preview-video video")).to_have_attribute("src", re.compile(r".+\.mp4"))
    expect(page.get_by_text("Astro: Hello from orbit!")).to_be_visible()
    page.locator("#persona-save").click()
    expect(page.get_by_text("saved persona “astro”")).to_be_visible()
    page.locator("#persona-pick input").click()
    expect(page.get_by_role("option", name="astro", exact=True)).to_be_visible()


def test_portrait_without_face_is_refused(page, app_url, gradient_png):
    open_persona_tab(page, app_url)
    page.locator("#portrait input[type=file]").set_input_files(str(gradient_png))
    expect(page.locator("#portrait-error")).to_contain_text("no face")
    page.locator("#persona-name textarea, #persona-name input").first.fill("nobody")
    page.locator("#persona-display textarea, #persona-display input").first.fill("Nobody")
    page.locator("#persona-save").click()
    expect(page.locator("#persona-status")).to_contain_text("not saved")
    expect(page.get_by_text("not saved")).to_be_visible()
    # picking a persona shows its form; the stale "not saved" goes with the old form
    page.locator("#persona-pick input").click()
    page.get_by_role("option", name="grace", exact=True).click()
    expect(page.locator("#persona-display textarea, #persona-display input").first).to_have_value("Grace")
    expect(page.get_by_text("not saved")).to_have_count(0)
    expect(page.locator("#portrait-error")).not_to_be_visible()

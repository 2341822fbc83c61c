"""A person edits emotion profiles: a bad value is shown next to its field and nothing is saved."""

from __future__ import annotations

from playwright.sync_api import expect


def test_profile_duplicate_and_invalid_name(page, app_url):
    page.goto(app_url)
    page.get_by_role("tab", name="Emotion profile").click()
    page.locator("#profile-pick input").click()
    page.get_by_role("option", name="warm", exact=True).click()
    expect(page.locator("#profile-name input, #profile-name textarea").first).to_have_value("warm")
    page.get_by_role("button", name="Duplicate").click()
    expect(page.get_by_text("duplicated as “warm-2”")).to_be_visible()
    # the form then shows the copy (wait for it before editing, or the refill overwrites the edit)
    expect(page.locator("#profile-name input, #profile-name textarea").first).to_have_value("warm-2")
    page.locator("#profile-name input, #profile-name textarea").first.fill("Not A Name!")
    page.locator("#profile-save").click()
    expect(page.locator("#profile-status")).to_contain_text("not saved")
    expect(page.get_by_text("use 1-40 lowercase letters")).to_be_visible()
    page.locator("#profile-pick input").click()  # another profile: the stale errors go
    page.get_by_role("option", name="calm", exact=True).click()
    expect(page.locator("#profile-name input, #profile-name textarea").first).to_have_value("calm")
    expect(page.get_by_text("not saved")).to_have_count(0)

import logging

import pytest

from app.personas import (
    Persona,
    PersonaError,
    delete_persona,
    get_persona,
    list_personas,
    load_persona_file,
    save_persona,
    to_toml,
)


def test_builtins_load_and_differ_in_mood():
    personas = {p.name: p for p in list_personas(None)}
    assert {"ada", "grace", "pip"} <= set(personas)
    assert len({p.emotion_profile for p in personas.values()}) >= 3
    assert personas["ada"].avatar == "astronaut" and personas["grace"].avatar == "hopper"
    for p in personas.values():
        assert p.greeting and p.system_prompt


def test_brief_carries_overrides():
    p = get_persona("sam")
    b = p.brief()
    assert b.name == "Sam" and b.max_tokens == 96 and b.temperature == 0.6 and b.model is None
    assert b.fallback == p.fallback


def test_save_roundtrip_and_override(tmp_path):
    ada = get_persona("ada")
    mine = ada.model_copy(update={"display_name": 'Ada "the second"', "greeting": "Line one\nline two \\ done",
                                  "llm": ada.llm.model_copy(update={"model": "qwen2.5:7b"})})
    path = save_persona(mine, tmp_path)
    assert path == tmp_path / "ada.toml"
    assert load_persona_file(path) == mine
    assert get_persona("ada", tmp_path) == mine  # the user's file wins
    assert [p for p in list_personas(tmp_path) if p.name == "ada"] == [mine]
    delete_persona("ada", tmp_path)
    assert get_persona("ada", tmp_path) == ada  # the built-in shows again


def test_delete_builtin_or_unknown_raises(tmp_path):
    with pytest.raises(PersonaError, match="built in"):
        delete_persona("grace", tmp_path)
    with pytest.raises(PersonaError, match="unknown"):
        delete_persona("nobody", tmp_path)


def test_unknown_persona_lists_known(tmp_path):
    with pytest.raises(PersonaError, match="ada"):
        get_persona("nobody", tmp_path)


@pytest.mark.parametrize("bad_name", ["../etc", "Ada", "", "a" * 41, "x/y"])
def test_bad_names_rejected(tmp_path, bad_name):
    with pytest.raises(PersonaError, match="invalid persona name"):
        get_persona(bad_name, tmp_path)


def test_malformed_field_names_file_and_field(tmp_path, caplog):
    text = to_toml(get_persona("pip")).replace("temperature = 0.9", "temperature = 7.0")
    (tmp_path / "pip.toml").write_text(text)
    with pytest.raises(PersonaError) as err:
        get_persona("pip", tmp_path)
    assert "pip.toml" in str(err.value) and "llm.temperature" in str(err.value)
    with caplog.at_level(logging.WARNING):
        names = [p.name for p in list_personas(tmp_path)]
    assert "pip" not in names and "ada" in names  # one broken file hides only itself
    assert "pip.toml" in caplog.text


def test_bad_toml_and_missing_field_and_unknown_field(tmp_path):
    (tmp_path / "bad.toml").write_text("name = 'bad'\nthis is not toml")
    with pytest.raises(PersonaError, match=r"bad\.toml: not valid TOML"):
        get_persona("bad", tmp_path)
    (tmp_path / "thin.toml").write_text("name = 'thin'\ndisplay_name = 'Thin'\n")
    with pytest.raises(PersonaError, match=r"thin\.toml: field system_prompt"):
        get_persona("thin", tmp_path)
    (tmp_path / "extra.toml").write_text(
        "name = 'extra'\ndisplay_name = 'E'\nsystem_prompt = 'hi'\nmood = 'x'\n[voice]\nrate = 9.0\n"
    )
    with pytest.raises(PersonaError, match=r"extra\.toml: field (voice\.rate|mood)"):
        get_persona("extra", tmp_path)


def test_name_must_match_file(tmp_path):
    (tmp_path / "foo.toml").write_text("name = 'bar'\ndisplay_name = 'B'\nsystem_prompt = 'hi'\n")
    with pytest.raises(PersonaError, match=r"foo\.toml: field name"):
        get_persona("foo", tmp_path)


def test_persona_validation_direct():
    with pytest.raises(ValueError):
        Persona(name="ok", display_name="", system_prompt="x")

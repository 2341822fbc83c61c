from dialogue.llm.base import PersonaBrief
from dialogue.prompts import build_messages, path_messages, system_message
from dialogue.turns import AvatarRole, EmotionCues, Speaker, Turn
from emotion import Emotion, EmotionState

ADA = PersonaBrief(name="Ada", description="A warm companion.", system_prompt="You are Ada. You are kind.")


def user(text):
    return Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text=text)


def avatar(text, emo=Emotion.HAPPY, k=0.6):
    return Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text=text, emotion=EmotionState.of(emo, k))


CUES = EmotionCues(user_current=EmotionState.of(Emotion.SAD, 0.8), dominant=EmotionState.of(Emotion.SAD, 0.5))


def test_system_message_has_persona_cues_and_format():
    s = system_message(ADA, CUES)
    assert "You are Ada" in s and "A warm companion." in s
    assert CUES.summary() in s
    assert "[happy 0.6]" in s and "disgusted" in s  # the format and the label set


def test_compact_system_message_is_short_and_mentions_user_emotion():
    s = system_message(ADA, CUES, compact=True, ask_tag=False)
    assert len(s) < 160 and "sad" in s and "Comfort" in s and "[" not in s


def test_path_roles_tags_and_merging():
    msgs = path_messages([avatar("Hi!"), user("Hello"), user("Are you there?"), avatar("Yes.", Emotion.NEUTRAL, 0.2)],
                         budget_chars=1000)
    assert [m["role"] for m in msgs] == ["assistant", "user", "assistant"]
    assert msgs[0]["content"] == "[happy 0.6]\nHi!"
    assert msgs[1]["content"] == "Hello\nAre you there?"
    assert msgs[2]["content"].startswith("[neutral 0.2]")


def test_trimming_keeps_most_recent_and_always_the_last_turn():
    path = [user(f"message {i} " + "x" * 50) for i in range(0, 20, 2) for _ in (0,)]
    path = [t for pair in zip(path, [avatar("ok") for _ in path]) for t in pair] + [user("the question")]
    msgs = path_messages(path, budget_chars=200)
    assert msgs[-1] == {"role": "user", "content": "the question"}
    assert sum(len(m["content"]) for m in msgs) <= 200
    assert len(msgs) < len(path)
    huge = path_messages([user("y" * 5000)], budget_chars=100)
    assert len(huge) == 1 and len(huge[0]["content"]) == 100


def test_build_messages_starts_with_system():
    msgs = build_messages(ADA, [avatar("Hi"), user("Hey"), Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text="  ")], CUES)
    assert msgs[0]["role"] == "system" and [m["role"] for m in msgs[1:]] == ["assistant", "user"]

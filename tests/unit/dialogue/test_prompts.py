from dialogue.llm.base import PersonaBrief
from dialogue.prompts import build_messages, path_messages, system_message
from dialogue.turns import AvatarRole, EmotionCues, Speaker, Turn
from emotion import Emotion, EmotionState

ADA = PersonaBrief(name="Ada", description="A warm companion.", system_prompt="You are Ada. You are kind.")


def user(text, emo=Emotion.NEUTRAL, k=0.0):
    return Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text=text, emotion=EmotionState.of(emo, k))


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
    assert msgs[0]["content"] == "[happy 0.6] Hi!"
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


def test_companion_prompt_keeps_a_stable_prefix_and_puts_the_cues_last():
    from dialogue.prompts import PromptStyle

    style = PromptStyle(companion=True, few_shot=True, cues_last=True, max_sentences=2)
    first = [avatar("Hi, how are you?"), user("I lost my keys again.")]
    turn1 = style.messages(ADA, first, CUES)
    reply = avatar("Oh no, where did you see them last?", Emotion.SAD, 0.5)
    happy = EmotionCues(user_current=EmotionState.of(Emotion.HAPPY, 0.9))
    turn2 = style.messages(ADA, first + [reply, user("Found them, they were in the fridge!")], happy)
    # everything up to the first turn's own cue note is the same in the next turn (KV cache reuse)
    assert turn2[: len(turn1) - 1] == turn1[:-1]
    assert turn1[-1]["role"] == "system" and "[sad]" in turn1[-1]["content"] and CUES.summary() in turn1[-1]["content"]
    assert turn2[-1]["role"] == "system" and "[happy]" in turn2[-1]["content"]
    # the earlier user turn now has its own short note (from its turn alone), then the reply with its tag
    i = len(turn1) - 1
    assert turn2[i]["role"] == "system" and turn2[i + 1] == {"role": "assistant",
                                                              "content": "[sad 0.5] Oh no, where did you see them last?"}
    system = turn1[0]["content"]
    assert "You are Ada" in system and "not as an assistant" in system and CUES.summary() not in system
    assert sum(m["role"] == "assistant" for m in turn1) == 1  # the greeting: the few-shot turns are examples
    assert "Examples of how you answer" in system and "Were you two close?" in system


def test_feeling_note_follows_the_empathy_table():
    from dialogue.prompts import feeling_note

    assert "[sad]" in feeling_note(EmotionState.of(Emotion.ANGRY, 0.8))  # anger is met with concern
    assert "[happy]" in feeling_note(EmotionState.of(Emotion.HAPPY, 0.5))
    assert "from their words" in feeling_note(EmotionState.neutral()) and "[" not in feeling_note(EmotionState.neutral())


def _chatml(msgs):
    """Qwen's template as llama.cpp applies it: a last assistant message is continued."""
    if msgs[-1]["role"] == "assistant":
        return _chatml(msgs[:-1]) + msgs[-1]["content"]
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in msgs) + "<|im_start|>assistant\n"


def test_person_tag_prompt_keeps_the_whole_last_exchange_in_the_cached_prefix():
    """What the model saw and wrote in one turn is, byte for byte, the start of the next turn's
    prompt: only the new message and its note are evaluated (llama.cpp cache_prompt)."""
    from dialogue.cues import path_cues
    from dialogue.prompts import PromptStyle

    style = PromptStyle(companion=True, few_shot=True, cues_last=True, person_tag=True, max_sentences=2)
    path = [avatar("Hi, how are you?", Emotion.NEUTRAL, 0.3)]
    before = None
    for said, feeling, tag, answer, shown in [
        ("I lost my keys again.", EmotionState.of(Emotion.SAD, 0.5), "[sad]", "Oh no. Where did you last see them?",
         Emotion.SAD),
        ("My flatmate threw them out, I'm furious!", EmotionState.of(Emotion.ANGRY, 0.8), "[angry]",
         "That's so unfair! Did you find them?", Emotion.SAD),
        ("Found them in the bin, yay!", EmotionState.of(Emotion.HAPPY, 0.9), "[happy]", "Phew, what luck!",
         Emotion.HAPPY),
        ("Anyway, what are you having for dinner?", EmotionState.neutral(), "[neutral]", "Soup, I think. You?",
         Emotion.NEUTRAL),
    ]:
        path.append(Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text=said, emotion=feeling,
                         parent=path[-1].id))
        msgs = style.messages(ADA, path, path_cues(path))
        prompt = _chatml(msgs)
        if before is not None:
            assert prompt.startswith(before)
            assert len(prompt) - len(before) < 200  # the new message and a short note
        # a clear reading of the person is written as the reply's start; else the model tags
        prefilled = feeling.label is not Emotion.NEUTRAL
        assert (msgs[-1] == {"role": "assistant", "content": tag}) is prefilled
        before = prompt + (f" {answer}<|im_end|>" if prefilled else f"{tag} {answer}<|im_end|>")
        path.append(Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text=answer, parent=path[-1].id,
                         emotion=EmotionState.of(shown, 0.6)))
    system = style.messages(ADA, path, path_cues(path))[0]["content"]
    assert "the feeling you hear in them" in system


def test_person_tag_prompt_has_only_the_reply_start_after_the_message():
    """The note of the traversal comes before the message, from the path before it: the prompt
    evaluated ahead (after the last reply, or with the message so far) is the reply's prompt up to
    the message's last words, and nothing but the reply's start follows them."""
    from dialogue.cues import path_cues
    from dialogue.prompts import PromptStyle

    style = PromptStyle(companion=True, few_shot=True, cues_last=True, person_tag=True, max_sentences=2)
    path = [avatar("Hi, how are you?", Emotion.NEUTRAL, 0.3),
            user("My exam went badly.", Emotion.SAD, 0.7), avatar("Oh no, I'm sorry.", Emotion.SAD, 0.6),
            user("And then my bike was stolen.", Emotion.SAD, 0.8), avatar("That's awful.", Emotion.SAD, 0.6)]
    ahead = style.messages(ADA, path, path_cues(path))  # after the reply, before any message
    assert ahead[-1] == {"role": "system", "content": "Mood so far: mostly sad."}
    message = user("But my sister is visiting, so I'm glad!", Emotion.HAPPY, 0.8)
    msgs = style.messages(ADA, path + [message], path_cues(path + [message]))
    assert msgs[-3:] == [ahead[-1], {"role": "user", "content": message.text}, {"role": "assistant", "content": "[happy]"}]
    assert msgs[: len(ahead)] == ahead
    so_far = path + [user("But my sister is", Emotion.NEUTRAL, 0.0)]
    draft = style.messages(ADA, so_far, path_cues(so_far))
    assert draft[:-1] == msgs[:-2] and draft[-1]["role"] == "user"  # typed so far: heard nothing clear yet
    # the first message has no note: a greeting's feeling is not the conversation's mood
    assert [m["role"] for m in style.messages(ADA, path[:2], path_cues(path[:2]))] == ["system", "assistant", "user",
                                                                                      "assistant"]


def test_history_is_cut_at_fixed_points_so_the_prefix_holds_for_many_turns():
    from dialogue.prompts import _kept_from

    sizes, starts = [], []
    for n in range(80):
        sizes.append(40 + (n * 37) % 90)
        start = _kept_from(sizes, 1000)
        assert sum(sizes[start:]) <= 1000
        starts.append(start)
    assert starts == sorted(starts)  # the start only moves forward...
    moves = sum(a != b for a, b in zip(starts, starts[1:]))
    assert 3 <= moves <= 12  # ...and rarely: about every 500 characters of new text, not every turn
    assert _kept_from([5000], 100) == 0 and _kept_from([10, 5000], 100) == 1


def test_person_tag_rules_name_every_label_of_the_table():
    from dialogue.prompts import PERSON_TAG_RULES, examples, example_answers
    from emotion.labels import TABLE

    for row in TABLE:
        assert f" {row.name}" in PERSON_TAG_RULES
    text = examples(person_tag=True)
    for answer in example_answers(person_tag=True):
        assert answer in text and not answer.startswith("[")

"""bench/emotion_arc.py counts what the arc rule does to the later sentences of stored replies."""

from bench.emotion_arc import replay


def test_replay_counts_kept_softened_and_moved_sentences():
    rows = [{"id": "a", "emotion": "sad", "reply": "Oh no, I am so sorry. That is awful. Do you want to talk?"},
            {"id": "b", "emotion": "happy", "reply": "Congratulations! Wow, really?"},
            {"id": "c", "emotion": "neutral", "reply": "Okay."}]
    counts, changed = replay(rows)
    assert dict(counts) == {"keep": 1, "soften": 1, "move": 1}
    assert [(c["id"], c["kind"], c["said"]) for c in changed] == [("a", "soften", "sad"), ("b", "move", "surprised")]

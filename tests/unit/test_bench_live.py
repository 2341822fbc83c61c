"""bench/live.py's stage breakdown from a session's timing marks (app.live.LiveSession.mark)."""

from __future__ import annotations

import pytest

from bench.live_figures import sound_heard, stages, table_rows


def turn_marks(turn: int, t: float) -> list[dict]:
    """A turn that began at `t`: its first segment queued 0.5 s later, streamed 0.1 s after that
    (to play 0.2 s later)."""
    return [{"stage": "turn", "t": t, "turn": turn}, {"stage": "queued", "t": t + 0.5, "turn": turn},
            {"stage": "streamed", "t": t + 0.6, "turn": turn, "plays_at": t + 0.8}]


def test_each_spoken_turn_is_split_into_its_stages_and_typed_turns_apart():
    trace = [
        {"stage": "sent", "t": 0.0},
        {"stage": "turn", "t": 0.1, "turn": 1},
        {"stage": "queued", "t": 0.6, "turn": 1},
        {"stage": "streamed", "t": 0.7, "turn": 1, "plays_at": 0.95},
        {"stage": "played", "t": 1.0, "turn": 1},
        {"stage": "vad_end", "t": 10.5, "speech_end": 10.0},
        {"stage": "transcript", "t": 10.7, "speech_end": 10.0, "chars": 12},
        {"stage": "turn", "t": 10.8, "turn": 2},
        {"stage": "queued", "t": 11.5, "turn": 2},
        {"stage": "streamed", "t": 11.6, "turn": 2, "plays_at": 11.9},
        {"stage": "played", "t": 12.0, "turn": 2},
    ]
    out = stages(trace, llm_at=[0.3, 11.2])
    typed, spoken = out["typed"], out["spoken"]
    assert [t["turn"] for t in typed] == [1] and [s["turn"] for s in spoken] == [2]
    t = typed[0]
    assert t["sent_to_turn_s"] == pytest.approx(0.1) and t["llm_first_sentence_s"] == pytest.approx(0.2)
    assert t["tts_motion_s"] == pytest.approx(0.3) and t["stream_lead_s"] == pytest.approx(0.25)
    assert t["turn_to_played_s"] == pytest.approx(0.9)
    s = spoken[0]
    assert s["vad_end_of_turn_s"] == pytest.approx(0.5) and s["asr_after_vad_s"] == pytest.approx(0.2)
    assert s["page_to_turn_s"] == pytest.approx(0.1) and s["llm_first_sentence_s"] == pytest.approx(0.4)
    assert s["tts_motion_s"] == pytest.approx(0.3) and s["page_start_s"] == pytest.approx(0.1)
    assert s["total_s"] == pytest.approx(2.0)


def test_each_turn_gets_its_reply_s_prompt_tokens_and_the_prefills_before_it():
    trace = [
        *turn_marks(1, 0.1),
        {"stage": "prefill", "t": 5.0}, {"stage": "prefill", "t": 9.0},
        {"stage": "sent", "t": 9.5},
        *turn_marks(2, 10.0),
    ]
    replies = [(0.5, {"prompt_n": 60, "cache_n": 600, "prompt_ms": 1500.0}),
               (10.6, {"prompt_n": 3, "cache_n": 700, "prompt_ms": 90.0})]
    first, second = stages(trace, llm_at=[0.4, 10.5], replies=replies)["typed"]
    assert first["prefills"] == 0 and first["prompt_tokens"] == 60 and first["prompt_eval_s"] == pytest.approx(1.5)
    assert second["prefills"] == 2 and second["prompt_tokens"] == 3 and second["cached_tokens"] == 700
    assert second["behind_prefill_s"] == 0.0 and second["prefills_skipped"] == 0
    # a reply that logged no timings (stopped early) does not take the next turn's
    first, second = stages(trace, llm_at=[0.4, 10.5], replies=replies[1:])["typed"]
    assert "prompt_tokens" not in first and second["prompt_tokens"] == 3


def test_one_command_runs_both_llm_modes_each_into_its_own_json(monkeypatch):
    import bench.live as bench

    runs = []
    monkeypatch.setattr(bench, "measure", lambda args: runs.append((args.llm, args.out.name)))
    assert bench.main([]) == 0
    assert runs == [("embedded", "live.json"), ("scripted", "live_scripted.json")]
    with pytest.raises(SystemExit):
        bench.main(["--out", "x.json"])  # one JSON cannot hold both runs
    bench.main(["--llm", "scripted", "--out", "x.json"])
    assert runs[-1] == ("scripted", "x.json")


def test_two_transcripts_heard_before_their_turns_began_get_a_turn_each():
    trace = [
        {"stage": "vad_end", "t": 1.5, "speech_end": 1.0},
        {"stage": "transcript", "t": 1.7, "speech_end": 1.0, "chars": 12},
        {"stage": "vad_end", "t": 3.5, "speech_end": 3.0},
        {"stage": "transcript", "t": 3.7, "speech_end": 3.0, "chars": 9},
        *turn_marks(2, 5.0),
        *turn_marks(3, 9.0),
    ]
    assert [r["turn"] for r in stages(trace, llm_at=[])["spoken"]] == [2, 3]


def test_the_typist_types_at_a_person_s_pace_with_pauses_only_between_words():
    from bench.live import Typist

    text = "My sister is coming to visit this weekend and I am cleaning the whole house for her."
    typist = Typist()
    delays = typist.delays(text, seed=3)
    assert len(delays) == len(text) + 1  # each key, then Send
    assert delays == typist.delays(text, seed=3) and delays != typist.delays(text, seed=4)  # seeded
    keys = delays[:-1]
    longest_key = typist.max_s
    for k, wait in enumerate(keys):
        assert typist.min_s <= wait
        if wait > longest_key:  # a thinking pause: only before a word
            assert k > 0 and text[k - 1] == " " and text[k] != " "
    assert any(w > longest_key for w in keys)  # it does pause to think now and then
    words_per_minute = (len(text) / 5) / (sum(keys) / 60)
    assert 40 < words_per_minute < 90


def test_a_partial_is_judged_by_the_start_it_shares_with_the_final_transcript():
    from bench.live_partials import common_prefix, forced_prefix

    assert common_prefix("He was not.", "He was not an old man.") == 10  # up to the stop the words replace
    assert common_prefix("I'll let you", "Unless to be") == 0
    assert forced_prefix("He was not an ill-dis") == "He was not an" and forced_prefix("Hello") is None


def test_a_turn_that_began_while_a_prefill_evaluated_is_said_to_be_behind_it():
    trace = [
        {"stage": "prefill", "t": 9.0, "seconds": 1.5},  # still evaluating at 10.0
        {"stage": "sent", "t": 9.9},
        {"stage": "prefill_skipped", "t": 9.95, "chars": 12},
        *turn_marks(1, 10.0),
    ]
    row = stages(trace, llm_at=[10.4])["typed"][0]
    assert row["behind_prefill_s"] == pytest.approx(0.5) and row["prefills_skipped"] == 1


def test_the_barge_in_gap_follows_how_fast_the_model_writes():
    from bench.live import (EMBEDDED_BARGE_GAP_S, FAST_EMBEDDED_BARGE_GAP_S, MID_EMBEDDED_BARGE_GAP_S,
                            SCRIPTED_BARGE_GAP_S, barge_gap)

    assert barge_gap(None) == SCRIPTED_BARGE_GAP_S  # the scripted model answers at once
    assert barge_gap({"decode_ms_per_token": 29.0}) == FAST_EMBEDDED_BARGE_GAP_S  # its reply starts in 2-3 s
    assert barge_gap({"decode_ms_per_token": 53.0}) == MID_EMBEDDED_BARGE_GAP_S  # its reply starts in 3-4.4 s
    assert barge_gap({"decode_ms_per_token": 106.0}) == EMBEDDED_BARGE_GAP_S
    assert barge_gap({"error": "unreachable"}) == EMBEDDED_BARGE_GAP_S  # unknown speed: the slow machine's gap


def test_the_silence_between_sentences_is_what_the_stream_added_beyond_each_segment():
    from bench.live_figures import sentence_gaps

    trace = [  # reply 1: its second sentence 0.5 s late; reply 2: queued in time; reply 3: one sentence
        {"stage": "queued", "turn": 1, "seconds": 1.0}, {"stage": "streamed", "turn": 1, "plays_at": 2.0},
        {"stage": "queued", "turn": 1, "seconds": 2.0}, {"stage": "streamed", "turn": 1, "plays_at": 3.5},
        {"stage": "queued", "turn": 2, "seconds": 1.5}, {"stage": "streamed", "turn": 2, "plays_at": 10.0},
        {"stage": "queued", "turn": 2, "seconds": 1.0}, {"stage": "streamed", "turn": 2, "plays_at": 11.5},
        {"stage": "queued", "turn": 2, "seconds": 1.0}, {"stage": "streamed", "turn": 2, "plays_at": 12.6},
        {"stage": "queued", "turn": 3, "seconds": 1.0}, {"stage": "streamed", "turn": 3, "plays_at": 20.0},
    ]
    gaps = sentence_gaps(trace)
    assert gaps["sentence_gap_longest_s"] == pytest.approx(0.5)
    assert gaps["sentence_gap_longest_median_s"] == pytest.approx(0.3)  # the median of 0.5 and 0.1
    assert gaps["replies_with_sentence_gap_over_0_2_s"] == 1


def test_what_the_page_heard_gives_each_replys_first_sound_and_the_sound_after_a_barge_in():
    # [page ms, media time, RMS] every 20 ms: silence, a reply whose speaking frame is at media
    # 1.0 s but whose sound begins at 1.3 s (its first word skipped), then speech cut by a barge-in
    samples = []
    for k in range(300):
        t = k * 0.02
        loud = 1.3 <= t < 2.0 or 3.0 <= t < 4.2
        samples.append([1000 * t, t, 0.2 if loud else 0.0])
    out = sound_heard(samples, speech_at=[1.0, 3.0], barge_at=[4000.0])
    assert out["speech_onset_ms"] == [pytest.approx(300, abs=1), pytest.approx(0, abs=1)]
    assert out["heard_after_barge_ms"] == [pytest.approx(180, abs=1)]  # the last loud sample, 4.18 s
    assert sound_heard([], [1.0], []) == {}


def test_the_printed_table_shows_what_was_heard_only_when_the_page_listened():
    import json
    from pathlib import Path

    res = json.loads((Path(__file__).resolve().parents[2] / "bench/results/live_scripted_heard_append.json").read_text())
    names = [name for name, _, _ in table_rows(res)]
    assert names[0] == "typed, pasted -> first avatar audio+video"
    assert "heard: speaking frame -> first sound (median)" in names
    del res["heard"]
    assert not [n for n in table_rows(res) if n[0].startswith("heard")]

"""The figures of a bench/live run, from its results: the page's freezes in a reply, where a turn's
time went on the server's clock (`stages`), the silence the stream added between a reply's sentences
(`sentence_gaps`), what the page heard (`sound_heard`), the run's summary (`summarize`) and its
printed table (`table_rows`). Pure functions of the results dict and the server's trace
(bench/live.py records both)."""

from __future__ import annotations

import statistics


def reply_freezes(stats: dict, start: float, end: float) -> dict:
    gaps = [g for t, g in stats["gaps"] if start < t <= end]
    frozen = sum(g - 40.0 for g in gaps)
    duration_ms = max(end - start, 1.0)
    return {"reply_s": duration_ms / 1000, "longest_gap_ms": max(gaps, default=0.0),
            "frozen_share": frozen / duration_ms, "gaps_over_200ms": sum(g > 200 for g in gaps)}


def _first(trace: list[dict], stage: str, after: float, turn: int | None = None) -> dict | None:
    """The first mark of `stage` at or after `after` (of `turn` when given)."""
    for m in trace:
        if m["stage"] == stage and m["t"] >= after and (turn is None or m.get("turn") == turn):
            return m
    return None


def stages(trace: list[dict], llm_at: list[float], replies: list[tuple[float, dict]] = (),
           firsts: list[tuple[float, dict]] = ()) -> dict:
    """Where each turn's time went, from the session's timing marks (seconds, server clock).

    replies: (time.monotonic() at the reply's end, the model server's timings) per LLM reply
    (`ServerTimings`): each turn gets its first reply's prompt tokens evaluated and reused;
    firsts: the same at each reply's first sentence (its first token, tokens decoded by then).
    spoken: one entry per transcribed utterance answered by a turn; typed: per other turn."""
    out: dict[str, list[dict]] = {"spoken": [], "typed": []}
    spoken_turns = set()
    for heard in (m for m in trace if m["stage"] == "transcript" and m.get("chars")):
        vad = next((m for m in trace if m["stage"] == "vad_end" and m.get("speech_end") == heard["speech_end"]), None)
        turn = next((m for m in trace if m["stage"] == "turn" and m["t"] >= heard["t"]
                     and m["turn"] not in spoken_turns), None)  # a turn answers one transcript
        if vad is None or turn is None:
            continue
        spoken_turns.add(turn["turn"])
        row = {"vad_end_of_turn_s": vad["t"] - vad["speech_end"], "asr_after_vad_s": heard["t"] - vad["t"],
               "page_to_turn_s": turn["t"] - heard["t"]}
        row |= _turn_stages(trace, turn, llm_at) | _prompt(trace, turn, replies, firsts)
        played = _first(trace, "played", turn["t"], turn["turn"])
        row["total_s"] = played["t"] - vad["speech_end"] if played else None
        out["spoken"].append(row)
    for turn in (m for m in trace if m["stage"] == "turn" and m["turn"] not in spoken_turns):
        sent = next((m for m in reversed(trace) if m["stage"] == "sent" and m["t"] <= turn["t"]), None)
        row = {"sent_to_turn_s": turn["t"] - sent["t"] if sent else None} | _turn_stages(trace, turn, llm_at)
        out["typed"].append(row | _prompt(trace, turn, replies, firsts))
    return out


def _prompt(trace: list[dict], turn: dict, replies, firsts) -> dict:
    """The turn's prompt work: tokens the model evaluated for its reply and took from its cache,
    that evaluation's seconds, how many prefills (app.live: the prompt evaluated ahead while the
    person spoke or typed, or after the last reply) ran and were skipped (a turn was on its way)
    since the turn before, and how long the turn's start was behind a prefill still evaluating."""
    before = max((m["t"] for m in trace if m["stage"] == "turn" and m["t"] < turn["t"]), default=float("-inf"))
    after = min((m["t"] for m in trace if m["stage"] == "turn" and m["t"] > turn["t"]), default=float("inf"))
    def since_last_turn(stage: str) -> int:
        return sum(1 for m in trace if m["stage"] == stage and before < m["t"] <= turn["t"])

    # a prefill still evaluating when the turn began: the model (one slot) finished it first
    behind = [m["t"] + m.get("seconds", 0.0) - turn["t"] for m in trace if m["stage"] == "prefill"
              and m["t"] <= turn["t"] < m["t"] + m.get("seconds", 0.0)]
    row = {"prefills": since_last_turn("prefill"), "prefills_skipped": since_last_turn("prefill_skipped"),
           "behind_prefill_s": max(behind, default=0.0)}
    # its reply's timings, logged as the reply ended (none when it stopped the model early)
    timings = next((t for at, t in replies if turn["t"] <= at < after), None)
    if timings:
        row |= {"prompt_tokens": timings.get("prompt_n"), "cached_tokens": timings.get("cache_n"),
                "prompt_eval_s": (timings.get("prompt_ms") or 0.0) / 1000, "reply_raw": timings.get("raw")}
    # where the time to its first sentence went: the first token, then the tokens decoded by then
    first = next((t for at, t in firsts if turn["t"] <= at < after), None)
    if first:
        n = first.get("predicted_n") or 0
        row |= {"llm_call_first_sentence_s": first.get("seconds"), "llm_first_token_s": first.get("first_piece_s"),
                "first_sentence_tokens": n,
                "decode_ms_per_token": (first.get("predicted_ms") or 0.0) / n if n else None}
    return row


def _turn_stages(trace: list[dict], turn: dict, llm_at: list[float]) -> dict:
    queued = _first(trace, "queued", turn["t"], turn["turn"])
    streamed = _first(trace, "streamed", turn["t"], turn["turn"])
    played = _first(trace, "played", turn["t"], turn["turn"])
    llm = next((t for t in llm_at if t >= turn["t"]), None)
    if queued is None or streamed is None:
        return {"turn": turn["turn"], "complete": False}
    llm_s = llm - turn["t"] if llm is not None and llm <= queued["t"] else None
    return {"turn": turn["turn"], "complete": played is not None,
            "llm_first_sentence_s": llm_s,
            "tts_motion_s": queued["t"] - (llm if llm_s is not None else turn["t"]),
            "queue_to_stream_s": streamed["t"] - queued["t"],
            "stream_lead_s": streamed["plays_at"] - streamed["t"],
            "page_start_s": played["t"] - streamed["plays_at"] if played else None,
            "turn_to_played_s": played["t"] - turn["t"] if played else None}


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(res: dict) -> dict:
    typed, by_hand, spoken = res["typed"], res.get("typed_person", []), res["spoken"]
    replies = typed + by_hand + spoken
    stage_rows = res.get("stages", {}).get("typed", [])
    hand_turns = {t["turn"] for t in by_hand}
    pasted_rows = [r for r in stage_rows if r.get("turn") not in hand_turns]
    hand_rows = [r for r in stage_rows if r.get("turn") in hand_turns]
    return {
        "typed_first_audio_video_s": median([t["first_audio_video_s"] for t in typed]),
        "typed_without_llm_s": median([t["without_llm_s"] for t in typed]),
        "llm_first_sentence_s": median([t["llm_first_sentence_s"] for t in typed]),
        "typed_person_first_audio_video_s": median([t["first_audio_video_s"] for t in by_hand]),
        "typed_person_llm_first_sentence_s": median([t["llm_first_sentence_s"] for t in by_hand]),
        "typed_person_without_llm_s": median([t["without_llm_s"] for t in by_hand]),
        "typed_person_prompt_tokens": median([r.get("prompt_tokens") for r in hand_rows]),
        "end_of_speech_to_audio_s": median([t["end_of_speech_to_audio_s"] for t in spoken]),
        "reply_longest_gap_ms": median([r["longest_gap_ms"] for r in replies]),
        "reply_frozen_share": median([r["frozen_share"] for r in replies]),
        "barge_in_ms": median([b["latency_ms"] for b in res["barge_in"]]),
        "barge_in_lips_still_ms": median([b.get("lips_still_ms") for b in res["barge_in"]]),
        "replies_without_silent_gaps": sum(r["speech_runs"] == 1 for r in replies),
        **sentence_gaps(res.get("trace") or []),
        **_whole_run(res),
        "replies": len(replies),
        "spoken_prompt_tokens": median([r.get("prompt_tokens") for r in res.get("stages", {}).get("spoken", [])]),
        "typed_prompt_tokens": median([r.get("prompt_tokens") for r in pasted_rows]),
        "spoken_stages_s": _median_stages(res.get("stages", {}).get("spoken", [])),
        "typed_stages_s": _median_stages(pasted_rows),
        "typed_person_stages_s": _median_stages(hand_rows),
    }


def sentence_gaps(trace: list[dict]) -> dict:
    """Silence the stream added between a reply's sentences (the next one not made in time: the
    avatar holds a pose meanwhile), from the server's marks: a sentence's start on the stream's
    clock less the end of the one before (its start + its duration), 0 where it was queued in
    time. A voice's own pause after a sentence is inside its segment, so this is silence beyond
    it. Per reply its longest; the median reply's and the run's longest."""
    durations: dict[int, list[float]] = {}
    starts: dict[int, list[float]] = {}
    for m in trace:
        if m.get("stage") == "queued":
            durations.setdefault(m["turn"], []).append(m["seconds"])
        elif m.get("stage") == "streamed":
            starts.setdefault(m["turn"], []).append(m["plays_at"])
    longest = []
    for turn, at in starts.items():
        dur = durations.get(turn, [])
        if len(dur) != len(at) or len(at) < 2:
            continue  # a reply cut by a barge-in, or one sentence: no gap between sentences
        longest.append(max(max(0.0, at[k + 1] - at[k] - dur[k]) for k in range(len(at) - 1)))
    return {"sentence_gap_longest_median_s": median(longest), "sentence_gap_longest_s": max(longest, default=None),
            "replies_with_sentence_gap_over_0_2_s": sum(g > 0.2 for g in longest)}


def _whole_run(res: dict) -> dict:
    """Freezes over the whole run, listening and idling included (after the page's first 10 s, its
    start), and how often the stream thread took over `app.live.STALL_S` to make a chunk."""
    from app.live import FPS  # the app's modules load in `run` (heavy): here only what is read

    page, trace = res.get("page") or {}, res.get("trace") or []
    gaps = [g for t, g in (page.get("longest_gaps") or []) if t > 10_000]
    stalls = [m["seconds"] for m in trace if m.get("stage") == "stream_stall"]
    return {"run_longest_freeze_ms": max(gaps, default=None) if page else None,
            "run_frozen_ms_per_min": (60 * page["frozenMs"] / (res["stream_frames"] / FPS)
                                      if page.get("frozenMs") is not None and res.get("stream_frames") else None),
            "stream_stalls": len(stalls), "stream_longest_stall_s": max(stalls, default=None)}


PER_TOKEN = ("first_sentence_tokens", "decode_ms_per_token")  # medians beside the seconds


def _median_stages(rows: list[dict]) -> dict:
    keys = list(dict.fromkeys(k for r in rows for k in r if k.endswith("_s") or k in PER_TOKEN))
    return {k: median([r.get(k) for r in rows]) for k in keys}


HEARD_FLOOR = 0.1  # heard: louder than this share of the run's speech level (its 90th percentile RMS)


def sound_heard(samples: list[list[float]], speech_at: list[float], barge_at: list[float]) -> dict:
    """What the page's listener heard (the opt-in audio probe in app/ui/live.js: [page ms, media
    time, RMS] per animation frame): per speech start (media time) the delay to the first sound
    (the voice's own lead-in silence included; a reply's first syllables skipped at a cut show as
    a longer delay), and per barge-in (page ms) how long sound went on after it."""
    if not samples:
        return {}
    levels = sorted(r for _, _, r in samples)
    floor = HEARD_FLOOR * levels[int(0.9 * (len(levels) - 1))]
    onsets = []
    for s in speech_at:
        loud = next((t for _, t, r in samples if t >= s - 0.05 and r > floor), None)
        if loud is not None and loud - s < 2.0:
            onsets.append(round(1000 * (loud - s), 1))
    after = []
    for b in barge_at:
        window = [(ms, r) for ms, _, r in samples if b <= ms <= b + 2000]
        after.append(round(max((ms - b for ms, r in window if r > floor), default=0.0), 1))
    return {"speech_onset_ms": onsets, "speech_onset_median_ms": median(onsets),
            "heard_after_barge_ms": after, "level_floor": floor}


def fmt(v, unit: str = "") -> str:
    """A figure for the table: two decimals for a float, '-' for none."""
    return "-" if v is None else (f"{v:.2f}{unit}" if isinstance(v, float) else f"{v}{unit}")


def table_rows(res: dict) -> list[tuple[str, str, str]]:
    """The printed table of a run (its results with their summary): (figure, value, target)."""
    s = res["summary"]
    rows = [("typed, pasted -> first avatar audio+video", fmt(s["typed_first_audio_video_s"], " s"), "<= 2.0 s"),
            ("  of which LLM first sentence", fmt(s["llm_first_sentence_s"], " s"), "apart"),
            ("  without the LLM", fmt(s["typed_without_llm_s"], " s"), ""),
            ("typed key by key -> first avatar audio+video", fmt(s["typed_person_first_audio_video_s"], " s"),
             "<= 2.0 s"),
            ("  of which LLM first sentence", fmt(s["typed_person_llm_first_sentence_s"], " s"), "apart"),
            ("  without the LLM", fmt(s["typed_person_without_llm_s"], " s"), ""),
            ("end of speech -> first avatar audio", fmt(s["end_of_speech_to_audio_s"], " s"), "<= 2.5 s"),
            ("longest freeze in a reply (median reply)", fmt(s["reply_longest_gap_ms"], " ms"), "<= 200 ms"),
            ("frozen share of a reply (median)", fmt(s["reply_frozen_share"]), "<= 0.02"),
            ("barge-in: speech start -> avatar silent", fmt(s["barge_in_ms"], " ms"), "<= 500 ms"),
            ("barge-in: speech start -> its lips still", fmt(s["barge_in_lips_still_ms"], " ms"), "<= 500 ms"),
            ("replies played as one run of speech", f"{s['replies_without_silent_gaps']} of {s['replies']}", ""),
            ("silence added between sentences: median reply / longest",
             f"{fmt(s['sentence_gap_longest_median_s'], ' s')} / {fmt(s['sentence_gap_longest_s'], ' s')}", ""),
            ("  replies with such a silence over 0.2 s", str(s["replies_with_sentence_gap_over_0_2_s"]), ""),
            ("whole run: longest freeze / frozen ms a minute",
             f"{fmt(s['run_longest_freeze_ms'], ' ms')} / {fmt(s['run_frozen_ms_per_min'])}", ""),
            ("stream chunks made late (> 0.12 s) / longest",
             f"{s['stream_stalls']} / {fmt(s['stream_longest_stall_s'], ' s')}", ""),
            ("stream CPU ms per s (motion/render/encode)",
             "/".join(f"{v:.0f}" for v in res.get("stream_cpu_ms_per_s", {}).values()) or "-", ""),
            ("the model alone before the page: decode ms/token", fmt((res.get("model_alone") or {}).get(
                "decode_ms_per_token")), "machine state"),
            ("prompt tokens at a turn, spoken / pasted / by key",
             f"{fmt(s['spoken_prompt_tokens'])} / {fmt(s['typed_prompt_tokens'])} / "
             f"{fmt(s['typed_person_prompt_tokens'])}", "")]
    if res.get("heard"):
        h = res["heard"]
        rows += [("heard: speaking frame -> first sound (median)", fmt(h["speech_onset_median_ms"], " ms"),
                  "voice lead-in ~60 ms"),
                 ("  per reply", " ".join(f"{x:.0f}" for x in h["speech_onset_ms"]) or "-", "ms"),
                 ("heard: sound after a barge-in", " ".join(f"{x:.0f}" for x in h["heard_after_barge_ms"]) or "-",
                  "ms")]
    for kind, key in (("spoken", "spoken_stages_s"), ("pasted", "typed_stages_s"), ("by key", "typed_person_stages_s")):
        rows += [(f"  {kind}: {k}", fmt(v, ""), "") if k in PER_TOKEN else (f"  {kind}: {k[:-2]}", fmt(v, " s"), "")
                 for k, v in s[key].items()]
    return rows

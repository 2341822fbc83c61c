"""LiveListener: listening motion from live audio, causal and seamless across calls."""

import numpy as np
import pytest

from avatar.motion.clip import ARKIT_INDEX, MotionClip, Role
from avatar.motion.io import concat as concat_clips
from avatar.motion.live import LiveListener
from avatar.motion.metrics import nods, nods_answered
from emotion import EmotionState

SR = 16000


def voice(seconds, amp=0.2, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    syllables = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    return (amp * syllables * np.sin(2 * np.pi * 140 * t) + rng.standard_normal(t.size) * 0.002).astype(np.float32)


def quiet(seconds, seed=1):
    return (np.random.default_rng(seed).standard_normal(int(seconds * SR)) * 0.002).astype(np.float32)


def speech_with_pauses(n=10, talk_s=1.6, pause_s=0.9):
    """Talk-pause-talk... audio and its pauses (start, end) in seconds."""
    parts, pauses, t = [quiet(0.5)], [], 0.5
    for k in range(n):
        parts.append(voice(talk_s, seed=k))
        t += talk_s
        parts.append(quiet(pause_s, seed=100 + k))
        pauses.append((t, t + pause_s))
        t += pause_s
    return np.concatenate(parts), pauses


def live(listener, audio, chunk_s=0.2, sr=SR):
    """Push audio in real-time-sized chunks, asking for the frames of each chunk as it arrives."""
    clips, step, made = [], int(chunk_s * sr), 0
    for i in range(0, len(audio), step):
        listener.push_audio(audio[i:i + step], sr)
        n = round(min(i + step, len(audio)) * 25 / sr) - made
        clips.append(listener.next_frames(n))
        made += n
    return concat_clips(clips)


def test_nods_follow_the_partners_pauses_in_live_audio(profile):
    audio, pauses = speech_with_pauses()
    clip = live(LiveListener(profile, seed=3), audio)
    assert clip.role is Role.LISTENING and clip.num_frames == round(len(audio) / SR * 25)
    assert nods_answered(clip, pauses) >= 0.7
    # nods come in the pauses, not while the partner talks
    times = nods(clip)
    in_pause = [any(s <= t <= s + 1.2 for s, _ in pauses) for t in times]
    assert len(times) >= 7 and np.mean(in_pause) >= 0.9


def test_no_nods_while_the_partner_talks_without_pausing(profile):
    clip = live(LiveListener(profile, seed=4), voice(8.0))
    assert len(nods(clip)) == 0


def test_reactions_are_causal_the_same_pause_answered_whatever_the_chunking(profile):
    audio, pauses = speech_with_pauses(n=4)
    for chunk in (0.05, 0.5):
        clip = live(LiveListener(profile, seed=5), audio, chunk_s=chunk)
        assert nods_answered(clip, pauses) >= 0.75


def test_frames_are_the_same_however_they_are_requested(profile):
    audio, _ = speech_with_pauses(n=3)
    a, b = LiveListener(profile, seed=7), LiveListener(profile, seed=7)
    a.push_audio(audio, SR)
    b.push_audio(audio, SR)
    whole = a.next_frames(200)
    sizes = np.random.default_rng(0).integers(1, 13, 60)
    parts, left = [], 200
    for s in sizes:
        if left == 0:
            break
        parts.append(b.next_frames(int(min(s, left))))
        left -= parts[-1].num_frames
    pieces = concat_clips(parts)
    for x, y in ((whole.pose, pieces.pose), (whole.gaze, pieces.gaze), (whole.expression, pieces.expression)):
        np.testing.assert_allclose(x, y, atol=1e-5)


def test_no_seam_at_call_boundaries_while_audio_arrives(profile):
    audio, _ = speech_with_pauses(n=6)
    clip = live(LiveListener(profile, seed=8), audio, chunk_s=0.12)  # 3 frames per call
    head = np.abs(np.diff(clip.pose, axis=0)).max(axis=1)
    assert head.max() < 0.03  # no jump: a nod moves the head at most ~0.01 rad per frame
    motion = np.abs(np.diff(np.concatenate([clip.pose, clip.gaze, clip.expression], axis=1), axis=0))
    joins = motion[2::3].max(axis=1)  # frame changes across call boundaries (frames 2->3, 5->6, ...)
    inside = np.delete(motion, np.s_[2::3], axis=0).max(axis=1)
    assert joins.mean() <= 1.5 * inside.mean() and joins.max() <= inside.max()
    assert np.isfinite(clip.expression).all() and clip.expression.min() >= 0 and clip.expression.max() <= 1


def test_start_from_continues_from_the_last_frame_shown(profile):
    prev = MotionClip.still(5)
    pose = prev.pose.copy()
    pose[:, 0] = 0.3  # the avatar ended its reply looking aside
    prev = MotionClip(pose, prev.gaze, prev.expression)
    listener = LiveListener(profile, seed=9, previous=prev)
    first = listener.next_frames(1)
    rest = listener.next_frames(30)
    assert abs(first.pose[0, 0] - 0.3) < 0.03
    assert abs(rest.pose[-1, 0]) < 0.1  # back to listening after continuity_s


def test_mirrors_the_partners_emotion_once_known(profile):
    listener = LiveListener(profile, seed=10)
    listener.push_audio(voice(1.0), SR)
    before = listener.next_frames(25)
    listener.set_partner_emotion(EmotionState.of("happy", 1.0))
    after = listener.next_frames(50)
    smile = ARKIT_INDEX["mouthSmileLeft"]
    assert before.expression[:, smile].max() < 0.05
    want = profile.expression(EmotionState.of("happy", 1.0), listening=True)["mouthSmileLeft"]  # mirrored strength
    assert after.expression[-10:, smile].mean() == pytest.approx(want, abs=0.05)
    assert after.expression[0, smile] < after.expression[-1, smile]  # ramps in, no jump
    listener.set_partner_emotion(None)
    assert listener.next_frames(50).expression[-1, smile] < 0.02


def test_blinks_continue_while_listening(profile):
    clip = live(LiveListener(profile, seed=11), quiet(60.0), chunk_s=0.5)
    closed = clip.coeff("eyeBlinkLeft") > 0.5
    blinks = int(np.sum(closed[1:] & ~closed[:-1]))
    assert 8 <= blinks <= 30


def test_state_stays_bounded_over_a_long_stream(profile):
    """Cost per second of output does not grow with stream length: no list grows without bound."""
    listener = LiveListener(profile, seed=12)
    audio, _ = speech_with_pauses(n=4)
    for _ in range(25):  # ~65 s of talk with pauses
        live(listener, audio, chunk_s=0.4)
    assert len(listener._gestures) < 20 and len(listener._blinks) < 5 and len(listener._fixations) < 5
    assert max(len(k.values) for k, _ in listener._sway) < 10


def test_bad_input_is_refused(profile):
    listener = LiveListener(profile)
    with pytest.raises(ValueError):
        listener.next_frames(-1)
    with pytest.raises(ValueError):
        listener.push_audio(np.zeros((10, 2), np.float32), SR)
    with pytest.raises(ValueError):
        listener.push_audio(np.zeros(10, np.float32), 0)
    assert listener.next_frames(0).num_frames == 0


def test_speech_cues_find_the_pause_where_speech_stopped_and_a_stressed_syllable():
    from avatar.motion.live import LiveListenerConfig, SpeechCues

    cues = SpeechCues(LiveListenerConfig())
    level = np.concatenate([np.full(50, 0.002), np.full(100, 0.1), np.full(3, 0.3), np.full(47, 0.1),
                            np.full(60, 0.002)])  # 10 ms blocks: quiet, talk (a stress at 1.5 s), quiet
    events = [(k, e) for k, e in ((i, cues.step(float(v))) for i, v in enumerate(level)) if e is not None]
    kinds = [e[0] for _, e in events]
    assert kinds == ["stress", "pause"]
    assert events[0][1][1] == pytest.approx(1.51, abs=0.02)
    block, (_, stopped) = events[1]
    assert stopped == pytest.approx(2.0, abs=0.02)  # speech stopped at 2.0 s ...
    assert (block + 1) * 0.01 == pytest.approx(2.0 + 0.25, abs=0.02)  # ... known pause_s later
    assert not cues.speaking
    quiet = SpeechCues(LiveListenerConfig())
    assert all(quiet.step(v) is None for v in np.random.default_rng(0).uniform(0.001, 0.003, 500))


def test_the_listening_face_keeps_the_mood_just_spoken_then_lets_it_fade(profile):
    from emotion import Emotion
    from emotion.profile import LISTENER_EXPONENT, shown_strength

    fast = profile.model_copy(update={"decay_half_life_s": 2.0})
    listener = LiveListener(fast, seed=4)
    listener.set_partner_emotion(EmotionState.of("neutral", 0.5))
    listener.set_own_emotion(EmotionState.of("sad", 0.7))       # it has just said something sad
    frown = ARKIT_INDEX["mouthFrownLeft"]
    early = listener.next_frames(25).expression[-5:, frown].mean()
    want = fast.listener_face(Emotion.SAD, shown_strength(0.7 * 0.5 ** 0.5, LISTENER_EXPONENT))["mouthFrownLeft"]
    assert early == pytest.approx(want, abs=0.08) and early > 0.4  # the sad listener face, not a smile
    later = listener.next_frames(225).expression[-5:, frown].mean()  # 9 s later: 4.5 half-lives
    assert later < 0.35 * early
    listener.set_own_emotion(EmotionState.of("sad", 0.3))
    listener.set_partner_emotion(EmotionState.of("happy", 1.0))  # the person's stronger feeling wins
    after = listener.next_frames(50).expression[-5:]
    assert after[:, ARKIT_INDEX["mouthSmileLeft"]].mean() > 0.2 and after[:, frown].mean() < 0.05


def test_the_persons_feeling_ends_the_mood_the_avatar_kept_from_its_reply(profile):
    """It has just said something happy; then the person says they are scared: the smile goes,
    though the mirror shows their fear more faintly than the happy mood would still show."""
    from emotion import Emotion
    from emotion.profile import LISTENER_EXPONENT, shown_strength

    smile = ARKIT_INDEX["mouthSmileLeft"]
    listener = LiveListener(profile, seed=5)
    listener.set_partner_emotion(EmotionState.of("neutral", 0.5))
    listener.set_own_emotion(EmotionState.of("happy", 0.8))
    kept = listener.next_frames(25).expression[-5:, smile].mean()
    assert kept > 0.3  # a neutral message leaves the mood just spoken
    fear = EmotionState.of("fearful", 0.6)
    assert profile.listener_strength(fear) < shown_strength(0.8 * 0.5 ** (1.0 / profile.decay_half_life_s),
                                                            LISTENER_EXPONENT)  # the mood would win
    listener.set_partner_emotion(fear)
    after = listener.next_frames(50).expression[-5:]
    want = profile.listener_face(Emotion.FEARFUL, profile.listener_strength(fear))
    assert after[:, smile].mean() < 0.05
    for name, v in want.items():
        if v > 0.2:
            assert after[:, ARKIT_INDEX[name]].mean() > 0.5 * v, name


def test_no_back_channel_smile_at_a_sad_partner(profile):
    audio, _ = speech_with_pauses(8)
    smile = ARKIT_INDEX["mouthSmileRight"]
    for label, smiles in (("neutral", True), ("sad", False)):
        listener = LiveListener(profile, seed=7)
        listener.set_partner_emotion(EmotionState.of(label, 0.8))
        shown = live(listener, audio).expression[:, smile]
        assert bool(shown.max() > 0.1) == smiles, label

"""The face shows the feeling: the portrait's resting smile is relaxed, folds are shaded where the
warp cannot show them, the mouth is drawn in the portrait's colours, and motion is shaped from
the emotion (profile face, ramps between sentences, a livelier head)."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.face import landmarks as L
from avatar.face.rig import rest_expression
from avatar.motion.base import MotionRequest
from avatar.motion.clip import ARKIT_INDEX, MotionClip, Role
from avatar.motion.shaping import PAUSE_JAW, emotion_face, head_motion, ramp_from
from avatar.render.composite import MouthPalette, draw_mouth, mouth_palette
from avatar.render.shading import shade_expression
from emotion import EmotionState
from emotion.labels import spec
from emotion.profile import EmotionProfile


def test_smiling_portrait_is_relaxed_with_closed_lips(portrait):
    from avatar.face.portrait import relax_portrait

    rest = rest_expression(portrait.landmarks)
    assert rest["smile"] > 0.5 and rest["gap"] > 0.05          # the astronaut smiles, teeth showing
    relaxed = relax_portrait(portrait)
    after = rest_expression(relaxed.landmarks)
    assert after["smile"] < 0.35 * rest["smile"] and after["gap"] < 0.01
    # the teeth between the lips are gone: the mouth's middle is no brighter than the lips around it
    xy = relaxed.landmarks.xy
    x, y = np.round(xy[13]).astype(int)
    grey = relaxed.image.mean(-1)
    assert grey[y - 1:y + 2, x - 3:x + 4].mean() < grey[int(xy[0, 1]), x] + 25
    # the rest of the picture is untouched
    assert np.abs(relaxed.image[:40].astype(int) - portrait.image[:40]).mean() < 1.0


def test_smile_folds_are_softened_at_the_mouth_corners_only(portrait):
    from avatar.face.portrait import SMILE_FOLDS, soften_smile_folds

    lm = portrait.landmarks
    assert soften_smile_folds(portrait.image, lm, 0.0) is portrait.image     # no smile: untouched
    soft = soften_smile_folds(portrait.image, lm, 1.0)
    unit = lm.eye_distance

    def contrast(img, i):    # local detail (std of the grey level) in a small window at landmark i
        x, y = np.round(lm.xy[i]).astype(int)
        r = max(2, int(0.05 * unit))
        return img[y - r:y + r + 1, x - r:x + r + 1].mean(-1).std()

    for i in (SMILE_FOLDS[0], SMILE_FOLDS[1]):                             # the mouth corners
        assert contrast(soft, i) < 0.8 * contrast(portrait.image, i)
    # the eyes and everything above them keep their detail
    top = int(lm.xy[list(L.LEFT_EYE_LOWER) + list(L.RIGHT_EYE_LOWER), 1].max())
    assert np.array_equal(soft[:top], portrait.image[:top])
    half = soften_smile_folds(portrait.image, lm, 0.5)                     # the weight scales with the smile
    d_half = np.abs(half.astype(int) - portrait.image).sum()
    d_full = np.abs(soft.astype(int) - portrait.image).sum()
    assert 0.3 * d_full < d_half < 0.7 * d_full


def test_a_portrait_at_rest_is_left_alone(portrait):
    from avatar.face.portrait import Portrait, relax_portrait

    closed = relax_portrait(portrait)
    again = relax_portrait(Portrait(closed.image, closed.landmarks, closed.pose))
    assert rest_expression(again.landmarks)["smile"] < 0.35


def test_folds_darken_where_the_expression_creases_and_nowhere_at_rest(portrait):
    xy = portrait.landmarks.xy
    frame = portrait.image.copy()
    shade_expression(frame, xy, {})
    assert np.array_equal(frame, portrait.image)
    shade_expression(frame, xy, {"browDownLeft": 1.0, "browDownRight": 1.0})
    glabella = np.round(0.5 * (xy[55] + xy[285]) - [0, 0.06 * portrait.landmarks.eye_distance]).astype(int)
    x, y = glabella
    before, after = portrait.image[y - 3:y + 4, x - 8:x + 9].mean(), frame[y - 3:y + 4, x - 8:x + 9].mean()
    assert after < before - 2
    chin = int(xy[L.CHIN, 1])
    assert np.array_equal(frame[chin:], portrait.image[chin:])   # nothing below the chin


def test_mouth_colours_come_from_the_portrait(portrait):
    pal = mouth_palette(portrait.image, portrait.landmarks.xy)
    luma = np.array([0.3, 0.59, 0.11])
    assert pal.teeth @ luma > 2.5 * (pal.cavity @ luma)
    assert pal.teeth[0] >= pal.teeth[2]                # warm, never a blue-grey slab
    assert pal.cavity[0] > pal.cavity[2]


def test_teeth_are_never_darker_than_the_skin(portrait):
    pal = mouth_palette(portrait.image, portrait.landmarks.xy)
    luma = np.array([0.3, 0.59, 0.11])
    x, y = np.round(portrait.landmarks.xy[50]).astype(int)        # the right cheek
    cheek = np.median(portrait.image[y - 4:y + 5, x - 4:x + 5].reshape(-1, 3), 0)
    assert pal.teeth @ luma >= 0.95 * (cheek @ luma)


def _open_mouth(opening: float, width: float = 120.0, k: int = 21):
    """Inner-lip curves (corner to corner) of a mouth `opening` px open in the middle, on a skin canvas."""
    x = np.linspace(-width / 2, width / 2, k)
    bulge = 1.0 - (2 * x / width) ** 2
    upper = np.stack([200 + x, 150 - 0.2 * opening * bulge], 1)
    lower = np.stack([200 + x, 150 + 0.8 * opening * bulge], 1)
    return upper.astype(np.float32), lower.astype(np.float32)


PALETTE = MouthPalette(np.array([90, 25, 20], np.float32), np.array([235, 215, 195], np.float32),
                       np.array([170, 95, 75], np.float32))


def test_a_talking_mouth_shows_bright_teeth_a_tongue_and_no_rim():
    skin = np.array([220, 150, 120], np.uint8)
    frame = np.broadcast_to(skin, (300, 400, 3)).copy()
    upper, lower = _open_mouth(40.0)
    draw_mouth(frame, upper, lower, unit=150.0, palette=PALETTE)
    luma = frame.astype(np.float32) @ np.array([0.3, 0.59, 0.11], np.float32)
    teeth_y = int(upper[10, 1]) + 3
    assert luma[teeth_y, 200] > 0.85 * (PALETTE.teeth @ [0.3, 0.59, 0.11])   # lit, not a dull band
    cavity = luma[int(upper[10, 1]) + 16, 200]
    assert luma[int(lower[10, 1]) - 4, 200] > cavity + 15        # the tongue rises from the lower lip
    # beyond the teeth's span (they taper out towards the corners) the lip's edge shows the cavity,
    # not a thin line of teeth running on to the corner
    for i in (2, 18):
        x, y = int(round(upper[i, 0])), int(round(upper[i, 1]))
        assert luma[y + 1, x] < 0.5 * (PALETTE.teeth @ [0.3, 0.59, 0.11])


def _speaking_clip(n=100):
    rng = np.random.default_rng(0)
    pose = np.zeros((n, 6), np.float32)
    pose[:, 5] = 1
    pose[:, 0] = 0.02 * np.sin(np.arange(n) / 6)
    expr = np.clip(rng.normal(0.1, 0.05, (n, 52)), 0, 1).astype(np.float32)
    return pose, expr


@pytest.mark.parametrize("role", [Role.SPEAKING, Role.LISTENING])
def test_emotion_face_is_the_profiles(role):
    prof = EmotionProfile(name="bare", mirroring=0.5)
    _, expr = _speaking_clip()
    req = MotionRequest(role=role, emotion=EmotionState.of("sad", 0.8), profile=prof)
    out = emotion_face(expr, req)
    want = prof.expression(req.emotion, listening=role is Role.LISTENING)["mouthFrownLeft"]  # mirrored when listening
    late = out[-20:, ARKIT_INDEX["mouthFrownLeft"]]
    assert late.min() >= want - 1e-6 and late.mean() < want + 0.1
    assert out[0, ARKIT_INDEX["mouthFrownLeft"]] < want   # ramped in, not popped


def test_a_listening_clip_for_a_sad_partner_shows_the_sad_listener_face_and_the_live_listener_the_same(
        tiny_checkpoint):
    from avatar.motion.generator import TransformerMotionGenerator
    from avatar.motion.live import LiveListener
    from emotion.builtin import get_profile

    warm = get_profile("warm")
    sad = EmotionState.of("sad", 0.8)
    face = warm.expression(sad, listening=True)
    # the label table's listener face for sad, at the mirrored strength (0.6 x 0.8 shows 0.81 of it)
    assert face == pytest.approx({k: w * warm.listener_strength(sad) for k, w in spec("sad").listener.items()})
    assert face["mouthFrownLeft"] > 0.6 and face.get("jawOpen", 0.0) < 0.1       # corners down, lips closed
    clip = TransformerMotionGenerator(tiny_checkpoint).generate(
        MotionRequest(role=Role.LISTENING, emotion=sad, profile=warm, duration_s=4.0, seed=0))
    late = clip.expression[40:]                                                    # after the listener's onset
    for name, w in face.items():
        assert late[:, ARKIT_INDEX[name]].min() >= w - 0.02, name
    for name in ("mouthSmileLeft", "mouthSmileRight"):                          # no back-channel smile at grief
        assert late[:, ARKIT_INDEX[name]].max() < 0.05, name
    live = LiveListener(warm, seed=2)
    live.set_partner_emotion(sad)
    shown = live.next_frames(75).expression[-25:]
    for name, w in face.items():
        if not name.startswith("eyeBlink"):                                        # blinks close the lids on top
            assert np.median(shown[:, ARKIT_INDEX[name]]) == pytest.approx(w, abs=0.03), name


def test_head_layer_is_livelier_deterministic_and_shaped_by_emotion():
    pose, _ = _speaking_clip(250)
    prof = EmotionProfile(name="bare")

    def run(label, seed=1, role=Role.SPEAKING):
        req = MotionRequest(role=role, emotion=EmotionState.of(label, 0.9), profile=prof)
        return head_motion(pose, req, seed)

    happy, sad = run("happy"), run("sad")
    assert np.degrees(happy[:, 0].std()) > 2.0 > np.degrees(pose[:, 0].std())
    np.testing.assert_array_equal(run("happy"), happy)
    assert happy[:, :3].std(axis=0).sum() > 1.3 * sad[:, :3].std(axis=0).sum()
    assert sad[:, 1].mean() > happy[:, 1].mean() + 0.5 * spec("sad").head.pitch   # sad looks down
    assert np.abs(happy[:, 0]).max() <= 0.45


def test_ramp_from_joins_clips_without_a_pop():
    pose, expr = _speaking_clip(50)
    prev = MotionClip(pose + 0.1, np.zeros((50, 2), np.float32), np.clip(expr + 0.3, 0, 1))
    clip = MotionClip(pose, np.zeros((50, 2), np.float32), expr)
    out = ramp_from(clip, prev)
    col = ARKIT_INDEX["browInnerUp"]
    assert abs(out.pose[0, 0] - prev.pose[-1, 0]) < 0.02
    assert abs(out.expression[0, col] - prev.expression[-1, col]) < 0.05
    np.testing.assert_allclose(out.pose[10:], clip.pose[10:], atol=1e-6)   # 0.3 s later: its own


def test_the_mouth_moves_a_little_in_the_speakers_pauses_only(speech):
    from avatar.motion.shaping import resting_mouth
    from avatar.motion.teacher import num_frames_of

    req = MotionRequest(role=Role.SPEAKING, emotion=EmotionState.neutral(), profile=EmotionProfile(name="b"),
                        speech=speech)
    n = num_frames_of(req)
    still = np.zeros((n, 52), np.float32)
    out = resting_mouth(still, req, seed=3)
    jaw = out[:, ARKIT_INDEX["jawOpen"]]
    from avatar.motion.features import rms_energy, speech_activity

    silent = ~speech_activity(rms_energy(speech.pcm, speech.sample_rate, n))
    assert silent.sum() > 20                                  # the fixture has 1.4 s of pauses
    assert jaw[silent].mean() > 0.01 and jaw[silent].std() > 0.005 and jaw.max() <= PAUSE_JAW[1] + 1e-6
    assert np.abs(jaw[~silent]).mean() < jaw[silent].mean()   # speech keeps its own mouth
    assert np.array_equal(resting_mouth(still, req, seed=3), out)
    held = still.copy()
    held[:, ARKIT_INDEX["mouthClose"]] = 0.3                   # lips held together ...
    close = resting_mouth(held, req, seed=3)[:, ARKIT_INDEX["mouthClose"]]
    assert close[silent].mean() < 0.15 and close[~silent].mean() > 0.25   # ... let go in pauses only
    listening = MotionRequest(role=Role.LISTENING, emotion=EmotionState.neutral(), profile=EmotionProfile(name="b"))
    assert np.array_equal(resting_mouth(still, listening, seed=3), still)


def test_the_warp_turns_the_head_as_far_as_commanded(portrait):
    """The warp flattens the photo's depth; its turn gain makes the rendered turn match a rigid
    rotation of the landmarks' own depth (nose tip against the face centre)."""
    from avatar.face.pose import rotation_matrix
    from avatar.render.warp import WarpRenderer, turn_gain

    assert turn_gain(np.array([0.0, 1.0, 2.0]), np.array([0.0, 0.5, 1.0])) == pytest.approx(2.0)
    assert turn_gain(np.array([0.0, 1.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)
    r = WarpRenderer(portrait)
    p = portrait.landmarks.points.astype(np.float64)
    p[:, 2] -= p[:, 2].mean()
    yaw = np.radians(8.0)
    zero = np.zeros(len(r.rig.columns), np.float32)
    rest = r.target_landmarks(np.array([0, 0, 0, 0, 0, 1], np.float32), zero, np.zeros(2, np.float32))
    turned = r.target_landmarks(np.array([yaw, 0, 0, 0, 0, 1], np.float32), zero, np.zeros(2, np.float32))
    rigid = p @ rotation_matrix(yaw, 0.0, 0.0).T
    # sideways shift of every landmark against the face's mean shift: rendered vs rigid (slope)
    want = (rigid[:, 0] - p[:, 0]) - (rigid[:, 0] - p[:, 0]).mean()
    got = (turned[:, 0] - rest[:, 0]) - (turned[:, 0] - rest[:, 0]).mean()
    slope = float(want @ got / (want @ want))
    assert np.abs(want).max() > 1.0 and 0.8 < slope < 1.25
    # without the gain the flattened head turned about half as far
    r._turn_gain = 1.0
    half = r.target_landmarks(np.array([yaw, 0, 0, 0, 0, 1], np.float32), zero, np.zeros(2, np.float32))
    got1 = (half[:, 0] - rest[:, 0]) - (half[:, 0] - rest[:, 0]).mean()
    assert float(want @ got1 / (want @ want)) < 0.75


def _req(speech, role=Role.SPEAKING):
    return MotionRequest(role=role, emotion=EmotionState.neutral(), profile=EmotionProfile(name="b"), speech=speech)


def test_the_jaw_opens_with_the_voice(speech):
    from avatar.motion.features import rms_energy
    from avatar.motion.shaping import energy_jaw
    from avatar.motion.teacher import num_frames_of

    req = _req(speech)
    n = num_frames_of(req)
    rng = np.random.default_rng(0)
    expr = np.zeros((n, 52), np.float32)
    jaw = ARKIT_INDEX["jawOpen"]
    expr[:, jaw] = np.clip(0.2 + 0.1 * rng.normal(size=n), 0, 1)    # a mouth that ignores the voice
    out = energy_jaw(expr, req)
    energy = rms_energy(speech.pcm, speech.sample_rate, n)
    assert np.corrcoef(out[:, jaw], energy)[0, 1] > np.corrcoef(expr[:, jaw], energy)[0, 1] + 0.3
    assert abs(out[:, jaw].mean() - expr[:, jaw].mean()) < 0.1      # about as open on the whole
    assert np.array_equal(energy_jaw(expr, _req(speech, Role.LISTENING)), expr)


def test_lips_close_on_m_b_and_p(speech):
    from avatar.motion.clip import FPS
    from avatar.motion.shaping import bilabial_seal
    from avatar.motion.teacher import num_frames_of
    from avatar.voice.base import SpeechClip, TimedUnit

    phon = (TimedUnit("h", 0.10, 0.16), TimedUnit("m", 0.40, 0.45), TimedUnit("ˈb", 1.00, 1.02),
            TimedUnit("a", 1.02, 1.20))
    clip = SpeechClip(speech.pcm, speech.sample_rate, phon, (), "")
    req = _req(clip)
    n = num_frames_of(req)
    expr = np.zeros((n, 52), np.float32)
    expr[:, ARKIT_INDEX["jawOpen"]] = 0.4
    expr[:, ARKIT_INDEX["mouthLowerDownLeft"]] = 0.3
    out = bilabial_seal(expr, req)
    # the lower lip's drop: jawOpen lowers it twice as far as mouthClose lifts it (avatar.face.rig)
    drop = out[:, ARKIT_INDEX["jawOpen"]] - 0.5 * out[:, ARKIT_INDEX["mouthClose"]]
    for ph in phon[1:3]:
        i = int(0.5 * (ph.start + ph.end) * FPS)
        assert drop[i] <= 0.0 and out[i, ARKIT_INDEX["mouthLowerDownLeft"]] < 0.05
    assert drop[int(0.13 * FPS)] == pytest.approx(0.4) and drop[int(1.6 * FPS)] == pytest.approx(0.4)
    from avatar.motion.shaping import SEAL_HOLD_S

    before = int((1.02 - SEAL_HOLD_S + 0.02) * FPS)   # a 20 ms /b/ is shut SEAL_HOLD_S before its release
    assert drop[before] <= 0.0 and drop[before + 1] <= 0.0


def test_teeth_take_the_photos_colour_cast():
    from avatar.render.composite import cast_like

    luma = np.array([0.3, 0.59, 0.11])
    white = np.array([220.0, 220.0, 220.0])
    warm = cast_like(white, np.array([230.0, 140.0, 115.0]))
    assert warm @ luma == pytest.approx(white @ luma, rel=1e-3)    # as bright as before
    assert warm[0] > warm[1] > warm[2]                              # ivory in a warm photo
    assert warm[0] - warm[2] < 0.5 * (230 - 115)                    # a share of the cast, not skin


def test_the_bench_counts_an_m_as_closed_only_when_the_lips_meet():
    from avatar.voice.base import TimedUnit
    from bench.rendered_motion import bilabial_closure

    ap = np.full(50, 0.08)
    ap[10:12] = 0.005                                  # closed during the first m
    phon = (TimedUnit("m", 0.40, 0.46), TimedUnit("a", 0.46, 0.6), TimedUnit("p", 1.20, 1.24))
    res = bilabial_closure(ap, phon, fps=25)
    assert res["count"] == 2 and res["closed_share"] == pytest.approx(0.5)
    assert np.isnan(bilabial_closure(ap, (TimedUnit("a", 0.0, 0.2),))["closed_share"])


def test_the_face_search_puts_a_table_face_on_speech_frames_as_shaping_does():
    from avatar.motion.shaping import emotion_face
    from bench.face_search import face_vector, with_face

    v = face_vector({"mouthFrown": 0.5, "jawOpen_": 0.4}, 0.8)
    assert v[ARKIT_INDEX["mouthFrownLeft"]] == v[ARKIT_INDEX["mouthFrownRight"]] == pytest.approx(0.4)
    assert v[ARKIT_INDEX["jawOpen"]] == pytest.approx(0.32) and v.sum() == pytest.approx(1.12)
    _, expr = _speaking_clip(60)
    prof = EmotionProfile(name="bare")
    req = MotionRequest(role=Role.SPEAKING, emotion=EmotionState.of("sad", 1.0), profile=prof)
    from avatar.motion.procedural import expression_vector

    shaped = emotion_face(expr, req)[-10:]                        # after its ramp
    ours = with_face(expr, expression_vector(prof.expression(req.emotion, listening=False)))[-10:]
    np.testing.assert_allclose(ours, shaped, atol=1e-6)


def test_closed_lips_show_the_line_where_they_meet():
    from avatar.render.composite import draw_lip_seam

    frame = np.full((64, 64, 3), 200, np.uint8)
    xs = np.linspace(16, 48, 9)
    upper = np.stack([xs, np.full_like(xs, 32.0)], 1)
    draw_lip_seam(frame, upper, upper + [0.0, 0.2], unit=100.0)
    assert frame[32, 32].mean() < 170 and frame[32, 10].mean() == 200 and frame[40, 32].mean() == 200


def test_the_pause_mouth_spreads_the_same_whatever_the_seed(speech):
    from avatar.motion.features import find_pauses, rms_energy
    from avatar.motion.shaping import resting_mouth
    from avatar.motion.teacher import num_frames_of

    req = MotionRequest(role=Role.SPEAKING, emotion=EmotionState.neutral(), profile=EmotionProfile(name="b"),
                        speech=speech)
    n = num_frames_of(req)
    t = (np.arange(n) + 0.5) / 25
    inside = np.zeros(n, bool)
    for a, b in find_pauses((), rms_energy(speech.pcm, speech.sample_rate, n), n / 25):
        inside |= (t >= a + 0.1) & (t < b - 0.1)
    mads = []
    for seed in range(6):
        jaw = resting_mouth(np.zeros((n, 52), np.float32), req, seed=seed)[inside, ARKIT_INDEX["jawOpen"]]
        mads.append(np.median(np.abs(jaw - np.median(jaw))))
    assert min(mads) > 0.04 and max(mads) - min(mads) < 0.02   # seed luck no longer decides the spread


def test_the_second_judge_sees_a_raised_brow_and_an_open_mouth_in_eye_distances(portrait):
    from avatar.face.landmarks import FaceLandmarks
    from avatar.face.rig import build_rig
    from bench.expression import face_geometry

    lm = portrait.landmarks
    rig = build_rig(lm)
    before = face_geometry(lm)

    def moved(name):
        pts = lm.points.copy()
        pts[:, :2] += rig.displacement[list(rig.names).index(name)]
        return face_geometry(FaceLandmarks(pts, lm.image_size))

    up = moved("browInnerUp")
    assert up["brow_inner"] - before["brow_inner"] > 0.08          # the rig raises it 0.14 at most
    assert abs(up["aperture"] - before["aperture"]) < 1e-6
    jaw = moved("jawOpen")
    assert jaw["aperture"] - before["aperture"] > 0.2               # JAW_DROP 0.32 at the lip's middle
    assert abs(jaw["brow_inner"] - before["brow_inner"]) < 1e-6


def test_an_expression_gain_scales_only_the_affect_channels_own_movement():
    prof = EmotionProfile(name="bare", mirroring=0.5)
    _, expr = _speaking_clip()
    req = MotionRequest(role=Role.SPEAKING, emotion=EmotionState.of("sad", 0.8), profile=prof)
    brow, jaw = ARKIT_INDEX["browInnerUp"], ARKIT_INDEX["jawOpen"]
    gain = np.ones(52, np.float32)
    gain[brow], gain[jaw] = 3.0, 5.0
    plain, gained = emotion_face(expr, req), emotion_face(expr, req, gain)
    face = emotion_face(np.zeros_like(expr), req)[:, brow]        # the profile's face, no movement
    np.testing.assert_allclose(gained[:, brow] - face, np.minimum(3.0 * (plain[:, brow] - face), 1 - face), atol=1e-5)
    assert (plain[:, brow] - face).max() > 0.05                   # there is movement to scale
    np.testing.assert_array_equal(gained[:, jaw], plain[:, jaw])  # not an affect channel: untouched
    keep = np.ones(52) != gain
    np.testing.assert_array_equal(gained[:, ~keep], plain[:, ~keep])

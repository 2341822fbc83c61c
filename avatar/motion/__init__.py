"""Motion: the avatar's head pose, gaze and ARKit expression per frame, speaking and listening.

clip.py (MotionClip), base.py (MotionRequest, MotionGenerator), teacher.py (procedural teacher),
model.py (transformer over a variational latent), generator.py (make_motion_generator),
headmask.py (masks for the renderer), train.py / mimic.py (training, personalisation),
metrics.py (quality measures), io.py (Live Link Face CSV, JSON).
"""

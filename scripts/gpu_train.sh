#!/usr/bin/env bash
# The GPU runs behind the shipped weights and the README's performance numbers, in one go.
# On a GPU machine without network: copy the repository with data/cifar10.pack (made here by
# `python -m sslcourse data pack data/cifar10.pack`), then run `bash scripts/gpu_train.sh [RESULTS_DIR]`.
# Each step runs on even if an earlier one failed; results (cards, weights, logs) land in RESULTS_DIR.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RESULTS="${1:-runs/gpu}"
mkdir -p "$RESULTS"
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 SSLCOURSE_OFFLINE=1

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
"$PY" -m sslcourse data info

# 1. throughput: engine vs conventional (16 loader workers) vs compute bound, full-width ResNet-18
timeout 240 "$PY" benchmarks/throughput.py --device cuda 2>&1 | tee "$RESULTS/throughput.txt"

# 2. the supervised baseline of the course's default model (target: >= 93% within 2 minutes)
timeout 300 "$PY" -m sslcourse train supervised --minutes 2 --device cuda --out runs/supervised_resnet18 \
  --force --quiet 2>&1 | tail -n 5
cp runs/supervised_resnet18/card.json "$RESULTS/supervised_card.json"
cp runs/supervised_resnet18/model.safetensors "$RESULTS/supervised_model.safetensors"

# 3. the SimCLR flagship (issue: notebook 03), as long as the remaining budget allows
timeout 420 "$PY" -m sslcourse train simclr --minutes "${SIMCLR_MINUTES:-5}" --device cuda \
  --out runs/simclr_resnet18 --force --quiet 2>&1 | tail -n 5
cp runs/simclr_resnet18/card.json "$RESULTS/simclr_card.json"
cp runs/simclr_resnet18/model.safetensors "$RESULTS/simclr_model.safetensors"
cp runs/simclr_resnet18/history.json "$RESULTS/simclr_history.json"
ls -la "$RESULTS"

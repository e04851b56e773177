#!/usr/bin/env bash
# Rerun every CPU stand-in the course ships (the models and studies that wait for their GPU run) from a clean
# checkout, so that each result and card names a commit that holds its code, its seed and the sha256 of the data
# it read. The commands are the ones the shipped files record; nothing here is new science.
#
#   bash scripts/cpu_standins.sh            # everything: about 115 minutes on 2 cores (70 measured 2026-11-29,
#                                           # plus the laptop curve's 30 and the floors' 12, 2026-12-07)
#   bash scripts/cpu_standins.sh studies    # one part: models (with the studies), context, colorization,
#                                           # studies, mae, curve, protocol, floors, gpu-protocol
#
# Two lanes of one thread each run side by side (the studies were sized for one thread), then the protocol rows
# use both cores. The random floors of context and MAE (`floors`) were re-evaluated on 2026-12-07 and matched
# their earlier rows within 0.01; the colorization floor is rerun with the protocol, for its few-label rows. The GPU-trained models (SimCLR, supervised) are not retrained on
# a CPU; `gpu-protocol` only re-evaluates them (and the half-width random floor) under the protocol. Measured:
# models with the studies 25 minutes, protocol 15, gpu-protocol 30.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
# The same rule as every result's record (sslcourse.provenance.commit): rewritten results and cards are outputs,
# not code, so a rerun may go on after them; changed code is refused.
if ! "$PY" -c 'import sys; from sslcourse.provenance import commit; sys.exit(commit()[1] is False)'; then
    echo "cpu_standins: the code has uncommitted changes; commit first, so the results can name their code" >&2
    exit 2
fi
mkdir -p runs/standins
log() { echo "[$(date +%T)] $*"; }
run() { log "$*"; OMP_NUM_THREADS=${THREADS:-1} "$PY" "$@"; }

lane_context() {
    THREADS=1 run -m sslcourse.experiments.context gapjitter --device cpu --out sslcourse/results/context/gap_jitter.json \
        --run runs/context_resnet18 --force --width 0.125 --epochs 2.5 --minutes 5 --quiet
    THREADS=1 run -m sslcourse ship runs/context_resnet18 context_resnet18 --force
}

lane_colorization() {
    for loss in l2 classification rebalanced; do
        THREADS=1 run -m sslcourse.experiments.colorization train --loss "$loss" --device cpu --epochs 0.75 \
            --batch-size 128 --out "runs/colorization_$loss" --force --quiet
    done
    THREADS=1 run -m sslcourse.experiments.colorization measure --device cpu \
        --runs runs/colorization_l2,runs/colorization_classification,runs/colorization_rebalanced \
        --sample-indices 429,1917,2890,3531,4919,5592,6044,7532,8223,9399,988,1496 \
        --out sslcourse/results/colorization/losses.json --force
    THREADS=1 run -m sslcourse ship runs/colorization_rebalanced colorization_resnet18 --force
}

lane_small_studies() {
    THREADS=1 run -m sslcourse.experiments.context aberration --device cpu --out sslcourse/results/context/aberration.json \
        --force --width 0.125 --epochs 3 --minutes 3 --quiet
    THREADS=1 run -m sslcourse.experiments.colorization prior --device cpu --out sslcourse/results/colorization/prior.json --force
    # the rarity-weighted AuC's effective test images: they depend on the prior just written
    THREADS=1 run -m sslcourse.experiments.colorization rarity --device cpu --out sslcourse/results/colorization/rarity.json --force
    for study in grid head temperature; do
        out=$study; [ "$study" = grid ] && out=augmentation_grid
        extra=(); [ "$study" = grid ] && extra=(--augs crop,cutout,color,sobel --unordered)
        THREADS=1 run -m sslcourse.experiments.simclr "$study" --device cpu --scale cpu "${extra[@]}" \
            --out "sslcourse/results/simclr/$out.json" --force
    done
}

mae_small=(--train-subset 2000 --dim 64 --depth 2 --heads 2 --decoder-dim 32 --decoder-depth 1
    --decoder-heads 2 --batch-size 64 --lr 1.5e-3 --finetune-head probe --finetune-epochs 5 --finetune-lr 3e-4 --quiet)
lane_mae() {
    THREADS=2 run -m sslcourse.experiments.mae cost --device cpu --out sslcourse/results/mae/cost.json --force \
        --batch-size 128 --steps 20
    THREADS=2 run -m sslcourse.experiments.mae pretrain --device cpu --out runs/mae_vit_mini_cpu --force --no-norm-pix \
        --dim 96 --depth 4 --heads 3 --decoder-dim 64 --decoder-depth 1 --decoder-heads 2 --pretrain-minutes 3 \
        --batch-size 64 --lr 1.5e-3 --test-subset 1000 --quiet
    THREADS=2 run -m sslcourse ship runs/mae_vit_mini_cpu mae_vit --force
    # fine-tuning from the linear probe's head (LP-FT), on all 10,000 test images, one thread as shipped
    THREADS=1 run -m sslcourse.experiments.mae finetune --device cpu --out sslcourse/results/mae/finetune.json --force \
        --pretrain-epochs 6 "${mae_small[@]}"
    THREADS=1 run -m sslcourse.experiments.mae sweep --device cpu --out sslcourse/results/mae/sweep.json --force \
        --pretrain-epochs 3 --ratios 0.1,0.25,0.5,0.75,0.9 "${mae_small[@]}"
}

curve() {  # the laptop-scale SimCLR curve: 6 runs of 3,000 steps, about 30 minutes of one core
    THREADS=1 run -m sslcourse.experiments.simclr_curve curve --device cpu --threads 1 --steps 100,300,1000,3000 \
        --seeds 0,1,2 --out sslcourse/results/simclr/laptop_curve.json --force
}

protocol() {
    for name in "$@"; do
        out=${name#random:}; [ "$name" != "$out" ] && out=random_$out
        THREADS=2 run -m sslcourse eval "$name" --device cpu --few-label 1,10,100 --force \
            --out "sslcourse/results/protocol/$out.json"
    done
}

protocol_cpu() { protocol context_resnet18 colorization_resnet18 mae_vit random:colorization_resnet18; }
floors() { protocol random:context_resnet18 random:mae_vit; }
protocol_gpu() { protocol simclr_resnet18 supervised_resnet18 random:resnet18; }

models() {  # two one-thread lanes side by side (context then the small studies; colorization), then MAE on both
    { lane_context && lane_small_studies; } > runs/standins/context.log 2>&1 &
    a=$!
    lane_colorization > runs/standins/colorization.log 2>&1 &
    b=$!
    wait $a && wait $b
    lane_mae > runs/standins/mae.log 2>&1
}

part=${1:-all}
case $part in
    models) models ;;
    context) lane_context ;;
    colorization) lane_colorization ;;
    studies) lane_small_studies ;;
    mae) lane_mae ;;
    curve) curve ;;
    floors) floors ;;
    protocol) protocol_cpu ;;
    gpu-protocol) protocol_gpu ;;
    all)
        models
        curve
        protocol_cpu
        floors
        protocol_gpu
        ;;
    *) echo "cpu_standins: unknown part '$part' (models, context, colorization, studies, mae, curve, protocol, floors, gpu-protocol, all)" >&2; exit 2 ;;
esac
log "done: $part"

#!/usr/bin/env python3
"""The GPU runs the course still needs, in priority order, fitted to a time budget.

First the open issues' runs (supervised baseline, SimCLR, throughput, MAE, the SimCLR and MAE studies), then
the GPU versions of results that ship today as labelled CPU stand-ins (context prediction, colorization).

A lent GPU machine gives a session about 15 minutes in all (its start included), commands of at most
10 minutes, no network, and at most 8 files of 16 MiB back. This script turns that into one repeatable
command: it runs the steps below in order, skips a step whose estimate no longer fits the budget (a later,
shorter one may still fit), remembers what finished (RESULTS/plan.json), so a second call goes on where the
first stopped, and packs the results into a few files for the trip back.

Here, before the GPU call:
    python -m sslcourse data pack data/cifar10.pack     # 18 MB, git-ignored: name it in the call's carry
    python scripts/gpu_plan.py --list                    # the steps, their estimates and exact commands
    python scripts/gpu_plan.py --smoke                   # every step, tiny, on the CPU, in a scratch copy

On the GPU machine (the repository's root; $OUT is the folder whose files come back):
    python scripts/gpu_plan.py --budget-s 540 --results runs/gpu_plan --bundle "$OUT"

Back here, with the returned files in a folder F:
    python scripts/gpu_plan.py --land F                  # unpacks into runs/gpu_plan/, prints what to land

Estimates are seconds on one H100/H200 including evaluation, from the runs in results/gpu/ and the recipes'
own budgets; a step that overruns is stopped when the budget runs out, and a resumable one continues later.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path("runs") / "gpu_plan"  # under the repository's root
PY = "python"  # written in the commands; run with the interpreter running this script


@dataclass(frozen=True)
class Step:
    name: str
    issue: int
    purpose: str
    estimate_s: int
    gpu: tuple[str, ...]  # shell-free commands, run in order; {step} is this step's folder
    smoke: tuple[str, ...]  # the same commands, tiny and on the CPU
    needs: tuple[str, ...] = ()
    resumable: bool = False  # may start with less than its estimate left and go on in a later call
    land: tuple[str, ...] = field(default=())  # what to run here once the results are back


TINY_TRAIN = "--device cpu --subset 200 --epochs 0.5 --batch-size 50 --width 0.125 --quiet"
TINY_EVAL = "--device cpu --subset 200 --few-label 1"
TINY_MAE = ("--device cpu --train-subset 200 --test-subset 100 --batch-size 50 --dim 32 --depth 1 --heads 2 "
            "--decoder-dim 32 --decoder-depth 1 --decoder-heads 2 --quiet")
PROTOCOL = "sslcourse/results/protocol"


def _shipped(name: str, *more: str, run: str = "run") -> tuple[str, ...]:
    """Landing a trained model: its weights and card into the registry, its protocol row beside the others."""
    return (f"{PY} -m sslcourse ship {{step}}/{run} {name} --force", f"cp {{step}}/{name}.json {PROTOCOL}/{name}.json",
            *more)


STEPS: tuple[Step, ...] = (
    Step("supervised", 3, "supervised baseline, 2 minutes (target 93%), with Cutout; protocol row on the GPU", 240,
         gpu=(f"{PY} -m sslcourse train supervised --minutes 2 --device cuda "
              "--set augmentations=translate,flip,cutout --out {step}/run --quiet",
              f"{PY} -m sslcourse ship {{step}}/run supervised_resnet18 --force",
              f"{PY} -m sslcourse eval supervised_resnet18 --device cuda --few-label 1,10,100 "
              "--out {step}/supervised_resnet18.json"),
         smoke=(f"{PY} -m sslcourse train supervised {TINY_TRAIN} --set augmentations=translate,flip,cutout "
                "--out {step}/run",
                f"{PY} -m sslcourse ship {{step}}/run supervised_resnet18 --force",
                f"{PY} -m sslcourse eval supervised_resnet18 {TINY_EVAL} --out {{step}}/supervised_resnet18.json"),
         land=_shipped("supervised_resnet18")),
    Step("simclr_flagship", 9, "SimCLR flagship, 6 minutes (target 85% linear); protocol row on the GPU", 480,
         gpu=(f"{PY} -m sslcourse train simclr --minutes 6 --device cuda --out {{step}}/run --quiet",
              f"{PY} -m sslcourse ship {{step}}/run simclr_resnet18 --force",
              f"{PY} -m sslcourse eval simclr_resnet18 --device cuda --few-label 1,10,100 "
              "--out {step}/simclr_resnet18.json"),
         smoke=(f"{PY} -m sslcourse train simclr {TINY_TRAIN} --out {{step}}/run",
                f"{PY} -m sslcourse ship {{step}}/run simclr_resnet18 --force",
                f"{PY} -m sslcourse eval simclr_resnet18 {TINY_EVAL} --out {{step}}/simclr_resnet18.json"),
         land=_shipped("simclr_resnet18", "refresh sslcourse/results/simclr/simclr_resnet18_history.json from "
                       "{step}/run/history.json (notebook 03 plots it)")),
    Step("throughput", 3, "engine vs conventional vs compute bound, full-width ResNet-18, torch.compile", 150,
         gpu=(f"{PY} benchmarks/throughput.py --device cuda --compile",),
         smoke=(f"{PY} benchmarks/throughput.py --device cpu --width 0.125 --batch 8 --steps 1 --workers 0",),
         land=("copy {step}/log.txt to results/gpu/ and update the README's performance section",)),
    Step("mae_pretrain", 10, "MAE at 75% on ViT-Tiny, 5 minutes; protocol row on the GPU", 420,
         gpu=(f"{PY} -m sslcourse.experiments.mae pretrain --device cuda --compile --pretrain-minutes 5 "
              "--pretrain-epochs 1000 --out {step}/run --quiet",
              f"{PY} -m sslcourse ship {{step}}/run mae_vit_tiny --force",
              f"{PY} -m sslcourse eval mae_vit_tiny --device cuda --few-label 1,10,100 --out {{step}}/mae_vit_tiny.json"),
         smoke=(f"{PY} -m sslcourse.experiments.mae pretrain {TINY_MAE} --compile --pretrain-epochs 0.5 "
                "--out {step}/run",  # --compile as on the GPU: inductor on the CPU takes about 20 s more
                f"{PY} -m sslcourse ship {{step}}/run mae_vit_tiny --force",
                f"{PY} -m sslcourse eval mae_vit_tiny {TINY_EVAL} --out {{step}}/mae_vit_tiny.json"),
         land=_shipped("mae_vit_tiny")),
    Step("mae_finetune", 10, "the 75% MAE fine-tuned vs the same ViT from scratch (target 85%)", 240,
         needs=("mae_pretrain",),
         gpu=(f"{PY} -m sslcourse.experiments.mae finetune --device cuda --compile --init mae_vit_tiny "
              "--finetune-minutes 1.5 --finetune-epochs 1000 --out {step}/finetune.json --quiet",),
         smoke=(f"{PY} -m sslcourse.experiments.mae finetune {TINY_MAE} --init mae_vit_tiny --finetune-epochs 0.5 "
                "--out {step}/finetune.json",),
         land=("cp {step}/finetune.json sslcourse/results/mae/finetune.json",)),
    Step("mae_cost", 10, "encoder cost: visible tokens only vs all tokens with mask tokens", 60,
         gpu=(f"{PY} -m sslcourse.experiments.mae cost --device cuda --out {{step}}/cost.json --quiet",),
         smoke=(f"{PY} -m sslcourse.experiments.mae cost {TINY_MAE} --steps 1 --out {{step}}/cost.json",),
         land=("cp {step}/cost.json sslcourse/results/mae/cost.json",)),
    Step("simclr_temperature", 9, "SimCLR temperature study, 5 runs of 15 epochs", 150,
         gpu=(f"{PY} -m sslcourse.experiments.simclr temperature --device cuda --scale gpu "
              "--out {step}/temperature.json",),
         smoke=(f"{PY} -m sslcourse.experiments.simclr temperature --device cpu --scale cpu --epochs 0.03 "
                "--temperatures 0.1,0.5 --out {step}/temperature.json",),
         land=("cp {step}/temperature.json sslcourse/results/simclr/temperature.json",)),
    Step("simclr_head", 9, "SimCLR features before vs after the projection head", 90,
         gpu=(f"{PY} -m sslcourse.experiments.simclr head --device cuda --scale gpu --out {{step}}/head.json",),
         smoke=(f"{PY} -m sslcourse.experiments.simclr head --device cpu --scale cpu --epochs 0.03 "
                "--out {step}/head.json",),
         land=("cp {step}/head.json sslcourse/results/simclr/head.json",)),
    Step("simclr_grid", 9, "SimCLR augmentation-pair grid, 49 runs of 15 epochs (resumable across calls)", 1000,
         resumable=True,
         gpu=(f"{PY} -m sslcourse.experiments.simclr grid --device cuda --scale gpu --resume "
              "--out {step}/augmentation_grid.json",),
         smoke=(f"{PY} -m sslcourse.experiments.simclr grid --device cpu --scale cpu --epochs 0.03 --augs crop,color "
                "--resume --out {step}/augmentation_grid.json",),
         land=("cp {step}/augmentation_grid.json sslcourse/results/simclr/augmentation_grid.json "
               "(once its \"complete\" is true)",)),
    Step("mae_sweep", 10, "MAE masking-ratio sweep, 5 ratios, 1 + 0.5 minutes each", 540,
         gpu=(f"{PY} -m sslcourse.experiments.mae sweep --device cuda --compile --ratios 0.1,0.25,0.5,0.75,0.9 "
              "--pretrain-minutes 1 --pretrain-epochs 1000 --finetune-minutes 0.5 --finetune-epochs 1000 "
              "--out {step}/sweep.json --quiet",),
         smoke=(f"{PY} -m sslcourse.experiments.mae sweep {TINY_MAE} --ratios 0.5,0.75 --pretrain-epochs 0.5 "
                "--finetune-epochs 0.5 --out {step}/sweep.json",),
         land=("cp {step}/sweep.json sslcourse/results/mae/sweep.json",)),
)
# Closed issues whose results are CPU stand-ins today (their notebooks and cards say so): the GPU versions, last.
TINY_CONTEXT = "--device cpu --train-subset 200 --probe-train 200 --test-subset 100 --epochs 0.5 --width 0.125 " \
               "--batch-size 50 --quiet"
TINY_COLOR = "--device cpu --train-subset 200 --epochs 0.5 --width 0.125 --batch-size 50 --quiet"
COLOR_RUNS = "{step}/l2,{step}/classification,{step}/rebalanced"
STEPS += (
    Step("context_gapjitter", 7, "context prediction with and without gap + jitter, 2.5 minutes each; protocol row",
         480,
         gpu=(f"{PY} -m sslcourse.experiments.context gapjitter --device cuda --minutes 2.5 --epochs 1000 "
              "--width 0.5 --batch-size 512 --probe-train 50000 --test-subset 10000 --out {step}/gap_jitter.json "
              "--run {step}/run --quiet",
              f"{PY} -m sslcourse ship {{step}}/run context_resnet18 --force",
              f"{PY} -m sslcourse eval context_resnet18 --device cuda --few-label 1,10,100 "
              "--out {step}/context_resnet18.json"),
         smoke=(f"{PY} -m sslcourse.experiments.context gapjitter {TINY_CONTEXT} --out {{step}}/gap_jitter.json "
                "--run {step}/run",
                f"{PY} -m sslcourse ship {{step}}/run context_resnet18 --force",
                f"{PY} -m sslcourse eval context_resnet18 {TINY_EVAL} --out {{step}}/context_resnet18.json"),
         land=_shipped("context_resnet18", "cp {step}/gap_jitter.json sslcourse/results/context/gap_jitter.json")),
    Step("context_aberration", 7, "the chromatic-aberration shortcut: four position regressors, 1 minute each", 330,
         gpu=(f"{PY} -m sslcourse.experiments.context aberration --device cuda --minutes 1 --epochs 1000 --width 0.5 "
              "--batch-size 512 --test-subset 10000 --out {step}/aberration.json --quiet",),
         smoke=(f"{PY} -m sslcourse.experiments.context aberration {TINY_CONTEXT} --out {{step}}/aberration.json",),
         land=("cp {step}/aberration.json sslcourse/results/context/aberration.json",)),
    Step("colorization", 8, "colorization: L2 vs classification vs rebalanced, 2 minutes each; protocol row", 540,
         gpu=(*(f"{PY} -m sslcourse.experiments.colorization train --loss {loss} --device cuda --minutes 2 "
                f"--epochs 1000 --width 0.5 --batch-size 256 --out {{step}}/{loss} --quiet"
                for loss in ("l2", "classification", "rebalanced")),
              f"{PY} -m sslcourse.experiments.colorization measure --device cuda --runs {COLOR_RUNS} "
              "--sample-indices 429,1917,2890,3531,4919,5592,6044,7532,8223,9399,988,1496 --out {step}/losses.json",
              f"{PY} -m sslcourse ship {{step}}/rebalanced colorization_resnet18 --force",
              f"{PY} -m sslcourse eval colorization_resnet18 --device cuda --few-label 1,10,100 "
              "--out {step}/colorization_resnet18.json"),
         smoke=(*(f"{PY} -m sslcourse.experiments.colorization train --loss {loss} {TINY_COLOR} --out {{step}}/{loss}"
                  for loss in ("l2", "classification", "rebalanced")),
                f"{PY} -m sslcourse.experiments.colorization measure --device cpu --test-subset 100 --runs {COLOR_RUNS} "
                "--sample-indices 0,1 --out {step}/losses.json",
                f"{PY} -m sslcourse ship {{step}}/rebalanced colorization_resnet18 --force",
                f"{PY} -m sslcourse eval colorization_resnet18 {TINY_EVAL} --out {{step}}/colorization_resnet18.json"),
         land=_shipped("colorization_resnet18", "cp {step}/losses.json sslcourse/results/colorization/losses.json",
                       run="rebalanced")),
)
BY_NAME = {s.name: s for s in STEPS}


def _commands(step: Step, smoke: bool, step_dir: Path) -> list[list[str]]:
    out = []
    for command in (step.smoke if smoke else step.gpu):
        args = shlex.split(command.format(step=step_dir))
        out.append([sys.executable if args[0] == PY else args[0], *args[1:]])
    return out


def _load_state(results: Path) -> dict:
    path = results / "plan.json"
    return json.loads(path.read_text()) if path.is_file() else {"steps": {}}


def _save_state(results: Path, state: dict) -> None:
    tmp = results / "plan.json.tmp"
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, results / "plan.json")


def _run_step(step: Step, commands: list[list[str]], step_dir: Path, cwd: Path, deadline: float, env: dict) -> dict:
    """Run the commands in order into step_dir/log.txt; stop at the first failure or at the deadline."""
    step_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with open(step_dir / "log.txt", "a") as log:
        for args in commands:
            log.write(f"\n$ {shlex.join(args)}\n")
            log.flush()
            left = deadline - time.monotonic()
            try:
                rc = subprocess.run(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    timeout=max(1.0, left)).returncode
            except subprocess.TimeoutExpired:
                return {"status": "timeout", "seconds": round(time.monotonic() - t0, 1), "at": shlex.join(args)}
            if rc != 0:
                return {"status": "failed", "seconds": round(time.monotonic() - t0, 1), "at": shlex.join(args),
                        "returncode": rc}
    return {"status": "ok", "seconds": round(time.monotonic() - t0, 1)}


def _tail(path: Path, lines: int = 4) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else ""


def run_plan(results: Path, budget_s: float, only: list[str] | None, smoke: bool, force: bool, cwd: Path) -> dict:
    results.mkdir(parents=True, exist_ok=True)
    state = _load_state(results)
    env = {**os.environ, "PYTHONPATH": f"{cwd}{os.pathsep}{os.environ.get('PYTHONPATH', '')}".rstrip(os.pathsep),
           "PYTHONUNBUFFERED": "1", "SSLCOURSE_OFFLINE": "1"}
    deadline = time.monotonic() + budget_s
    for step in STEPS:
        if only and step.name not in only:
            continue
        record = state["steps"].get(step.name, {})
        if record.get("status") == "ok" and not force:
            print(f"[{step.name}] done before ({record.get('seconds')} s): skipped")
            continue
        missing = [n for n in step.needs if state["steps"].get(n, {}).get("status") != "ok"]
        left = deadline - time.monotonic()
        if missing:
            print(f"[{step.name}] needs {', '.join(missing)} first: skipped")
            continue
        if left < (60 if step.resumable else step.estimate_s):
            print(f"[{step.name}] needs ~{step.estimate_s} s, {left:.0f} s left: skipped")
            continue
        step_dir = results / step.name
        print(f"[{step.name}] issue #{step.issue}: {step.purpose} (~{step.estimate_s} s, {left:.0f} s left)", flush=True)
        outcome = _run_step(step, _commands(step, smoke, step_dir), step_dir, cwd, deadline, env)
        outcome["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        state["steps"][step.name] = outcome
        _save_state(results, state)
        print(f"[{step.name}] {outcome['status']} in {outcome['seconds']} s\n{_tail(step_dir / 'log.txt')}", flush=True)
    return state


def bundle(results: Path, out: Path, part_bytes: int = 15 << 20, max_parts: int = 8) -> list[Path]:
    """results/ as one tar (checkpoints left out: optimizer state, not results) cut into parts that each fit
    the trip back; the plan's log goes as its own small file too."""
    out.mkdir(parents=True, exist_ok=True)
    tar_path = Path(tempfile.mkdtemp()) / "gpu_plan.tar"
    with tarfile.open(tar_path, "w") as tar:
        tar.add(results, arcname="gpu_plan", filter=lambda ti: None if ti.name.endswith("checkpoint.pt") else ti)
    data, parts = tar_path.read_bytes(), []
    for i in range(0, len(data), part_bytes):
        parts.append(out / f"gpu_plan.tar.{i // part_bytes:02d}")
        parts[-1].write_bytes(data[i:i + part_bytes])
    if len(parts) > max_parts - 1:
        print(f"warning: {len(parts)} parts; only {max_parts} files come back", file=sys.stderr)
    shutil.copyfile(results / "plan.json", out / "plan.json")
    shutil.rmtree(tar_path.parent)
    return parts


def land(folder: Path, results: Path) -> int:
    """Reassemble the parts into results/ and print, for each finished step, what to run to land it."""
    parts = sorted(folder.glob("gpu_plan.tar.*"))
    if not parts:
        print(f"error: no gpu_plan.tar.NN parts in {folder}", file=sys.stderr)
        return 2
    if results.exists() and any(results.iterdir()):
        print(f"error: {results} is not empty; move it away first (nothing is overwritten)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        whole = Path(tmp) / "gpu_plan.tar"
        whole.write_bytes(b"".join(p.read_bytes() for p in parts))
        with tarfile.open(whole) as tar:
            tar.extractall(tmp, filter="data")
        shutil.move(str(Path(tmp) / "gpu_plan"), results)
    state = _load_state(results)
    print(f"unpacked into {results}")
    for step in STEPS:
        record = state["steps"].get(step.name)
        if not record:
            continue
        print(f"\n[{step.name}] {record['status']} in {record['seconds']} s")
        if record["status"] == "ok" or step.resumable:
            for command in step.land:
                print("  " + command.format(step=results / step.name))
    print("\nthen re-execute the notebooks that show these numbers: python -m sslcourse notebooks sync && "
          "python -m sslcourse assign")
    return 0


def list_plan() -> None:
    total = 0
    for step in STEPS:
        total += step.estimate_s
        print(f"{step.name} (issue #{step.issue}, ~{step.estimate_s} s{', resumable' if step.resumable else ''}"
              f"{', after ' + ', '.join(step.needs) if step.needs else ''}): {step.purpose}")
        for command in step.gpu:
            print("    " + command.format(step=RESULTS / step.name))
    print(f"about {total / 60:.0f} minutes in all: one GPU session (about 12 usable minutes) gets through the first steps")


def _scratch_copy() -> Path:
    """The code in a scratch folder, so a smoke run's `ship` cannot touch this checkout's weights."""
    dest = Path(tempfile.mkdtemp(prefix="gpu_plan_smoke_"))
    for name in ("sslcourse", "benchmarks", "scripts", "pyproject.toml"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(src, dest / name)
    return dest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--list", action="store_true", help="print the steps and their GPU commands, run nothing")
    p.add_argument("--smoke", action="store_true", help="every step tiny on the CPU, in a scratch copy")
    p.add_argument("--budget-s", type=float, help="seconds this call may use (default 540; no limit with --smoke)")
    p.add_argument("--results", type=Path, help="where results and plan.json go (default runs/gpu_plan)")
    p.add_argument("--only", help="comma-separated step names")
    p.add_argument("--force", action="store_true", help="run again steps that finished before")
    p.add_argument("--bundle", type=Path, help="also pack the results into this folder for the trip back")
    p.add_argument("--land", type=Path, help="unpack returned parts from this folder and say how to land them")
    args = p.parse_args(argv)

    only = args.only.split(",") if args.only else None
    unknown = [n for n in only or () if n not in BY_NAME]
    if unknown:
        print(f"error: unknown step(s) {unknown}; the steps: {', '.join(BY_NAME)}", file=sys.stderr)
        return 2
    if args.list:
        list_plan()
        return 0
    results = (args.results or ROOT / RESULTS).resolve()
    if args.land:
        return land(args.land, results)
    cwd = _scratch_copy() if args.smoke else ROOT
    if args.smoke and not args.results:
        results = cwd / RESULTS
    budget = args.budget_s if args.budget_s is not None else float("inf") if args.smoke else 540
    state = run_plan(results, budget, only, args.smoke, args.force, cwd)
    if args.smoke and not results.is_relative_to(cwd):
        shutil.rmtree(cwd)  # the scratch copy, once its results live elsewhere
    if args.bundle:
        parts = bundle(results, args.bundle)
        print(f"bundled {len(parts)} part(s) into {args.bundle}")
    failed = [n for n, r in state["steps"].items() if (not only or n in only) and r["status"] == "failed"]
    print(f"results in {results}; " + (f"failed: {', '.join(failed)}" if failed else "no step failed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

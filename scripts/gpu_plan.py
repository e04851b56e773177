#!/usr/bin/env python3
"""The GPU runs the course still needs, in waves by priority, fitted to a time budget.

The calibration and the throughput benchmark first, then the flagships with their protocol rows (supervised,
context, colorization, SimCLR, MAE) and airbench, then the studies (SimCLR temperature, head, colour strength
and the one-branch augmentation grid; MAE fine-tuning, cost and masking ratio; context's aberration).

A lent GPU machine gives a session about 15 minutes in all (its start included), commands of at most
10 minutes, no network, and at most 8 files of 16 MiB back. This script turns that into one repeatable
command: it runs the steps below in order, skips a step whose estimate no longer fits the budget (a later,
shorter one may still fit), remembers what finished (RESULTS/plan.json), so a second call goes on where the
first stopped, and packs the results into a few files for the trip back.

Here, before the GPU call:
    python -m sslcourse data pack data/cifar10.pack     # 18 MB, git-ignored: name it in the call's carry
    python scripts/gpu_plan.py --list                    # the steps, their estimates and exact commands
    python scripts/gpu_plan.py --smoke                   # every step, tiny, on the CPU, in a scratch copy

On the GPU machine (the repository's root; $OUT is the folder whose files come back; carry data/cifar10.pack
and .whl, the airbench wheel made here by `pip wheel --no-deps airbench==0.1.8 -w .whl`), in two calls of the
same command (a command runs at most 10 minutes; the second goes on where the first stopped). The copy there has
no .git: commit first, and name the commit sent (`git rev-parse --short HEAD` here), or the plan refuses to run:
    python scripts/gpu_plan.py --budget-s 540 --results runs/gpu_plan --bundle "$OUT" --code-version COMMIT

Back here, with the returned files in a folder F:
    python scripts/gpu_plan.py --land F                  # unpacks into runs/gpu_plan/, prints what to land

Its first step, the calibration, measures views/s per model (eager and compiled) and what running trainings side
by side gains; every later estimate is computed from it (before one exists, from the shipped GPU runs' rates),
and the steps of a wave run side by side where the calibration measured a gain. Studies state the difference
they must resolve and its noise (sslcourse.experiments.noise). A step that overruns is stopped when the budget
runs out, and a resumable one continues later. The CPU smoke commands are derived from the GPU ones (SMOKE).
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
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # gpu_plan_steps, also when loaded by path (tests)
from gpu_plan_steps import (  # noqa: E402,F401
    BY_NAME,
    GPU_LOGS,
    PRIOR_VIEWS_PER_S,
    PY,
    RESULTS,
    ROOT,
    SMOKE,
    STEPS,
    Step,
    smoke_args,
)


def _commands(step: Step, smoke: bool, step_dir: Path) -> list[list[str]]:
    out = []
    for command in step.gpu:
        args = shlex.split(command.format(step=step_dir))
        args = smoke_args(args) if smoke else args
        out.append([sys.executable if args[0] == PY else args[0], *args[1:]])
    return out


# --------------------------------------------------------------------------- sizing: calibration and noise
def load_calibration(results: Path | None = None) -> dict | None:
    """The last calibration: this plan's own, else the one landed in GPU_LOGS; None before any."""
    for path in (
        (results or ROOT / RESULTS) / "calibration" / "calibration.json",
        ROOT / GPU_LOGS / "calibration.json",
    ):
        if path.is_file():
            record = json.loads(path.read_text())
            if not record.get("tiny") and record.get("computed_on") == "GPU":
                return record
    return None


def rates(calibration: dict | None) -> tuple[dict, dict, str]:
    """Views/s per model and mode (eager, compiled) and the side-by-side speed-up per number of processes,
    from a calibration or, before one, the prior (eager) rates for both modes, with no gain assumed from
    compiling or from running side by side."""
    if calibration is None:
        return (
            {m: {"eager": v, "compiled": v} for m, v in PRIOR_VIEWS_PER_S.items()},
            {1: 1.0},
            "recipe estimates (no calibration yet)",
        )
    per_model = {
        m: {mode: e[mode]["views_per_s"] for mode in ("eager", "compiled") if mode in e}
        for m, e in calibration["models"].items()
    }
    speedup = {r["processes"]: r["speedup"] for r in calibration["side_by_side"]["rows"]}
    return per_model, speedup, f"calibration of {calibration.get('created', '?')} on {calibration.get('device', '?')}"


def step_seconds(step: Step, per_model: dict, share: float = 1.0) -> float:
    """Device seconds of a step that gets `share` of the device's throughput, at its mode's rate."""
    if not step.model:
        return float(step.fixed_s)
    rate = per_model[step.model]
    return step.fixed_s + step.views / (rate.get(step.mode) or max(rate.values())) / share


def schedule(steps, per_model: dict, speedup: dict) -> list[tuple[list[Step], int, float]]:
    """Waves in order: (steps, processes side by side, seconds). A wave runs side by side with the number of
    processes whose measured aggregate speed-up beats running them one after the other."""
    waves = []
    for w in sorted({s.wave for s in steps}):
        members = [s for s in steps if s.wave == w]
        serial = sum(step_seconds(s, per_model) for s in members)
        best = (1, serial)
        for k, gain in speedup.items():
            if 1 < k <= len(members) and gain > 1.05 and not any(s.alone for s in members):  # where it pays
                # k at a time, each with gain/k of the device; the wave ends with its slowest batch of k
                batches = [members[i : i + k] for i in range(0, len(members), k)]
                t = sum(max(step_seconds(s, per_model, gain / k) for s in b) for b in batches)
                best = min(best, (k, t), key=lambda kt: kt[1])
        waves.append((members, *best))
    return waves


def noise_line(step: Step) -> str:
    from sslcourse.experiments.noise import size_study

    effect, accuracy = step.study
    return "noise: " + str(size_study(effect, accuracy))


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
                rc = subprocess.run(
                    args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=max(1.0, left)
                ).returncode
            except subprocess.TimeoutExpired:
                return {"status": "timeout", "seconds": round(time.monotonic() - t0, 1), "at": shlex.join(args)}
            if rc != 0:
                return {
                    "status": "failed",
                    "seconds": round(time.monotonic() - t0, 1),
                    "at": shlex.join(args),
                    "returncode": rc,
                }
    return {"status": "ok", "seconds": round(time.monotonic() - t0, 1)}


def _tail(path: Path, lines: int = 4) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else ""


def _launch(step: Step, smoke: bool, results: Path, cwd: Path, deadline: float, env: dict, state: dict) -> None:
    step_dir = results / step.name
    commands = _commands(step, smoke, step_dir)
    outcome = _run_step(step, commands, step_dir, cwd, deadline, env)
    outcome["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    outcome["commands"] = [shlex.join(c) for c in commands]  # provenance: exactly what ran (the call's own in
    # plan.json's "provenance": device, commit, torch)
    state["steps"][step.name] = outcome
    print(f"[{step.name}] {outcome['status']} in {outcome['seconds']} s\n{_tail(step_dir / 'log.txt')}", flush=True)


def run_plan(results: Path, budget_s: float, only: list[str] | None, smoke: bool, force: bool, cwd: Path) -> dict:
    """Run the steps wave by wave; a wave's steps side by side when the calibration says it pays. Each step's
    estimate comes from the latest calibration, which the first step of a session writes."""
    results.mkdir(parents=True, exist_ok=True)
    state = _load_state(results)
    state["provenance"] = _provenance(smoke)
    env = {
        **os.environ,
        "PYTHONPATH": f"{cwd}{os.pathsep}{os.environ.get('PYTHONPATH', '')}".rstrip(os.pathsep),
        "PYTHONUNBUFFERED": "1",
        "SSLCOURSE_OFFLINE": "1",
    }
    deadline = time.monotonic() + budget_s
    for wave in sorted({s.wave for s in STEPS}):
        per_model, speedup, source = rates(None if smoke else load_calibration(results))
        todo = []
        for step in (s for s in STEPS if s.wave == wave and (not only or s.name in only)):
            record = state["steps"].get(step.name, {})
            missing = [n for n in step.needs if state["steps"].get(n, {}).get("status") != "ok"]
            estimate = step_seconds(step, per_model)
            left = deadline - time.monotonic()
            if record.get("status") == "ok" and not force:
                print(f"[{step.name}] done before ({record.get('seconds')} s): skipped")
            elif missing:
                print(f"[{step.name}] needs {', '.join(missing)} first: skipped")
            elif left < (60 if step.resumable else estimate):
                print(f"[{step.name}] needs ~{estimate:.0f} s, {left:.0f} s left: skipped")
            else:
                todo.append(step)
        if not todo:
            continue
        ((_, k, seconds),) = schedule(todo, per_model, speedup)
        print(
            f"wave {wave}: {', '.join(s.name for s in todo)}; {k} side by side, ~{seconds:.0f} s ({source})", flush=True
        )
        for i in range(0, len(todo), k):
            threads = [
                threading.Thread(target=_launch, args=(s, smoke, results, cwd, deadline, env, state))
                for s in todo[i : i + k]
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            _save_state(results, state)
    return state


def _provenance(smoke: bool) -> dict:
    """Where and by what code this call ran: every step's results travel with it in plan.json."""
    import torch

    from sslcourse.device import describe, pick_device
    from sslcourse.pretrained import code_version

    device = torch.device("cpu") if smoke else pick_device("auto", verbose=False)
    return {
        "device": describe(device),
        "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "code_version": code_version(),
        "torch": torch.__version__,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


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
        parts[-1].write_bytes(data[i : i + part_bytes])
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
    print(
        "\nthen re-execute the notebooks that show these numbers: python -m sslcourse notebooks sync && "
        "python -m sslcourse assign"
    )
    return 0


def list_plan(results: Path | None = None) -> None:
    per_model, speedup, source = rates(load_calibration(results))
    total = 0.0
    for members, k, seconds in schedule(STEPS, per_model, speedup):
        total += seconds
        print(f"-- wave {members[0].wave}: {len(members)} step(s), {k} side by side, ~{seconds:.0f} s")
        for step in members:
            print(
                f"{step.name} (issue #{step.issue}, ~{step_seconds(step, per_model):.0f} s alone"
                f"{', resumable' if step.resumable else ''}{', after ' + ', '.join(step.needs) if step.needs else ''}"
                f"): {step.purpose}"
            )
            if step.study:
                print(f"    {noise_line(step)}")
            for command in step.gpu:
                print("    " + command.format(step=RESULTS / step.name))
    print(
        f"sized from {source}: "
        + "; ".join(
            f"{m} " + ", ".join(f"{mode} {v:,.0f}" for mode, v in r.items()) + " views/s" for m, r in per_model.items()
        )
        + "; side by side "
        + ", ".join(f"{k}: {g}x" for k, g in sorted(speedup.items()))
    )
    print(f"about {total / 60:.0f} minutes in all")


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


def unnamed_code() -> bool:
    """True when results written now could not name a commit: no .git here and no $SSLCOURSE_CODE_VERSION."""
    from sslcourse.provenance import commit

    return commit()[1] is None and not os.environ.get("SSLCOURSE_CODE_VERSION")


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
    p.add_argument(
        "--code-version",
        help="the commit this copy holds, on a machine whose copy has no .git (a GPU machine): write it here, "
        "from `git rev-parse --short HEAD` of the committed tree you send, so every result names its code",
    )
    args = p.parse_args(argv)
    if args.code_version:  # read by sslcourse.provenance in this process and every step's process
        os.environ["SSLCOURSE_CODE_VERSION"] = args.code_version

    only = args.only.split(",") if args.only else None
    unknown = [n for n in only or () if n not in BY_NAME]
    if unknown:
        print(f"error: unknown step(s) {unknown}; the steps: {', '.join(BY_NAME)}", file=sys.stderr)
        return 2
    if args.list:
        list_plan(args.results)
        return 0
    results = (args.results or ROOT / RESULTS).resolve()
    if args.land:
        return land(args.land, results)
    if not args.smoke and unnamed_code():
        print(
            "error: this copy has no .git, so its results could not name the code that made them; pass "
            "--code-version COMMIT (here: `git rev-parse --short HEAD` of the committed tree you send)",
            file=sys.stderr,
        )
        return 2
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

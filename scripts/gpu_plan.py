#!/usr/bin/env python3
"""The GPU runs the course still needs, ordered by what only a GPU can show, in the calls of a GPU session.

A lent GPU machine gives a session about 15 minutes of device time (its start, a few minutes, included),
commands of at most 10 minutes, no network, and at most 8 files of 16 MiB back. One session is three calls of
this script on the same warm machine (CALLS in gpu_plan_steps.py):

    call 0   the calibration (under a minute): views/s of each model on the card lent, recorded with its name
    call 1   the MAE flagship at 75%, MAE against scratch and the masking-ratio sweep; SimCLR's one-branch
             grid at the smallest epochs whose crop+colour vs crop-alone difference is resolved (a pilot
             measures it: the diagonal and crop's row and column first, then the rest, resumable); the
             colour-strength sweep
    call 2   the SimCLR and supervised flagships (with airbench's calibration), the temperature and head studies
    call 3   a later session (after its own call 0): context and colorization, whose CPU runs already show
             their lessons, and the measurements (MAE's encoder cost, the throughput benchmark)

Every study whose expected effect is about five points or less runs at least 3 seeds, and the sizing counts
them. Each call runs its steps in order, skips one whose estimate no longer fits (a later, shorter one may
still fit), remembers what finished (RESULTS/plan.json), and packs what it ran into at most 8 files for the
trip back. The estimates come from the last calibration, which names its card (before one, from the H200's).

Here, before a session (commit first: the copy there has no .git, so each call names the commit sent):
    python -m sslcourse data pack data/cifar10.pack     # 18 MB, git-ignored: name it in each call's carry
    python scripts/gpu_plan.py --list                    # each call's steps, seeds, noise, estimates, commands
    python scripts/gpu_plan.py --smoke                   # every step, tiny, on the CPU, in a scratch copy

On the GPU machine ($OUT is the folder whose files come back; carry data/cifar10.pack and .whl, the airbench
wheel made here by `pip wheel --no-deps airbench==0.1.8 -w .whl`), one command per call N = 0, 1, 2:
    python3 scripts/gpu_plan.py --call N --bundle "$OUT" --code-version COMMIT   # python3: the one with torch there

Back here, with each call's returned files in its own folder:
    python scripts/gpu_plan.py --land F0 F1 F2          # unpacks into runs/gpu_plan/, prints what to land

A later session goes on where this one stopped: carry the returned folders (under .carry/, git-ignored) and
add `--from .carry/F0,.carry/F1,.carry/F2` to its calls. `--list` prints all of this with the exact numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # gpu_plan_steps, also when loaded by path (tests)
from gpu_plan_steps import (  # noqa: E402,F401
    BY_NAME,
    CALL_OVERHEAD_S,
    CALLS,
    GPU_LOGS,
    PRIOR_CARD,
    PRIOR_VIEWS_PER_S,
    PY,
    RATIO,
    RESULTS,
    ROOT,
    SESSION_S,
    SMOKE,
    SMOKE_LADDER,
    SMOKE_SEEDS,
    START_S,
    STEPS,
    Step,
    seeds_for,
    smoke_args,
)

# What the GPU machine brings back from $OUT (the device tool's limits): at most 8 files, each at most 16 MiB, 64 MiB
# together, at most two folders deep, named in letters, digits, '.', '_' and '-'.
RETURN_FILES, RETURN_FILE_BYTES, RETURN_BYTES = 8, 16 << 20, 64 << 20
RETURN_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


# --------------------------------------------------------------------------- sizing: calibration, seeds, noise
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


def card(calibration: dict | None) -> str:
    """The card the estimates come from, in words."""
    if calibration is None:
        return PRIOR_CARD
    memory = f"{calibration['card_memory_gib']} GiB, " if calibration.get("card_memory_gib") else ""
    return f"{calibration.get('device', '?')} ({memory}calibrated {calibration.get('created', '?')})"


def rates(calibration: dict | None) -> tuple[dict, dict, str]:
    """Views/s per model and mode (eager, compiled), the side-by-side speed-up per number of processes, and the
    card they were measured on. Before a calibration: the prior (eager) rates for both modes, no gain assumed
    from running side by side; a calibration without compiled rates sizes compiled steps at the eager ones."""
    if calibration is None:
        return {m: {"eager": v, "compiled": v} for m, v in PRIOR_VIEWS_PER_S.items()}, {1: 1.0}, card(None)
    per_model = {
        m: {mode: e[mode]["views_per_s"] for mode in ("eager", "compiled") if mode in e}
        for m, e in calibration["models"].items()
    }
    speedup = {r["processes"]: r["speedup"] for r in calibration["side_by_side"]["rows"]}
    return per_model, speedup, card(calibration)


def side_by_side(step: Step, seeds: int, speedup: dict) -> tuple[int, float]:
    """(processes, aggregate speed-up) for a step's per-seed runs: as many side by side as the calibration
    measured a gain for (over 5%), never more than its seeds; one at a time for a measurement."""
    best = (1, 1.0)
    if step.alone or not step.model:
        return best
    for k, gain in speedup.items():
        if 1 < k <= seeds and gain > 1.05 and gain > best[1]:
            best = (k, gain)
    return best


def step_seconds(step: Step, per_model: dict, speedup: dict | None = None, seeds: int | None = None) -> float:
    """Device seconds of a step with all its seeds (its pilot's first rung included), at its mode's rate."""
    if not step.model:
        return float(step.fixed_s)
    seeds = step.seeds if seeds is None else seeds
    rate = per_model[step.model].get(step.mode) or max(per_model[step.model].values())
    _, gain = side_by_side(step, seeds, speedup or {1: 1.0})
    epochs = step.ladder[0] if step.ladder else 1
    per_seed = step.views * epochs / rate + step.seed_s
    if step.pilot:
        per_seed += step.pilot.views * epochs / rate + step.pilot.seed_s
    return step.fixed_s + seeds * per_seed / gain


def noise_line(step: Step) -> str:
    from sslcourse.experiments.noise import size_study

    effect, accuracy = step.study
    budget = size_study(effect, accuracy)
    why = "" if step.seeds == budget.seeds else f"; {step.seeds} seeds: an effect of 5 points or less is seeded"
    return f"noise: {budget}{why}"


# --------------------------------------------------------------------------- commands
def _format(template: str, step_dir: Path, seeds: list[int], seed: int | None, epochs: float | None) -> str:
    return template.format(
        step=step_dir,
        seeds=",".join(map(str, seeds)),
        seed=seed,
        epochs="?" if epochs is None else f"{epochs:g}",
    )


def expand(templates, step_dir: Path, seeds: list[int], epochs: float | None = None) -> list[list[str]]:
    """Groups of commands: a template with {seed} gives one command per seed (a group that may run side by side),
    any other one command."""
    return [
        [_format(t, step_dir, seeds, s, epochs) for s in seeds]
        if "{seed}" in t
        else [_format(t, step_dir, seeds, None, epochs)]
        for t in templates
    ]


def _argv(command: str, smoke: bool) -> list[str]:
    args = shlex.split(command)
    args = smoke_args(args) if smoke else args
    return [sys.executable if args[0] == PY else args[0], *args[1:]]


# --------------------------------------------------------------------------- running a call
def _load_state(results: Path) -> dict:
    path = results / "plan.json"
    return json.loads(path.read_text()) if path.is_file() else {"steps": {}, "calls": []}


def _save_state(results: Path, state: dict) -> None:
    tmp = results / "plan.json.tmp"
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, results / "plan.json")


def _run_group(group: list[list[str]], k: int, log: Path, cwd: Path, env: dict, deadline: float) -> dict | None:
    """Run a group's commands, k at a time, each into its own log appended to `log` once it ends; None when all
    succeeded, else what stopped them (a failure, or the deadline)."""
    for i in range(0, len(group), k):
        batch, procs = group[i : i + k], []
        for args in batch:
            out = tempfile.TemporaryFile("w+")
            procs.append((args, out, subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)))
        stopped = None
        for args, out, proc in procs:
            try:
                rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                rc, stopped = None, stopped or {"status": "timeout", "at": shlex.join(args)}
            out.seek(0)
            with open(log, "a") as f:
                f.write(f"\n$ {shlex.join(args)}\n{out.read()}")
            out.close()
            if rc:
                stopped = stopped or {"status": "failed", "at": shlex.join(args), "returncode": rc}
        if stopped:
            return stopped
    return None


def _cells(path: Path, a: tuple[str, str], b: tuple[str, str]) -> tuple[float, float] | None:
    if not path.is_file():
        return None
    found = {(c["first"], c["second"]): c["linear_top1"] for c in json.loads(path.read_text())["cells"]}
    return (found[a], found[b]) if a in found and b in found else None


def resolved(step: Step, step_dir: Path, seeds: list[int], epochs: float) -> dict:
    """The pilot's verdict at one rung: the difference between its two cells over the seeds, the standard error of
    that difference (the spread over seeds, which holds the test set's noise too; from two seeds up), and whether
    the difference is at least RATIO times it."""
    from sslcourse.experiments.noise import binomial_se

    pairs = [
        _cells(Path(_format(step.pilot.file, step_dir, seeds, s, epochs)), step.pilot.a, step.pilot.b) for s in seeds
    ]
    pairs = [p for p in pairs if p]
    row = {"epochs": epochs, "seeds": len(pairs)}
    if not pairs:
        return {**row, "resolved": False}
    diffs = [x - y for x, y in pairs]
    mean = statistics.fmean(diffs)
    if len(diffs) > 1:
        se = statistics.stdev(diffs) / math.sqrt(len(diffs))
    else:  # one seed: the two accuracies' binomial errors only (what a single run can say)
        se = math.hypot(binomial_se(pairs[0][0]), binomial_se(pairs[0][1]))
    return {**row, "difference": round(mean, 2), "se": round(se, 2), "resolved": abs(mean) >= RATIO * se > 0}


def _run_step(step, state, results, cwd, env, deadline, smoke, speedup) -> dict:
    step_dir = results / step.folder
    step_dir.mkdir(parents=True, exist_ok=True)
    log = step_dir / "log.txt"
    seeds = list(range(SMOKE_SEEDS if smoke else step.seeds))
    k, _ = side_by_side(step, len(seeds), speedup)
    record = state["steps"].get(step.name, {})
    t0 = time.monotonic()
    epochs = None
    if step.pilot:
        epochs = record.get("epochs")
        ladder = step.ladder[:SMOKE_LADDER] if smoke else step.ladder
        rungs = record.get("pilot", [])
        for rung in [] if epochs is not None else ladder:
            for group in expand(step.pilot.commands, step_dir, seeds, rung):
                stopped = _run_group([_argv(c, smoke) for c in group], k, log, cwd, env, deadline)
                if stopped:
                    return {**stopped, "pilot": rungs, "seconds": round(time.monotonic() - t0, 1)}
            rungs.append(resolved(step, step_dir, seeds, rung))
            if rungs[-1]["resolved"] or rung == ladder[-1]:
                epochs = rung
                break
        record = {"pilot": rungs, "epochs": epochs}
    elif step.ladder:
        epochs = state["steps"].get(step.needs[0], {}).get("epochs")
        record = {"epochs": epochs}
    else:
        record = {}
    for group in expand(step.gpu, step_dir, seeds, epochs):
        stopped = _run_group([_argv(c, smoke) for c in group], k, log, cwd, env, deadline)
        if stopped:
            return {**record, **stopped, "seconds": round(time.monotonic() - t0, 1)}
    return {**record, "status": "ok", "seconds": round(time.monotonic() - t0, 1)}


def _tail(path: Path, lines: int = 4) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else ""


def run_call(
    results: Path, budget_s: float, call: int | None, only, smoke: bool, force: bool, cwd: Path
) -> tuple[dict, list[str]]:
    """Run the steps of `call` (or `only` those named) in order; returns the state and the steps run now. Each
    step's estimate comes from the latest calibration, which call 0 writes."""
    results.mkdir(parents=True, exist_ok=True)
    state = _load_state(results)
    provenance = _provenance(smoke)
    state["provenance"] = provenance
    state.setdefault("calls", []).append({"call": call, **provenance})
    env = {
        **os.environ,
        "PYTHONPATH": f"{cwd}{os.pathsep}{os.environ.get('PYTHONPATH', '')}".rstrip(os.pathsep),
        "PYTHONUNBUFFERED": "1",
        "SSLCOURSE_OFFLINE": "1",
    }
    deadline = time.monotonic() + budget_s
    ran = []
    for step in STEPS:
        if (only and step.name not in only) or (not only and step.call != call):
            continue
        per_model, speedup, source = rates(None if smoke else load_calibration(results))
        record = state["steps"].get(step.name, {})
        missing = [n for n in step.needs if state["steps"].get(n, {}).get("status") != "ok"]
        estimate = step_seconds(step, per_model, speedup, SMOKE_SEEDS if smoke else None)
        left = deadline - time.monotonic()
        if record.get("status") == "ok" and not force and not step.every_session:
            print(f"[{step.name}] done before ({record.get('seconds')} s): skipped")
            continue
        if missing:
            print(f"[{step.name}] needs {', '.join(missing)} first: skipped")
            continue
        if left < (60 if step.resumable else estimate):
            print(f"[{step.name}] needs ~{estimate:.0f} s ({source}), {left:.0f} s left: skipped")
            continue
        print(f"[{step.name}] ~{estimate:.0f} s ({source})", flush=True)
        outcome = _run_step(step, state, results, cwd, env, deadline, smoke, speedup)
        outcome["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        outcome["device"] = provenance["device"]  # the card that ran it
        state["steps"][step.name] = outcome
        ran.append(step.name)
        _save_state(results, state)
        print(
            f"[{step.name}] {outcome['status']} in {outcome['seconds']} s\n{_tail(results / step.folder / 'log.txt')}"
        )
    _save_state(results, state)
    return state, ran


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


# --------------------------------------------------------------------------- the trip back and landing
def bundle(results: Path, out: Path, name: str, steps: list[str]) -> list[Path]:
    """The folders of `steps` (checkpoints left out: optimizer state, not results) as one tar cut into parts
    that fit the trip back, plus plan.json: at most RETURN_FILES files directly in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tar_path = Path(tmp) / "bundle.tar"
        with tarfile.open(tar_path, "w") as tar:
            for step in steps:
                if (results / step).is_dir():
                    tar.add(
                        results / step,
                        arcname=f"gpu_plan/{step}",
                        filter=lambda ti: None if ti.name.endswith("checkpoint.pt") else ti,
                    )
        size = tar_path.stat().st_size
        n_parts = max(1, math.ceil(size / RETURN_FILE_BYTES))
        if n_parts + 1 > RETURN_FILES or size + (1 << 20) > RETURN_BYTES:
            raise RuntimeError(
                f"{size / 2**20:.1f} MiB of results in {n_parts} parts do not fit the trip back "
                f"({RETURN_FILES} files of 16 MiB, 64 MiB in all); bundle fewer steps per call"
            )
        parts = []
        with open(tar_path, "rb") as f:
            for i in range(n_parts):
                parts.append(out / f"{name}.tar.{i:02d}")
                parts[-1].write_bytes(f.read(RETURN_FILE_BYTES))
    shutil.copyfile(results / "plan.json", out / "plan.json")
    return parts


def check_returned(folder: Path) -> list[str]:
    """What in `folder` would not come back from the GPU machine (empty when all of it would)."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    problems = [f"{len(files)} files (at most {RETURN_FILES})"] if len(files) > RETURN_FILES else []
    if sum(p.stat().st_size for p in files) > RETURN_BYTES:
        problems.append("over 64 MiB in all")
    for p in files:
        rel = p.relative_to(folder)
        if p.stat().st_size > RETURN_FILE_BYTES:
            problems.append(f"{rel}: over 16 MiB")
        if len(rel.parts) > 3 or not all(RETURN_NAME.match(part) for part in rel.parts):
            problems.append(f"{rel}: too deep or a name with other characters")
    return problems


def unpack(folders: list[Path], results: Path) -> dict:
    """Each folder's parts, in the order given, into results (a later call's step folder replaces an earlier
    one's: it holds everything the step has done); the state is the last folder's plan.json, which holds every
    call of its session, merged with the earlier ones' for steps it does not hold."""
    state = {"steps": {}, "calls": []}
    for folder in folders:
        parts = sorted(folder.glob("*.tar.[0-9][0-9]"))
        if not parts or not (folder / "plan.json").is_file():
            raise FileNotFoundError(f"no NAME.tar.NN parts and plan.json in {folder}")
        with tempfile.TemporaryDirectory() as tmp:
            whole = Path(tmp) / "whole.tar"
            with open(whole, "wb") as f:
                for p in parts:
                    f.write(p.read_bytes())
            with tarfile.open(whole) as tar:
                tar.extractall(tmp, filter="data")
            for step_dir in sorted((Path(tmp) / "gpu_plan").iterdir()) if (Path(tmp) / "gpu_plan").is_dir() else ():
                if (results / step_dir.name).exists():
                    shutil.rmtree(results / step_dir.name)
                shutil.move(str(step_dir), results / step_dir.name)
        returned = json.loads((folder / "plan.json").read_text())
        state["steps"].update(returned["steps"])
        state["calls"] += [c for c in returned.get("calls", []) if c not in state["calls"]]
        state["provenance"] = returned.get("provenance")
    return state


def land(folders: list[Path], results: Path) -> int:
    """Reassemble the returned parts into results/ and print, for each step, what to run to land it, then the
    notebooks' re-execution (printed, not run: it rewrites the notebooks)."""
    if results.exists() and any(results.iterdir()):
        print(f"error: {results} is not empty; move it away first (nothing is overwritten)", file=sys.stderr)
        return 2
    results.mkdir(parents=True, exist_ok=True)
    try:
        state = unpack(folders, results)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    _save_state(results, state)
    print(f"unpacked into {results}")
    for step in STEPS:
        record = state["steps"].get(step.name)
        if not record:
            continue
        print(f"\n[{step.name}] {record['status']} in {record['seconds']} s on {record.get('device', '?')}")
        if record["status"] == "ok" or step.resumable:
            for command in step.land:
                print("  " + command.format(step=results / step.folder, epochs=record.get("epochs", "?")))
    print(
        "\nthen re-execute the notebooks that show these numbers, and their student versions: "
        "python -m sslcourse notebooks sync && python -m sslcourse assign"
    )
    return 0


# --------------------------------------------------------------------------- --list
def _shown(template: str, step: Step) -> str:
    """A command as --list shows it: its folder and seeds filled in, {seed} and {epochs} left to say they vary."""
    seeds = ",".join(map(str, range(step.seeds)))
    return template.format(step=RESULTS / step.folder, seeds=seeds, seed="{seed}", epochs="{epochs}")


def fitting(steps, budget_s: float, per_model: dict, speedup: dict) -> dict[str, str]:
    """What a first call of `budget_s` runs of `steps`, in order, as run_call decides: each step "whole", "part"
    (a resumable one started with at least a minute left) or "waits"."""
    left, out = budget_s, {}
    for step in steps:
        need = step_seconds(step, per_model, speedup)
        ready = not set(step.needs) - {n for n, how in out.items() if how == "whole"}
        if need <= left and ready:
            out[step.name], left = "whole", left - need
        elif step.resumable and left >= 60 and ready:
            out[step.name], left = "part", 0
        else:
            out[step.name] = "waits"
    return out


def list_plan(results: Path | None = None) -> float:
    """Each call's steps (seeds, noise budget, estimate and the card it comes from, exact commands), each call's
    total against its budget, the session, and the total; returns the total in seconds."""
    calibration = load_calibration(results)
    per_model, speedup, source = rates(calibration)
    print(f"estimates from {source}")
    total = 0.0
    for c in CALLS:
        steps = [s for s in STEPS if s.call == c.number]
        seconds = sum(step_seconds(s, per_model, speedup) for s in steps)
        total += seconds
        fits = fitting(steps, c.budget_s, per_model, speedup)
        waits = [n for n, how in fits.items() if how == "waits"]
        print(
            f"\n== call {c.number} (--budget-s {c.budget_s}, device timeout_s {c.timeout_s}): {c.what}\n"
            f"   ~{seconds / 60:.1f} minutes of steps; at these rates a first call runs "
            + (", ".join(f"{n} ({how})" for n, how in fits.items() if how != "waits") or "none of them")
            + (f"; waiting for a later call: {', '.join(waits)}" if waits else "")
        )
        for step in steps:
            k, gain = side_by_side(step, step.seeds, speedup)
            flags = [f"{step.seeds} seed{'s' * (step.seeds > 1)}" + (f", {k} side by side ({gain}x)" if k > 1 else "")]
            flags += ["resumable"] * step.resumable + ["every session"] * step.every_session
            flags += [f"after {', '.join(step.needs)}"] * bool(step.needs)
            if not step.resumable and step_seconds(step, per_model, speedup) > c.budget_s:
                flags.append(f"longer than this call: a later session's call with --budget-s {CALLS[-1].budget_s}")
            flags += [f"epochs per run: the first of {', '.join(map(str, step.ladder))} that resolves it"] * bool(
                step.pilot
            )
            print(
                f"{step.name} (issue #{step.issue}, ~{step_seconds(step, per_model, speedup):.0f} s, "
                f"{'; '.join(flags)}): {step.purpose}"
            )
            if step.study:
                print(f"    {noise_line(step)}")
            if step.pilot:
                a, b = (" + ".join(p) for p in (step.pilot.a, step.pilot.b))
                print(f"    pilot, at each rung until {a} vs {b} is {RATIO:g}x its standard error:")
                for command in step.pilot.commands:
                    print("      " + _shown(command, step))
            for command in step.gpu:
                print("    " + _shown(command, step))
    session = START_S + sum(c.budget_s + CALL_OVERHEAD_S for c in CALLS[:3])
    print(
        f"\nsession: machine start ~{START_S} s + calls 0, 1, 2 at their budgets + ~{CALL_OVERHEAD_S} s each "
        f"to send and bring back = {session / 60:.1f} of {SESSION_S / 60:.0f} minutes of device time"
    )
    print(
        f"rates ({source}): "
        + "; ".join(
            f"{m} " + ", ".join(f"{mode} {v:,.0f}" for mode, v in r.items()) + " views/s" for m, r in per_model.items()
        )
        + "; side by side "
        + ", ".join(f"{k}: {g}x" for k, g in sorted(speedup.items()))
    )
    print(f"about {total / 60:.0f} minutes in all")
    return total


# --------------------------------------------------------------------------- command line
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
    p.add_argument("--list", action="store_true", help="print each call's steps and exact GPU commands, run nothing")
    p.add_argument("--call", type=int, choices=[c.number for c in CALLS], help="run this call's steps")
    p.add_argument("--smoke", action="store_true", help="every step tiny on the CPU, in a scratch copy")
    p.add_argument("--budget-s", type=float, help="seconds this call may use (default: the call's budget)")
    p.add_argument("--results", type=Path, help="where results and plan.json go (default runs/gpu_plan)")
    p.add_argument("--only", help="comma-separated step names (instead of a call's)")
    p.add_argument("--force", action="store_true", help="run again steps that finished before")
    p.add_argument("--bundle", type=Path, help="also pack what this call ran into this folder for the trip back")
    p.add_argument("--land", type=Path, nargs="+", help="unpack the returned folders (in call order), say how to land")
    p.add_argument(
        "--from",
        dest="start_from",
        help="comma-separated returned folders of an earlier session, "
        "unpacked into an empty --results first: a later session goes on where that one stopped",
    )
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
    if args.call is None and not only and not args.smoke:
        print("error: say which call to run (--call 0, 1, 2 or 3; --list shows them) or --only STEPS", file=sys.stderr)
        return 2
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
    if args.start_from and not (results / "plan.json").is_file():
        results.mkdir(parents=True, exist_ok=True)
        _save_state(results, unpack([Path(f) for f in args.start_from.split(",")], results))
    calls = [args.call] if args.call is not None or only else [c.number for c in CALLS]  # --smoke alone: all
    state, ran = {"steps": {}}, []
    for call in calls:
        default = CALLS[call].budget_s if call is not None and not args.smoke else float("inf")
        budget = args.budget_s if args.budget_s is not None else default
        state, now = run_call(results, budget, call, only, args.smoke, args.force, cwd)
        ran += now
    if args.smoke and not results.is_relative_to(cwd):
        shutil.rmtree(cwd)  # the scratch copy, once its results live elsewhere
    if args.bundle:
        name = f"gpu_plan_call{args.call}" if args.call is not None else "gpu_plan"
        parts = bundle(results, args.bundle, name, sorted({BY_NAME[n].folder for n in ran}))
        print(f"bundled {len(ran)} step(s) in {len(parts)} part(s) and plan.json into {args.bundle}")
    failed = [n for n in ran if state["steps"][n]["status"] == "failed"]
    print(f"results in {results}; " + (f"failed: {', '.join(failed)}" if failed else "no step failed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

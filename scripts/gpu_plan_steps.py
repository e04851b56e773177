"""The GPU plan's steps (scripts/gpu_plan.py runs them): which call of a GPU session runs each, what it trains,
how much, with how many seeds, with which exact commands, and how each command shrinks to the CPU for the smoke
run and the rehearsal (SMOKE: derived, never written twice)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # sslcourse, for the noise budget
RESULTS = Path("runs") / "gpu_plan"  # under the repository's root
PY = "python"  # written in the commands; run with the interpreter running the plan


# --------------------------------------------------------------------------- the session and its calls
# A lent GPU machine: about 15 minutes of device time a session, counted from asking for the machine (its start
# takes a few minutes) to giving it back; commands of at most 10 minutes; a call on the warm machine skips the
# start. The session's calls must fit all of that together.
SESSION_S = 900
START_S = 180  # starting a machine: "a minute or more", a few minutes seen
CALL_OVERHEAD_S = 30  # per call: sending the tree (the 18 MB data pack), the interpreter's start, the bundle back


@dataclass(frozen=True)
class Call:
    number: int
    budget_s: int  # --budget-s: the steps stop here; bundling follows
    what: str

    @property
    def timeout_s(self) -> int:
        """The device call's timeout_s: the budget, the plan's own start and its bundle, and a margin."""
        return self.budget_s + 60


CALLS = (
    Call(0, 50, "calibration: views/s of each model on the card lent, recorded with its name (every session)"),
    Call(1, 420, "what only a GPU can show: MAE (flagship, against scratch, masking ratio), SimCLR's grid, colour"),
    Call(2, 160, "the flagships (SimCLR, supervised with airbench's calibration), temperature and head studies"),
    Call(3, 540, "a later session: what the CPU already shows (context, colorization) and the measurements"),
)
# Calls 0, 1 and 2 are one session: start, three calls and their transfers within SESSION_S.
assert START_S + sum(c.budget_s + CALL_OVERHEAD_S for c in CALLS[:3]) <= SESSION_S
assert all(c.timeout_s <= 600 for c in CALLS)  # a command runs at most 10 minutes


# --------------------------------------------------------------------------- seeds: the noise budget
SEEDED_UP_TO = 5.0  # points: a study whose expected effect is at most about this runs MIN_SEEDS seeds (issue 29),
MIN_SEEDS = 3  # so that its spread is measured; more where sslcourse.experiments.noise asks for more


def seeds_for(effect: float, accuracy: float) -> int:
    """The seeds a study runs: the noise budget's (sslcourse.experiments.noise), and at least MIN_SEEDS for an
    expected effect of SEEDED_UP_TO points or less. The sizing counts every one: fewer cells or epochs is the
    price of a small effect, never fewer seeds."""
    from sslcourse.experiments.noise import size_study

    return max(size_study(effect, accuracy).seeds, MIN_SEEDS if effect <= SEEDED_UP_TO else 1)


@dataclass(frozen=True)
class Pilot:
    """The smallest scale that resolves a study's key difference, measured: `commands` run at each rung of the
    step's `ladder` (epochs per run) in turn, with all the step's seeds, until the difference between cells
    `a` and `b` of the per-seed grids in `file` is at least RATIO times its noise; the step then runs at that
    rung (the last one if none resolves it, said so in plan.json)."""

    commands: tuple[str, ...]
    views: float  # per seed and epoch
    a: tuple[str, str]
    b: tuple[str, str]
    file: str  # the per-seed result the cells are read from ({step}, {epochs}, {seed})
    seed_s: int = 10  # per seed and rung besides training


RATIO = 3.0  # a difference counts as resolved at 3 standard errors (as sslcourse.experiments.noise sizes studies)


@dataclass(frozen=True)
class Step:
    name: str
    issue: int
    purpose: str
    gpu: tuple[str, ...]  # shell-free commands, run in order; {step}: this step's folder; a command with {seed}
    # runs once per seed; {seeds}: all of them, comma-separated; {epochs}: the rung its pilot chose. The CPU smoke
    # run derives its commands from these (`smoke_args`): they are never written twice.
    call: int  # which call of a session runs it (CALLS)
    model: str | None = None  # the calibrated model whose views/s sizes the training (None: fixed time only)
    views: float = 0.0  # training views of one seed (epochs x images x views per image x runs); with a ladder,
    # of one epoch per run
    fixed_s: int = 30  # seconds besides training, once: start, compilation, data, evaluation
    seed_s: int = 0  # seconds besides training, per seed: its process, data and probes
    study: tuple[float, float] | None = None  # (the difference in points it must resolve, the accuracy level)
    needs: tuple[str, ...] = ()
    alone: bool = False  # a measurement: never side by side with anything
    resumable: bool = False  # may start with less than its estimate left and go on in a later call
    every_session: bool = False  # runs again at each call of its number (the calibration: the card may differ)
    shares: str | None = None  # another step whose folder this one writes into (and bundles), e.g. the grid's rest
    ladder: tuple[float, ...] = ()  # epochs per run to choose from (with `pilot`, or those of the step `needs`)
    pilot: Pilot | None = None
    land: tuple[str, ...] = field(default=())  # what to run here once the results are back

    @property
    def mode(self) -> str:
        """Which of the calibration's rates applies: its commands compile the step or not."""
        return "compiled" if any("--compile" in c.split() for c in self.gpu) else "eager"

    @property
    def folder(self) -> str:
        """Its folder under the results: its own, or the one it shares."""
        return self.shares or self.name

    @property
    def seeds(self) -> int:
        return seeds_for(*self.study) if self.study else 1


PROTOCOL = "sslcourse/results/protocol"
GPU_LOGS = "sslcourse/results/logs/gpu"  # machine logs and benchmark outputs behind the README's numbers


# Views/s before any calibration: the shipped runs' on one NVIDIA H200 (eager, one training at a time, 2026-11-26,
# GPU_LOGS and the weights' cards); MAE's is an assumption (no GPU run of it yet). No H100 has measured them: the
# first call of every session measures them on the card lent (an H100 by default, about 78 GiB, slower memory).
PRIOR_CARD = "NVIDIA H200 (the shipped runs of 2026-11-26; MAE's rate assumed)"
PRIOR_VIEWS_PER_S = {"simclr": 75_000, "supervised": 62_600, "mae": 40_000}
N = 50_000  # training images
GRID = 49  # SimCLR's Figure 5: 7 x 7 ordered cells
LEAD = 19  # its diagonal and crop's row and column


def _shipped(name: str, *more: str, run: str = "run", floor: bool = True) -> tuple[str, ...]:
    """Landing a trained model: its weights and card into the registry, its protocol row beside the others, and
    (`floor`) its matched floor's row: an untrained network of the same architecture, width and input."""
    return (
        f"{PY} -m sslcourse ship {{step}}/{run} {name} --force",
        f"cp {{step}}/{name}.json {PROTOCOL}/{name}.json",
        *((f"cp {{step}}/random_{name}.json {PROTOCOL}/random_{name}.json",) if floor else ()),
        *more,
    )


def _result(topic: str, file: str) -> str:
    """Landing a study's result: its JSON from the step's folder to sslcourse/results/TOPIC/, where the notebook
    and the findings read it."""
    return f"cp {{step}}/{file} sslcourse/results/{topic}/{file}"


def _seeded(topic: str, stem: str, under: str = "") -> str:
    """Landing a study run once per seed: its per-seed files beside the course's (seed 0's is the one the notebook
    reads today; their mean and spread come from the statistics module of issue 27)."""
    return (
        f"cp {{step}}/{under}{stem}_seed*.json sslcourse/results/{topic}/ (then {stem}.json from their mean and spread)"
    )


def _protocol(name: str, floor: bool = True) -> tuple[str, ...]:
    """The protocol rows of a shipped model: its own, and (`floor`) its matched floor's, `random:NAME`, whose
    architecture, width and input follow the new card (a GPU flagship's width may differ from its CPU
    stand-in's, so the floor is measured again with it)."""
    return (
        f"{PY} -m sslcourse eval {name} --device cuda --few-label 1,10,100 --out {{step}}/{name}.json",
        *(
            (
                f"{PY} -m sslcourse eval random:{name} --device cuda --few-label 1,10,100 --out {{step}}/random_{name}.json",
            )
            if floor
            else ()
        ),
    )


def _flagship(name: str, floor: bool = True) -> tuple[str, ...]:
    return (f"{PY} -m sslcourse ship {{step}}/run {name} --force", *_protocol(name, floor))


# Studies of many short runs stay eager: each run is a new model, which torch.compile would compile again.
SIMCLR_STUDY = f"{PY} -m sslcourse.experiments.simclr {{}} --device cuda --scale gpu"
MAE = f"{PY} -m sslcourse.experiments.mae {{}} --device cuda --quiet"
GRID_FILE = "{step}/e{epochs}/augmentation_grid_seed{seed}.json"
COLOR_RUNS = "{step}/l2,{step}/classification,{step}/rebalanced"
STEPS: tuple[Step, ...] = (
    # ---- call 0: the card lent, measured (under a minute: eager rates; compiled steps are sized at them too)
    Step(
        "calibration",
        16,
        "views/s per model (eager) and 1 or 2 trainings side by side, on the card lent, recorded with its name",
        (
            f"{PY} benchmarks/calibrate.py --device cuda --seconds 2 --modes eager --concurrency 1,2 "
            "--out {step}/calibration.json --force",
        ),
        call=0,
        alone=True,
        every_session=True,
        fixed_s=50,  # 3 models x (warm-up + 2 s), then 3 worker processes (1, then 2 side by side) of ~10 s
        land=(f"cp {{step}}/calibration.json {GPU_LOGS}/calibration.json",),
    ),
    # ---- call 1: the two studies the course is named for, whose CPU runs show nothing
    Step(
        "mae_pretrain",
        10,
        "MAE flagship: 75% masking on ViT-Tiny, 30 epochs, compiled; protocol rows",
        (
            f"{PY} -m sslcourse.experiments.mae pretrain --device cuda --compile --quiet --pretrain-epochs 30 "
            "--out {step}/run",
            *_flagship("mae_vit"),
        ),
        call=1,
        model="mae",
        views=30 * N,
        fixed_s=60,  # compiling once, two protocol evaluations
        land=_shipped("mae_vit"),
    ),
    Step(
        "mae_finetune",
        10,
        "MAE against scratch: the flagship fine-tuned vs the same ViT from scratch, 8 epochs each",
        (
            MAE.format("finetune")
            + " --init {step}/../mae_pretrain/run --finetune-epochs 8 --seed {seed} --out {step}/finetune_seed{seed}.json",
        ),
        call=1,
        needs=("mae_pretrain",),
        model="mae",
        views=2 * 8 * N,
        seed_s=10,
        study=(3, 80),  # CPU: +0.1 +- 2.1; the paper's ViT-B gains 1-2 points on ImageNet, more on less data
        # --init the flagship's run folder, not its shipped name: each call gets a fresh copy of the tracked files,
        # and a later session's copy holds the CPU stand-in under that name
        land=(_seeded("mae", "finetune"),),
    ),
    Step(
        "mae_sweep",
        10,
        "MAE masking-ratio sweep: 25%, 75% (the paper's best) and 90%, 4 epochs of pre-training + 1 of fine-tuning each",
        (
            MAE.format("sweep") + " --ratios 0.25,0.75,0.9 --pretrain-epochs 4 --finetune-epochs 1 "
            "--seed {seed} --out {step}/sweep_seed{seed}.json",
        ),
        call=1,
        model="mae",
        views=3 * 5 * N,
        seed_s=15,
        study=(3, 60),  # the paper's Figure 5: a few points between 50% and 75% (linear and fine-tuned)
        land=(_seeded("mae", "sweep"),),
    ),
    Step(
        "simclr_grid",
        9,
        "SimCLR Figure 5 (one branch transformed): the smallest epochs at which crop+colour vs crop alone is "
        "resolved, then the diagonal and crop's row and column (19 cells)",
        (SIMCLR_STUDY.format("grid") + " --lead-only --epochs {epochs} --seed {seed} --resume --out " + GRID_FILE,),
        call=1,
        model="simclr",
        views=(LEAD - 4) * 2 * N,  # the pilot's 4 cells are counted in the pilot
        seed_s=(LEAD - 4) * 4 + 10,  # a probe per cell (features of 60,000 images, a linear probe, kNN)
        study=(5, 50),
        ladder=(1, 3),
        resumable=True,  # its cells and its pilot's choice are kept: the next call goes on
        pilot=Pilot(
            (
                SIMCLR_STUDY.format("grid")
                + " --augs crop,color --epochs {epochs} --seed {seed} --resume --out "
                + GRID_FILE,
            ),
            views=4 * 2 * N,
            a=("crop", "color"),
            b=("crop", "crop"),
            file=GRID_FILE,
            seed_s=4 * 4 + 10,
        ),
        land=(_seeded("simclr", "augmentation_grid", "e{epochs}/") + ' (once every seed is "complete")',),
    ),
    Step(
        "simclr_colour",
        9,
        "SimCLR colour strength (Table 1): 3 strengths, 3 epochs each",
        (
            SIMCLR_STUDY.format("colour") + " --epochs 3 --strengths 0.25,0.5,1 --seeds {seeds} "
            "--out {step}/colour_strength.json",
        ),
        call=1,
        model="simclr",
        views=3 * 3 * 2 * N,
        fixed_s=15,
        seed_s=3 * 4,
        study=(2, 65),
        land=(_result("simclr", "colour_strength.json"),),
    ),
    Step(
        "simclr_grid_rest",
        9,
        "SimCLR Figure 5: the other 30 cells, at the epochs the grid's pilot chose (resumable)",
        (SIMCLR_STUDY.format("grid") + " --epochs {epochs} --seed {seed} --resume --out " + GRID_FILE,),
        call=1,
        needs=("simclr_grid",),
        model="simclr",
        views=(GRID - LEAD) * 2 * N,
        seed_s=(GRID - LEAD) * 4 + 10,
        study=(5, 50),
        ladder=(1, 3),
        resumable=True,
        shares="simclr_grid",  # it completes the grid's per-seed files
        land=(_seeded("simclr", "augmentation_grid", "e{epochs}/") + ' (once every seed is "complete")',),
    ),
    # ---- call 2: the flagships and the studies that need many runs of the default pipeline
    Step(
        "simclr_flagship",
        9,
        "SimCLR flagship, 150 epochs, compiled (target 85% linear); protocol row",
        (
            f"{PY} -m sslcourse train simclr --epochs 150 --device cuda --compile --out {{step}}/run --quiet",
            *_flagship("simclr_resnet18", floor=False),
        ),
        call=2,
        model="simclr",
        views=150 * 2 * N,
        fixed_s=60,
        land=_shipped(
            "simclr_resnet18",
            "refresh sslcourse/results/simclr/simclr_resnet18_history.json from "
            "{step}/run/history.json (notebook 03 plots it)",
            floor=False,
        ),
    ),
    Step(
        "supervised",
        3,
        "supervised baseline, 60 epochs with Cutout (target 93%); protocol row",
        (
            f"{PY} -m sslcourse train supervised --epochs 60 --device cuda --compile "
            "--set augmentations=translate,flip,cutout --out {step}/run --quiet",
            *_flagship("supervised_resnet18", floor=False),
        ),
        call=2,
        model="supervised",
        views=60 * N,
        fixed_s=40,
        land=_shipped("supervised_resnet18", floor=False),
    ),
    Step(
        "airbench",
        16,
        "airbench's 94% recipe on our data, 3 runs: calibrates the supervised target",
        (f"{PY} benchmarks/airbench_calibration.py --device cuda --out {{step}}/airbench.json",),
        call=2,
        fixed_s=45,
        land=(f"cp {{step}}/airbench.json {GPU_LOGS}/airbench.json",),
    ),
    Step(
        "simclr_temperature",
        9,
        "SimCLR temperature (Table 5): 3 temperatures, 5 epochs each",
        (
            SIMCLR_STUDY.format("temperature") + " --epochs 5 --temperatures 0.1,0.2,0.5 --seed {seed} "
            "--out {step}/temperature_seed{seed}.json",
        ),
        call=2,
        model="simclr",
        views=3 * 5 * 2 * N,
        seed_s=3 * 4 + 10,
        study=(3, 70),
        land=(_seeded("simclr", "temperature"),),
    ),
    Step(
        "simclr_head",
        9,
        "SimCLR features before vs after the projection head (Fig. 8): 3 heads, 5 epochs each",
        (SIMCLR_STUDY.format("head") + " --epochs 5 --seed {seed} --out {step}/head_seed{seed}.json",),
        call=2,
        model="simclr",
        views=3 * 5 * 2 * N,
        seed_s=5 * 4 + 10,  # five probes: h of each head, z of two
        study=(3, 70),
        land=(_seeded("simclr", "head"),),
    ),
    # ---- call 3, a later session: their CPU runs already show their lessons; then the measurements
    Step(
        "context_gapjitter",
        7,
        "context prediction with and without gap + jitter, 15 epochs each; protocol row",
        (
            f"{PY} -m sslcourse.experiments.context gapjitter --device cuda --epochs 15 --width 0.5 --batch-size 512 "
            "--probe-train 50000 --test-subset 10000 --out {step}/gap_jitter.json --run {step}/run --quiet",
            *_flagship("context_resnet18"),
        ),
        call=3,
        model="supervised",
        views=2 * 15 * N,
        fixed_s=50,
        study=(9, 40),  # the CPU's gain over its floor: +9.0 +- 0.7
        land=_shipped("context_resnet18", _result("context", "gap_jitter.json")),
    ),
    Step(
        "colorization",
        8,
        "colorization: L2 vs classification vs rebalanced, 10 epochs each; protocol row",
        (
            *(
                f"{PY} -m sslcourse.experiments.colorization train --loss {loss} --device cuda --epochs 10 --width 0.5 "
                f"--batch-size 256 --out {{step}}/{loss} --quiet"
                for loss in ("l2", "classification", "rebalanced")
            ),
            f"{PY} -m sslcourse.experiments.colorization measure --device cuda --runs {COLOR_RUNS} "
            "--sample-indices 429,1917,2890,3531,4919,5592,6044,7532,8223,9399,988,1496 --out {step}/losses.json",
            f"{PY} -m sslcourse ship {{step}}/rebalanced colorization_resnet18 --force",
            *_protocol("colorization_resnet18"),
        ),
        call=3,
        model="supervised",
        views=3 * 10 * N,
        fixed_s=60,
        study=(12, 40),  # the CPU's gain over its floor: +12.4 +- 0.7
        land=_shipped(
            "colorization_resnet18",
            _result("colorization", "losses.json"),
            run="rebalanced",
        ),
    ),
    Step(
        "context_aberration",
        7,
        "the chromatic-aberration shortcut: four position regressors, 3 epochs each",
        (
            f"{PY} -m sslcourse.experiments.context aberration --device cuda --epochs 3 --width 0.5 --batch-size 512 "
            "--test-subset 10000 --seed {seed} --out {step}/aberration_seed{seed}.json --quiet",
        ),
        call=3,
        model="supervised",
        views=4 * 3 * N,
        seed_s=10,
        study=(5, 50),
        land=(_seeded("context", "aberration"),),
    ),
    Step(
        "mae_cost",
        10,
        "encoder cost: visible tokens only vs all tokens with mask tokens",
        (MAE.format("cost") + " --out {step}/cost.json",),
        call=3,
        fixed_s=30,
        alone=True,
        land=(_result("mae", "cost.json"),),
    ),
    Step(
        "throughput",
        3,
        "engine vs conventional vs compute bound, compiled step, MFU, half and full width",
        (
            f"{PY} benchmarks/throughput.py --device cuda --compile --width 0.5 --json {{step}}/half.json",
            f"{PY} benchmarks/throughput.py --device cuda --compile --width 1.0 --json {{step}}/full.json",
        ),
        call=3,
        fixed_s=70,
        alone=True,
        land=(f"copy {{step}}/log.txt to {GPU_LOGS}/ and update the README's performance section, naming the card",),
    ),
)
BY_NAME = {s.name: s for s in STEPS}


# The CPU smoke run: each GPU command with these options replaced (None: dropped), per program and experiment.
SMOKE_SEEDS = 1  # the smoke run and the rehearsal run one seed of each study (the sizing still counts them all)
SMOKE_LADDER = 1  # and the first rung of each ladder only
_MAE_TINY = {
    "--device": "cpu",
    "--compile": None,
    "--train-subset": "200",
    "--test-subset": "100",
    "--batch-size": "50",
    "--dim": "32",
    "--depth": "1",
    "--heads": "2",
    "--decoder-dim": "32",
    "--decoder-depth": "1",
    "--decoder-heads": "2",
    "--pretrain-epochs": "0.5",
    "--finetune-epochs": "0.5",
}
_SIMCLR_TINY = {"--device": "cpu", "--scale": "cpu", "--epochs": "0.03", "--compile": None}
_CONTEXT_TINY = {
    "--device": "cpu",
    "--train-subset": "200",
    "--probe-train": "200",
    "--test-subset": "100",
    "--epochs": "0.5",
    "--width": "0.125",
    "--batch-size": "50",
}
SMOKE = {
    "sslcourse train": {
        "--device": "cpu",
        "--subset": "200",
        "--epochs": "0.5",
        "--batch-size": "50",
        "--width": "0.125",
        "--compile": None,
    },
    "sslcourse eval": {"--device": "cpu", "--subset": "200", "--few-label": "1"},
    "sslcourse ship": {},
    "sslcourse.experiments.mae pretrain": _MAE_TINY,  # test_train checks the compiled step
    "sslcourse.experiments.mae finetune": _MAE_TINY,
    "sslcourse.experiments.mae cost": {**_MAE_TINY, "--steps": "1"},
    "sslcourse.experiments.mae sweep": {**_MAE_TINY, "--ratios": "0.5,0.75"},
    "sslcourse.experiments.simclr grid": {**_SIMCLR_TINY, "--augs": "crop,color"},
    "sslcourse.experiments.simclr temperature": {**_SIMCLR_TINY, "--temperatures": "0.1,0.5"},
    "sslcourse.experiments.simclr head": _SIMCLR_TINY,
    "sslcourse.experiments.simclr colour": {**_SIMCLR_TINY, "--strengths": "0.5,1"},
    "sslcourse.experiments.context gapjitter": _CONTEXT_TINY,
    "sslcourse.experiments.context aberration": _CONTEXT_TINY,
    "sslcourse.experiments.colorization train": {
        "--device": "cpu",
        "--train-subset": "200",
        "--epochs": "0.5",
        "--width": "0.125",
        "--batch-size": "50",
    },
    "sslcourse.experiments.colorization measure": {
        "--device": "cpu",
        "--test-subset": "100",
        "--sample-indices": "0,1",
    },
    "benchmarks/calibrate.py": {
        "--device": "cpu",
        "--tiny": "",
        "--seconds": "0.2",
        "--concurrency": "1,2",
        "--modes": "eager",
    },
    "benchmarks/throughput.py": {
        "--device": "cpu",
        "--width": "0.125",
        "--batch": "8",
        "--steps": "1",
        "--workers": "0",
        "--compile": None,
    },
    "benchmarks/airbench_calibration.py": {"--device": "cpu"},  # no CUDA: writes the data airbench would read
}


def program(args: list[str]) -> str:
    """The SMOKE key of a command's arguments (after the interpreter)."""
    if args[0] == "-m":
        return f"{args[1]} {args[2]}" if len(args) > 2 else args[1]
    return args[0]


def smoke_args(args: list[str]) -> list[str]:
    """A GPU command's arguments, shrunk to the CPU: the program's SMOKE options replace the command's own."""
    if args[0] != PY:
        return args
    key = program(args[1:])
    if key not in SMOKE:
        raise KeyError(f"no CPU smoke settings for {key!r}: add them to SMOKE in scripts/gpu_plan_steps.py")
    out, i = [], 0
    while i < len(args):
        a = args[i]
        takes_value = i + 1 < len(args) and not args[i + 1].startswith("--")
        if a in SMOKE[key]:
            i += 2 if takes_value and a.startswith("--") else 1
            continue
        out.append(a)
        i += 1
    for option, value in SMOKE[key].items():
        if value is not None:
            out += [option] if value == "" else [option, value]
    return out

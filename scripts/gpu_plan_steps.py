"""The GPU plan's steps (scripts/gpu_plan.py runs them): what each trains, how much, with which exact commands,
and how each command shrinks to the CPU for the smoke run (SMOKE: derived, never written twice)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # sslcourse, for the noise budget
RESULTS = Path("runs") / "gpu_plan"  # under the repository's root
PY = "python"  # written in the commands; run with the interpreter running the plan


@dataclass(frozen=True)
class Step:
    name: str
    issue: int
    purpose: str
    gpu: tuple[str, ...]  # shell-free commands, run in order; {step} is this step's folder. The CPU smoke run
    # derives its commands from these (`smoke_commands`): they are never written twice.
    model: str | None = None  # the calibrated model whose views/s sizes the training (None: fixed time only)
    views: float = 0.0  # training views in all (epochs x images x views per image x runs)
    fixed_s: int = 30  # seconds besides training: start, compilation, data, evaluation
    wave: int = 0  # steps of one wave run side by side (separate processes) when the calibration says it pays
    study: tuple[float, float] | None = None  # (the difference in points it must resolve, the accuracy level)
    needs: tuple[str, ...] = ()
    alone: bool = False  # a measurement: never side by side with anything
    resumable: bool = False  # may start with less than its estimate left and go on in a later call
    land: tuple[str, ...] = field(default=())  # what to run here once the results are back

    @property
    def mode(self) -> str:
        """Which of the calibration's rates applies: its commands compile the step or not."""
        return "compiled" if any("--compile" in c.split() for c in self.gpu) else "eager"


PROTOCOL = "sslcourse/results/protocol"
GPU_LOGS = "sslcourse/results/logs/gpu"  # machine logs and benchmark outputs behind the README's numbers


def _seeds(effect: float, accuracy: float) -> str:
    """The seeds the noise budget asks for, as a --seeds value."""
    from sslcourse.experiments.noise import size_study

    return ",".join(str(i) for i in range(size_study(effect, accuracy).seeds))


# Views/s on one H200 before any calibration: the shipped runs' (eager, one training at a time, GPU_LOGS
# and the weights' cards); MAE's is an assumption (no GPU run of it yet). Replaced by the calibration's.
PRIOR_VIEWS_PER_S = {"simclr": 75_000, "supervised": 62_600, "mae": 40_000}
N = 50_000  # training images


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
MAE = f"{PY} -m sslcourse.experiments.mae {{}} --device cuda --compile --quiet"
COLOR_RUNS = "{step}/l2,{step}/classification,{step}/rebalanced"
STEPS: tuple[Step, ...] = (
    Step(
        "calibration",
        16,
        "views/s per model, eager and compiled, and 1/2/4 trainings side by side",
        (f"{PY} benchmarks/calibrate.py --device cuda --seconds 3 --out {{step}}/calibration.json",),
        alone=True,
        fixed_s=150,  # 3 models x 2 modes x 3 s timed, plus compiling each once (its kernels are cached on disk
        # for the steps after it) and 7 side-by-side processes
        land=(f"cp {{step}}/calibration.json {GPU_LOGS}/calibration.json",),
    ),
    Step(
        "throughput",
        3,
        "engine vs conventional vs compute bound, compiled step, MFU, half and full width",
        (
            f"{PY} benchmarks/throughput.py --device cuda --compile --width 0.5 --json {{step}}/half.json",
            f"{PY} benchmarks/throughput.py --device cuda --compile --width 1.0 --json {{step}}/full.json",
        ),
        fixed_s=70,
        alone=True,
        land=(f"copy {{step}}/log.txt to {GPU_LOGS}/ and update the README's performance section",),
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
        model="supervised",
        views=60 * N,
        fixed_s=40,
        wave=1,
        land=_shipped("supervised_resnet18", floor=False),
    ),
    Step(
        "airbench",
        16,
        "airbench's 94% recipe on our data, 3 runs: calibrates the supervised target",
        (f"{PY} benchmarks/airbench_calibration.py --device cuda --out {{step}}/airbench.json",),
        fixed_s=45,
        wave=1,
        land=(f"cp {{step}}/airbench.json {GPU_LOGS}/airbench.json",),
    ),
    Step(
        "context_gapjitter",
        7,
        "context prediction with and without gap + jitter, 15 epochs each; protocol row",
        (
            f"{PY} -m sslcourse.experiments.context gapjitter --device cuda --epochs 15 --width 0.5 --batch-size 512 "
            "--probe-train 50000 --test-subset 10000 --out {step}/gap_jitter.json --run {step}/run --quiet",
            *_flagship("context_resnet18"),
        ),
        model="supervised",
        views=2 * 15 * N,
        fixed_s=50,
        wave=1,
        study=(5, 40),
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
        model="supervised",
        views=3 * 10 * N,
        fixed_s=60,
        wave=1,
        study=(5, 40),
        land=_shipped(
            "colorization_resnet18",
            _result("colorization", "losses.json"),
            run="rebalanced",
        ),
    ),
    Step(
        "simclr_flagship",
        9,
        "SimCLR flagship, 150 epochs, compiled (target 85% linear); protocol row",
        (
            f"{PY} -m sslcourse train simclr --epochs 150 --device cuda --compile --out {{step}}/run --quiet",
            *_flagship("simclr_resnet18", floor=False),
        ),
        model="simclr",
        views=150 * 2 * N,
        fixed_s=40,
        wave=2,
        land=_shipped(
            "simclr_resnet18",
            "refresh sslcourse/results/simclr/simclr_resnet18_history.json from "
            "{step}/run/history.json (notebook 03 plots it)",
            floor=False,
        ),
    ),
    Step(
        "mae_pretrain",
        10,
        "MAE at 75% on ViT-Tiny, 100 epochs; protocol row",
        (MAE.format("pretrain") + " --pretrain-epochs 100 --out {step}/run", *_flagship("mae_vit")),
        model="mae",
        views=100 * N,
        fixed_s=40,
        wave=2,
        land=_shipped("mae_vit"),
    ),
    Step(
        "context_aberration",
        7,
        "the chromatic-aberration shortcut: four position regressors, 5 epochs each",
        (
            f"{PY} -m sslcourse.experiments.context aberration --device cuda --epochs 5 --width 0.5 --batch-size 512 "
            "--test-subset 10000 --out {step}/aberration.json --quiet",
        ),
        model="supervised",
        views=4 * 5 * N,
        fixed_s=20,
        wave=2,
        study=(5, 50),
        land=(_result("context", "aberration.json"),),
    ),
    Step(
        "simclr_temperature",
        9,
        "SimCLR temperature study (Table 5), 5 runs of 10 epochs",
        (SIMCLR_STUDY.format("temperature") + " --epochs 10 --out {step}/temperature.json",),
        model="simclr",
        views=5 * 10 * 2 * N,
        fixed_s=60,
        wave=2,
        study=(3, 70),
        land=(_result("simclr", "temperature.json"),),
    ),
    Step(
        "mae_finetune",
        10,
        "the 75% MAE fine-tuned vs the same ViT from scratch, 15 epochs each (target 85%)",
        (MAE.format("finetune") + " --init mae_vit --finetune-epochs 15 --out {step}/finetune.json",),
        needs=("mae_pretrain",),
        model="mae",
        views=2 * 15 * N,
        fixed_s=30,
        wave=3,
        study=(5, 80),
        land=(_result("mae", "finetune.json"),),
    ),
    Step(
        "simclr_head",
        9,
        "SimCLR features before vs after the projection head (Fig. 8), 3 runs of 10 epochs",
        (SIMCLR_STUDY.format("head") + " --epochs 10 --out {step}/head.json",),
        model="simclr",
        views=3 * 10 * 2 * N,
        fixed_s=40,
        wave=3,
        study=(3, 70),
        land=(_result("simclr", "head.json"),),
    ),
    Step(
        "simclr_colour",
        9,
        "SimCLR colour strength (Table 1): 3 strengths x 3 seeds of 5 epochs",
        (
            SIMCLR_STUDY.format("colour") + f" --epochs 5 --strengths 0.25,0.5,1 --seeds {_seeds(2, 65)} "
            "--out {step}/colour_strength.json",
        ),
        model="simclr",
        views=9 * 5 * 2 * N,
        fixed_s=60,
        wave=3,
        study=(2, 65),
        land=(_result("simclr", "colour_strength.json"),),
    ),
    Step(
        "mae_cost",
        10,
        "encoder cost: visible tokens only vs all tokens with mask tokens",
        (MAE.format("cost") + " --out {step}/cost.json",),
        fixed_s=30,
        wave=4,
        land=(_result("mae", "cost.json"),),
    ),
    Step(
        "mae_sweep",
        10,
        "MAE masking-ratio sweep, 4 ratios, 10 + 5 epochs each",
        (
            MAE.format("sweep") + " --ratios 0.25,0.5,0.75,0.9 --pretrain-epochs 10 --finetune-epochs 5 "
            "--out {step}/sweep.json",
        ),
        model="mae",
        views=4 * 15 * N,
        fixed_s=60,
        wave=4,
        study=(3, 75),
        land=(_result("mae", "sweep.json"),),
    ),
    Step(
        "simclr_grid",
        9,
        "SimCLR Figure 5, one branch transformed: 49 ordered cells of 3 epochs (resumable)",
        (SIMCLR_STUDY.format("grid") + " --epochs 3 --resume --out {step}/augmentation_grid.json",),
        model="simclr",
        views=49 * 3 * 2 * N,
        fixed_s=49 * 4,
        wave=4,
        study=(5, 50),
        resumable=True,
        land=(_result("simclr", "augmentation_grid.json") + ' (once its "complete" is true)',),
    ),
)
BY_NAME = {s.name: s for s in STEPS}


# The CPU smoke run: each GPU command with these options replaced (None: dropped), per program and experiment.
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
    "sslcourse.experiments.mae pretrain": {**_MAE_TINY, "--compile": ""},  # compiles as on the GPU (~20 s more)
    "sslcourse.experiments.mae finetune": _MAE_TINY,
    "sslcourse.experiments.mae cost": {**_MAE_TINY, "--steps": "1"},
    "sslcourse.experiments.mae sweep": {**_MAE_TINY, "--ratios": "0.5,0.75"},
    "sslcourse.experiments.simclr grid": {**_SIMCLR_TINY, "--augs": "crop,color"},
    "sslcourse.experiments.simclr temperature": {**_SIMCLR_TINY, "--temperatures": "0.1,0.5"},
    "sslcourse.experiments.simclr head": _SIMCLR_TINY,
    "sslcourse.experiments.simclr colour": {**_SIMCLR_TINY, "--strengths": "0.5,1", "--seeds": "0"},
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
        "--seconds": "0.5",
        "--concurrency": "1,2",
        "--modes": "eager",
    },  # compiling three models on 2 cores takes minutes (test_train
    # checks the compiled step)
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
        raise KeyError(f"no CPU smoke settings for {key!r}: add them to SMOKE in scripts/gpu_plan.py")
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

"""The GPU plan (scripts/gpu_plan.py): its calls follow what only a GPU can show, every small effect is seeded and
the sizing counts the seeds, every command it would run on a GPU parses, and a session's calls run end to end
when shrunk to the CPU, coming back as the GPU machine returns files, so nothing is improvised when a GPU comes."""

import importlib
import importlib.util
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


plan = _module(ROOT / "scripts" / "gpu_plan.py", "gpu_plan")
H100 = "cuda (NVIDIA H100 80GB HBM3)"


def _parser_for(args: list[str]):
    """The argparse parser of the program a plan command runs, and the arguments it gets."""
    if args[:2] == ["-m", "sslcourse"]:
        from sslcourse.cli import build_parser

        return build_parser(), args[2:]
    if args[0] == "-m" and args[1].startswith("sslcourse.experiments."):
        return importlib.import_module(args[1])._parser(), args[2:]
    if args[0].startswith("benchmarks/"):
        name = Path(args[0]).stem
        return _module(ROOT / args[0], f"{name}_bench").parser(), args[1:]
    raise AssertionError(f"no parser known for {args}")


@pytest.mark.parametrize("step", plan.STEPS, ids=lambda s: s.name)
def test_every_gpu_command_and_its_derived_smoke_command_parse(step):
    seeds = list(range(step.seeds))
    templates = step.gpu + (step.pilot.commands if step.pilot else ())
    for group in plan.expand(templates, Path("runs/gpu_plan") / step.name, seeds, 1):
        for command in group:
            args = shlex.split(command)
            assert args[0] == plan.PY
            parser, rest = _parser_for(args[1:])
            parsed = parser.parse_args(rest)  # argparse exits on an unknown or malformed option
            if hasattr(parsed, "device"):
                assert parsed.device == "cuda", command
            smoke = plan.smoke_args(args)
            parsed = _parser_for(smoke[1:])[0].parse_args(_parser_for(smoke[1:])[1])
            if hasattr(parsed, "device"):
                assert parsed.device == "cpu" and not getattr(parsed, "compile", False)
    waits = {s.name: (s.call, plan.STEPS.index(s)) for s in plan.STEPS}
    assert all(n in plan.BY_NAME and waits[n] < waits[step.name] for n in step.needs)  # what it needs runs first


def test_the_calls_run_first_what_only_a_gpu_can_show():
    calls = {c.number: [s.name for s in plan.STEPS if s.call == c.number] for c in plan.CALLS}
    assert calls[0] == ["calibration"]
    assert calls[1] == ["mae_pretrain", "mae_finetune", "mae_sweep", "simclr_grid", "simclr_colour", "simclr_grid_rest"]
    assert calls[2] == ["simclr_flagship", "supervised", "airbench", "simclr_temperature", "simclr_head"]
    assert {"context_gapjitter", "colorization"} <= set(calls[3])  # their CPU runs already show their lessons
    # one session: the machine's start, calls 0, 1 and 2 and their transfers fit its device time, and each call
    # fits a command's 10 minutes
    session = plan.START_S + sum(c.budget_s + plan.CALL_OVERHEAD_S for c in plan.CALLS[:3])
    assert session <= plan.SESSION_S and all(c.timeout_s <= 600 for c in plan.CALLS)
    assert plan.CALLS[1].budget_s + plan.CALLS[2].budget_s < 600  # the first call leaves room for the second
    grid = plan.BY_NAME["simclr_grid"]
    assert (grid.pilot.a, grid.pilot.b) == (("crop", "color"), ("crop", "crop")) and grid.resumable
    assert "--lead-only" in grid.gpu[0] and "--augs crop,color" in grid.pilot.commands[0]
    rest = plan.BY_NAME["simclr_grid_rest"]  # completes the very files the grid's pilot and lead cells began
    assert rest.folder == grid.folder == "simclr_grid" and rest.gpu[0].split("--out ")[1] == grid.pilot.file


def test_every_small_effect_runs_three_seeds_and_the_sizing_counts_them():
    studies = [s for s in plan.STEPS if s.study]
    assert studies
    for step in studies:
        effect, _ = step.study
        if effect <= 5:
            assert step.seeds >= 3, step.name
        if step.seeds > 1:  # every seed is in its commands
            assert all("{seed}" in c or "{seeds}" in c for c in step.gpu if "experiments" in c), step.name
        per_model = plan.rates(None)[0]
        one = plan.step_seconds(step, per_model, seeds=1)
        assert plan.step_seconds(step, per_model) == pytest.approx(
            step.fixed_s + step.seeds * (one - step.fixed_s)
        )  # three seeds cost three times one, besides the step's fixed part
    for name in ("mae_finetune", "mae_sweep", "simclr_grid", "simclr_colour", "simclr_temperature", "simclr_head"):
        assert plan.BY_NAME[name].seeds >= 3
    assert plan.seeds_for(12, 40) == 1 and plan.seeds_for(5, 50) == 3 and plan.seeds_for(1.75, 65) > 3


def test_seeded_commands_expand_once_per_seed():
    step = plan.BY_NAME["mae_sweep"]
    (group,) = plan.expand(step.gpu, Path("s"), [0, 1, 2])
    assert [shlex.split(c)[shlex.split(c).index("--seed") + 1] for c in group] == ["0", "1", "2"]
    assert len({shlex.split(c)[shlex.split(c).index("--out") + 1] for c in group}) == 3  # a file per seed
    (colour,) = plan.expand(plan.BY_NAME["simclr_colour"].gpu, Path("s"), [0, 1, 2])
    assert len(colour) == 1 and "--seeds 0,1,2" in colour[0]  # one process takes all its seeds


def _calibration(speedups, simclr=150_000, device="cuda (NVIDIA H200)", compiled=True):
    def modes(v):
        return {"eager": {"views_per_s": v / 1.5}, **({"compiled": {"views_per_s": v}} if compiled else {})}

    return {
        "computed_on": "GPU",
        "tiny": False,
        "device": device,
        "created": "today",
        "models": {m: modes(v) for m, v in (("simclr", simclr), ("supervised", 120_000), ("mae", 80_000))},
        "side_by_side": {"rows": [{"processes": k, "speedup": g} for k, g in speedups.items()]},
    }


def test_the_plan_is_sized_from_the_calibration_of_the_card_lent():
    per_model, speedup, source = plan.rates(_calibration({1: 1.0, 2: 1.6}, device=H100))
    assert per_model["simclr"] == {"eager": 100_000, "compiled": 150_000} and "H100" in source
    flagship, study = plan.BY_NAME["simclr_flagship"], plan.BY_NAME["simclr_temperature"]
    assert flagship.mode == "compiled" and study.mode == "eager"  # each step is sized at the rate it runs at
    assert plan.step_seconds(flagship, per_model) == pytest.approx(flagship.fixed_s + flagship.views / 150_000)
    alone = plan.step_seconds(study, per_model)
    assert plan.side_by_side(study, 3, speedup) == (2, 1.6)  # its seeds side by side, where that pays
    assert plan.step_seconds(study, per_model, speedup) < alone
    assert plan.side_by_side(study, 3, {1: 1.0, 2: 0.9}) == (1, 1.0)  # no gain: one at a time
    assert plan.side_by_side(plan.BY_NAME["calibration"], 3, speedup) == (1, 1.0)  # a measurement runs alone
    eager_only, _, _ = plan.rates(_calibration({1: 1.0}, compiled=False))
    assert plan.step_seconds(flagship, eager_only) == pytest.approx(flagship.fixed_s + flagship.views / 100_000)
    assert "H200" in plan.rates(None)[2]  # before a calibration: the shipped runs' card, named


def test_the_pilot_picks_the_rung_whose_difference_three_standard_errors_resolve(tmp_path):
    step = plan.BY_NAME["simclr_grid"]

    def grids(epochs, pairs):
        for seed, (colour, crop) in enumerate(pairs):
            path = Path(plan._format(step.pilot.file, tmp_path, [], seed, epochs))
            path.parent.mkdir(parents=True, exist_ok=True)
            cells = [{"first": "crop", "second": "color", "linear_top1": colour}]
            path.write_text(json.dumps({"cells": cells + [{"first": "crop", "second": "crop", "linear_top1": crop}]}))

    grids(1, [(41.0, 40.0), (38.0, 40.5), (42.0, 39.0)])  # +0.5 +- 1.7: not resolved
    verdict = plan.resolved(step, tmp_path, [0, 1, 2], 1)
    assert verdict["seeds"] == 3 and not verdict["resolved"] and verdict["difference"] == pytest.approx(0.5)
    grids(3, [(50.0, 40.0), (51.0, 40.5), (50.5, 39.5)])  # +10.5 +- 0.3
    assert plan.resolved(step, tmp_path, [0, 1, 2], 3)["resolved"]
    assert plan.resolved(step, tmp_path / "none", [0, 1, 2], 3) == {"epochs": 3, "seeds": 0, "resolved": False}


def run_plan(*args, timeout=900):
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gpu_plan.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def test_list_prints_each_call_its_seeds_noise_and_estimates_with_their_card(tmp_path):
    r = run_plan("--list", "--results", str(tmp_path))
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0 and lines[-1].startswith("about ") and lines[-1].endswith(" minutes in all")
    assert lines[0] == f"estimates from {plan.PRIOR_CARD}"
    for c in plan.CALLS:
        assert f"== call {c.number} (--budget-s {c.budget_s}, device timeout_s {c.timeout_s})" in r.stdout
    assert "mae_sweep (issue #10, ~" in r.stdout and "3 seeds" in r.stdout
    assert "noise: resolve 2 points at ~65%: 3 seed(s), 10000 test images" in r.stdout
    assert "3 seeds: an effect of 5 points or less is seeded" in r.stdout
    assert "--seed {seed}" in r.stdout and "--seeds 0,1,2" in r.stdout
    assert "session: machine start" in r.stdout
    (tmp_path / "calibration").mkdir()
    calibration = _calibration({1: 1.0, 2: 2.0}, device=H100)
    (tmp_path / "calibration" / "calibration.json").write_text(json.dumps(calibration))
    r2 = run_plan("--list", "--results", str(tmp_path))
    assert r2.stdout.startswith(f"estimates from {H100} (calibrated today)")
    assert int(r2.stdout.split("about ")[-1].split()[0]) < int(lines[-1].split()[1])


def test_a_call_bundle_fits_the_trip_back_or_says_why(tmp_path, monkeypatch):
    results, out = tmp_path / "results", tmp_path / "out"
    (results / "a").mkdir(parents=True)
    (results / "a" / "x.json").write_text("{}" * 2000)
    (results / "a" / "checkpoint.pt").write_bytes(b"0" * 5000)  # optimizer state stays behind
    (results / "plan.json").write_text(json.dumps({"steps": {}}))
    parts = plan.bundle(results, out, "gpu_plan_call1", ["a", "not_run"])
    assert [p.name for p in parts] == ["gpu_plan_call1.tar.00"] and plan.check_returned(out) == []
    monkeypatch.setattr(plan, "RETURN_FILE_BYTES", 1024)
    monkeypatch.setattr(plan, "RETURN_FILES", 3)
    with pytest.raises(RuntimeError, match="do not fit the trip back"):
        plan.bundle(results, tmp_path / "out2", "gpu_plan_call1", ["a"])
    deep = tmp_path / "deep" / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (deep / "f").write_text("x")
    assert plan.check_returned(tmp_path / "deep") == ["a/b/c/f: too deep or a name with other characters"]


@pytest.mark.slow
def test_a_session_rehearsed_on_the_cpu_calibrate_call_1_call_2_land(tmp_path, jpeg_root):
    """The session a GPU gets, each call's commands shrunk to the CPU (one seed, the pilot's first rung): call 0,
    1 and 2 into one results folder (the warm machine's), each bundled into its own folder as the device tool
    returns them, then landed here; the notebooks' re-execution is printed, not run. About 5 minutes of one CPU
    core (measured: 4 min 35 s user + 36 s system), most of it ~30 interpreters starting and loading CIFAR-10."""
    results, returned = tmp_path / "machine", tmp_path / "returned"
    weights = {p.name: p.read_bytes() for p in (ROOT / "sslcourse" / "weights").iterdir()}
    for c in plan.CALLS[:3]:
        r = run_plan(
            "--smoke", "--call", str(c.number), "--results", str(results), "--bundle", str(returned / f"call{c.number}")
        )
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        assert plan.check_returned(returned / f"call{c.number}") == []  # at most 8 files of 16 MiB, flat
    state = json.loads((results / "plan.json").read_text())
    assert {n: s["status"] for n, s in state["steps"].items()} == {s.name: "ok" for s in plan.STEPS if s.call < 3}
    assert [c["call"] for c in state["calls"]] == [0, 1, 2] and all(
        c["device"].startswith("cpu") for c in state["calls"]
    )
    assert state["steps"]["simclr_grid"]["epochs"] == 1 and state["steps"]["simclr_grid"]["pilot"][0]["seeds"] == 1
    calibration = json.loads((results / "calibration" / "calibration.json").read_text())
    assert calibration["tiny"] and set(calibration["models"]) == {"simclr", "supervised", "mae"}
    assert plan.load_calibration(results) is None  # a tiny CPU calibration never sizes a GPU plan
    grid = json.loads((results / "simclr_grid" / "e1" / "augmentation_grid_seed0.json").read_text())
    assert grid["seed"] == 0 and grid["complete"] and len(grid["cells"]) == 4
    assert not (results / "simclr_grid_rest").exists()  # the rest goes on in the grid's own files
    assert {p.name: p.read_bytes() for p in (ROOT / "sslcourse" / "weights").iterdir()} == weights  # shipped elsewhere

    landed = tmp_path / "landed"
    folders = [str(returned / f"call{c.number}") for c in plan.CALLS[:3]]
    r = run_plan("--land", *folders, "--results", str(landed))
    assert r.returncode == 0, r.stderr
    assert f"ship {landed / 'supervised' / 'run'} supervised_resnet18 --force" in r.stdout
    assert f"cp {landed / 'simclr_grid'}/e1/augmentation_grid_seed*.json sslcourse/results/simclr/" in r.stdout
    assert "on cpu" in r.stdout and "python -m sslcourse notebooks sync && python -m sslcourse assign" in r.stdout
    assert (landed / "mae_pretrain" / "run" / "model.safetensors").is_file()
    assert (landed / "mae_sweep" / "sweep_seed0.json").is_file() and (
        landed / "calibration" / "calibration.json"
    ).is_file()
    assert not list(landed.rglob("checkpoint.pt"))
    assert json.loads((landed / "plan.json").read_text())["steps"] == state["steps"]
    r = run_plan("--land", *folders, "--results", str(landed))
    assert r.returncode == 2 and "not empty" in r.stderr  # nothing is overwritten


@pytest.mark.slow
def test_a_later_call_runs_what_fits_and_a_later_session_goes_on(tmp_path, jpeg_root):
    """Call 3's steps shrunk to the CPU, in a budget too small for one of them, then a later session that starts
    from the returned files and runs the rest."""
    results, out = tmp_path / "results", tmp_path / "out"
    r = run_plan(
        "--smoke", "--results", str(results), "--only", "throughput,mae_cost", "--budget-s", "60", "--bundle", str(out)
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert re.search(r"\[throughput\] needs ~70 s \(.*H200.*\), \d+ s left: skipped", r.stdout), r.stdout
    later = tmp_path / "later"
    r = run_plan("--smoke", "--results", str(later), "--only", "mae_cost,context_aberration", "--from", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "[mae_cost] done before" in r.stdout and "[context_aberration] ok" in r.stdout


def test_unknown_steps_are_refused_with_the_list():
    r = run_plan("--only", "supervised,nope", "--list")
    assert r.returncode == 2 and "unknown step(s) ['nope']" in r.stderr and "simclr_flagship" in r.stderr


def test_a_run_says_which_call(tmp_path):
    r = run_plan("--results", str(tmp_path), "--code-version", "abc1234")
    assert r.returncode == 2 and "--call" in r.stderr and not (tmp_path / "plan.json").exists()


def test_a_copy_without_git_runs_only_when_told_its_commit(monkeypatch, tmp_path, capsys):
    """A GPU machine gets a copy of the tree without .git: the plan refuses to run there until --code-version
    names the commit sent, so no GPU result lands without the code that made it."""
    from sslcourse import provenance

    monkeypatch.setenv("SSLCOURSE_CODE_VERSION", "")  # recorded, so that what main() sets is undone after the test
    monkeypatch.delenv("SSLCOURSE_CODE_VERSION")
    monkeypatch.setattr(provenance, "commit", lambda: ("sslcourse 0.1", None))
    assert plan.main(["--results", str(tmp_path), "--only", "mae_cost", "--budget-s", "1"]) == 2
    assert "--code-version" in capsys.readouterr().err and not (tmp_path / "plan.json").exists()
    monkeypatch.setattr(plan, "run_call", lambda *a: ({"steps": {}}, []))  # past the check, nothing run
    assert plan.main(["--results", str(tmp_path), "--only", "mae_cost", "--code-version", "abc1234"]) == 0
    import os

    assert os.environ["SSLCOURSE_CODE_VERSION"] == "abc1234"  # every step's process inherits it and records it


def test_airbench_gets_exactly_our_data_in_its_layout(tmp_path, jpeg_root):
    """The adapter writes what airbench's CifarLoader reads (uint8 NHWC images, labels, classes) from our
    CIFAR-10; airbench itself needs CUDA (it builds its net in fp16 on the GPU), so it trains only there."""
    import torch

    from sslcourse import data

    bench = _module(ROOT / "benchmarks" / "airbench_calibration.py", "airbench_bench")
    shapes = bench.export_for_airbench(tmp_path)
    assert shapes == {"train": [50000, 32, 32, 3], "test": [10000, 32, 32, 3]}
    written = torch.load(tmp_path / "cifar10" / "test.pt", weights_only=True)
    x, y = data.load_cifar10("test")
    assert torch.equal(written["images"].permute(0, 3, 1, 2), x) and torch.equal(written["labels"], y)
    assert written["classes"] == list(data.CLASSES)
    if not (ROOT / ".whl").is_dir() or not list((ROOT / ".whl").glob("airbench-*.whl")):
        pytest.skip("no airbench wheel in .whl/ (pip wheel --no-deps airbench==0.1.8 -w .whl)")
    airbench = bench.import_airbench()  # from the carried wheel, as on the GPU machine
    assert callable(airbench.train94) and airbench.lib_airbench94.hyp["opt"]["batch_size"] == 1024
    if not torch.cuda.is_available():
        pytest.skip("airbench trains on CUDA only")


@pytest.mark.slow
def test_the_grid_runs_the_diagonal_and_crops_row_and_column_first_then_the_rest(tmp_path, monkeypatch, jpeg_root):
    """What the plan's grid commands rely on: --lead-only stops after the cells crop alone is compared with, a
    resume runs the rest, and --seed seeds every run (a file per seed, refused if mixed)."""
    from sslcourse.experiments import simclr

    scale = simclr.Scale(
        n_train=200, n_test=100, image_size=16, width=0.125, hidden_dim=32, batch_size=50, epochs=0.2, lr=0.1
    )
    monkeypatch.setitem(simclr.SCALES, "cpu", scale)
    out = tmp_path / "grid_seed1.json"
    argv = ["grid", "--augs", "crop,cutout,color", "--seed", "1", "--device", "cpu", "--out", str(out)]
    assert simclr.main(argv + ["--lead-only"]) == 0
    lead = json.loads(out.read_text())
    assert [(c["first"], c["second"]) for c in lead["cells"]] == [
        ("crop", "crop"),
        ("crop", "cutout"),
        ("crop", "color"),
        ("cutout", "crop"),
        ("cutout", "cutout"),
        ("color", "crop"),
        ("color", "color"),
    ]
    assert lead["seed"] == 1 and lead["seeds"] == [1] and not lead["complete"]
    assert simclr.main(argv + ["--resume"]) == 0
    full = json.loads(out.read_text())
    assert full["complete"] and full["cells"][:7] == lead["cells"]
    assert [(c["first"], c["second"]) for c in full["cells"][7:]] == [("cutout", "color"), ("color", "cutout")]
    assert simclr.main([*argv[:4], "2", *argv[5:], "--resume"]) == 2  # another seed's grid is never mixed in

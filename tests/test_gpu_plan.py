"""The GPU plan (scripts/gpu_plan.py): every command it would run on a GPU parses, and every step runs end to
end when shrunk to the CPU, so the plan cannot drift from the code before the next GPU session."""

import importlib
import importlib.util
import json
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
    for command in step.gpu:
        args = shlex.split(command.format(step="runs/gpu_plan/" + step.name))
        assert args[0] == plan.PY
        parser, rest = _parser_for(args[1:])
        parsed = parser.parse_args(rest)  # argparse exits on an unknown or malformed option
        if hasattr(parsed, "device"):
            assert parsed.device == "cuda", command
        smoke = plan.smoke_args(args)
        parser, rest = _parser_for(smoke[1:])
        parsed = parser.parse_args(rest)
        if hasattr(parsed, "device"):
            assert parsed.device == "cpu" and not getattr(parsed, "compile", False) or "mae pretrain" in command
    assert plan.step_seconds(step, plan.rates(None)[0]) <= 600 or step.resumable, "a call runs at most 10 minutes"
    waves = {s.name: s.wave for s in plan.STEPS}
    assert all(n in plan.BY_NAME and waves[n] < step.wave for n in step.needs)  # what it needs finished before


def test_smoke_commands_are_derived_from_the_gpu_commands():
    gpu = shlex.split("python -m sslcourse train simclr --epochs 150 --device cuda --compile --out x/run --quiet")
    assert plan.smoke_args(gpu) == [
        "python",
        "-m",
        "sslcourse",
        "train",
        "simclr",
        "--out",
        "x/run",
        "--quiet",
        "--device",
        "cpu",
        "--subset",
        "200",
        "--epochs",
        "0.5",
        "--batch-size",
        "50",
        "--width",
        "0.125",
    ]
    with pytest.raises(KeyError, match="no CPU smoke settings"):
        plan.smoke_args(["python", "-m", "sslcourse.experiments.nope", "run"])


def _calibration(speedups, simclr=150_000):
    return {
        "computed_on": "GPU",
        "tiny": False,
        "device": "cuda (NVIDIA H200)",
        "created": "today",
        "models": {
            m: {"eager": {"views_per_s": v / 1.5}, "compiled": {"views_per_s": v}, "best": "compiled"}
            for m, v in (("simclr", simclr), ("supervised", 120_000), ("mae", 80_000))
        },
        "side_by_side": {"rows": [{"processes": k, "speedup": g} for k, g in speedups.items()]},
    }


def test_the_plan_is_sized_from_the_calibration_and_runs_side_by_side_only_where_it_pays():
    per_model, speedup, source = plan.rates(_calibration({1: 1.0, 2: 1.6, 4: 2.2}))
    assert per_model["simclr"] == {"eager": 100_000, "compiled": 150_000} and "calibration" in source
    flagship, study = plan.BY_NAME["simclr_flagship"], plan.BY_NAME["simclr_head"]
    assert flagship.mode == "compiled" and study.mode == "eager"  # each step is sized at the rate it runs at
    assert plan.step_seconds(study, per_model) == pytest.approx(study.fixed_s + study.views / 100_000)
    assert plan.step_seconds(flagship, per_model) == pytest.approx(flagship.fixed_s + flagship.views / 150_000)
    waves = plan.schedule(plan.STEPS, per_model, speedup)
    assert any(k > 1 for _, k, _ in waves)
    assert all(k == 1 for members, k, _ in waves if any(s.alone for s in members))  # measurements run alone
    fast = sum(t for *_, t in waves)
    per_model, speedup, _ = plan.rates(_calibration({1: 1.0, 2: 0.9, 4: 0.8}))
    assert all(k == 1 for _, k, _ in plan.schedule(plan.STEPS, per_model, speedup))  # no gain: one at a time
    slow = sum(t for *_, t in plan.schedule(plan.STEPS, per_model, speedup))
    assert fast < slow
    prior = sum(t for *_, t in plan.schedule(plan.STEPS, *plan.rates(None)[:2]))
    assert slow < prior  # a calibration twice as fast as the recipes shortens the plan


def test_list_says_the_noise_of_each_study_and_ends_with_the_total(tmp_path):
    r = run_plan("--list", "--results", str(tmp_path))
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0 and lines[-1].startswith("about ") and lines[-1].endswith(" minutes in all")
    assert (
        "recipe estimates" in r.stdout and "noise: resolve 2 points at ~65%: 3 seed(s), 10000 test images" in r.stdout
    )
    (tmp_path / "calibration").mkdir()
    (tmp_path / "calibration" / "calibration.json").write_text(json.dumps(_calibration({1: 1.0, 4: 2.0})))
    r2 = run_plan("--list", "--results", str(tmp_path))
    assert "calibration of today" in r2.stdout
    assert int(r2.stdout.split("about ")[-1].split()[0]) < int(lines[-1].split()[1])


def run_plan(*args, timeout=600):
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gpu_plan.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def test_every_step_runs_shrunk_to_the_cpu_and_comes_back_bundled(tmp_path, jpeg_root):
    results, out = tmp_path / "results", tmp_path / "out"
    weights = {p.name: p.read_bytes() for p in (ROOT / "sslcourse" / "weights").iterdir()}
    r = run_plan("--smoke", "--results", str(results), "--bundle", str(out), timeout=3600)  # the whole plan, shrunk
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    state = json.loads((results / "plan.json").read_text())
    assert {n: s["status"] for n, s in state["steps"].items()} == {s.name: "ok" for s in plan.STEPS}
    assert {"device", "command", "code_version", "torch"} <= set(state["provenance"])
    calibration = json.loads((results / "calibration" / "calibration.json").read_text())
    assert calibration["tiny"] and set(calibration["models"]) == {"simclr", "supervised", "mae"}
    assert [r["processes"] for r in calibration["side_by_side"]["rows"]] == [1, 2]
    assert plan.load_calibration(results) is None  # a tiny CPU calibration never sizes a GPU plan
    assert (results / "supervised" / "supervised_resnet18.json").is_file()
    assert {p.name: p.read_bytes() for p in (ROOT / "sslcourse" / "weights").iterdir()} == weights  # shipped elsewhere

    parts = sorted(out.glob("gpu_plan.tar.*"))
    assert parts and len(parts) + 1 <= 8 and all(p.stat().st_size <= 16 << 20 for p in parts)
    landed = tmp_path / "landed"
    r = run_plan("--land", str(out), "--results", str(landed))
    assert r.returncode == 0, r.stderr
    assert f"ship {landed / 'supervised' / 'run'} supervised_resnet18 --force" in r.stdout
    assert (landed / "supervised" / "run" / "model.safetensors").is_file()
    assert not list(landed.rglob("checkpoint.pt"))  # optimizer state stays behind
    r = run_plan("--land", str(out), "--results", str(landed))
    assert r.returncode == 2 and "not empty" in r.stderr  # nothing is overwritten


def test_the_budget_skips_what_does_not_fit_and_a_second_call_goes_on(tmp_path, jpeg_root):
    results = tmp_path / "results"
    r = run_plan("--smoke", "--results", str(results), "--only", "throughput,mae_cost", "--budget-s", "60")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "[throughput] needs ~70 s, 60 s left: skipped" in r.stdout
    assert json.loads((results / "plan.json").read_text())["steps"]["mae_cost"]["status"] == "ok"
    r = run_plan("--smoke", "--results", str(results), "--only", "mae_cost,airbench", "--budget-s", "600")
    assert "[mae_cost] done before" in r.stdout and "[airbench] ok" in r.stdout


def test_unknown_steps_are_refused_with_the_list():
    r = run_plan("--only", "supervised,nope", "--list")
    assert r.returncode == 2 and "unknown step(s) ['nope']" in r.stderr and "simclr_flagship" in r.stderr


def test_a_copy_without_git_runs_only_when_told_its_commit(monkeypatch, tmp_path, capsys):
    """A GPU machine gets a copy of the tree without .git: the plan refuses to run there until --code-version
    names the commit sent, so no GPU result lands without the code that made it."""
    from sslcourse import provenance

    monkeypatch.setenv("SSLCOURSE_CODE_VERSION", "")  # recorded, so that what main() sets is undone after the test
    monkeypatch.delenv("SSLCOURSE_CODE_VERSION")
    monkeypatch.setattr(provenance, "commit", lambda: ("sslcourse 0.1", None))
    assert plan.main(["--results", str(tmp_path), "--only", "mae_cost", "--budget-s", "1"]) == 2
    assert "--code-version" in capsys.readouterr().err and not (tmp_path / "plan.json").exists()
    monkeypatch.setattr(plan, "run_plan", lambda *a: {"steps": {}})  # past the check, nothing run
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

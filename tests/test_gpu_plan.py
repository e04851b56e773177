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
    if args[0] == "benchmarks/throughput.py":
        return _module(ROOT / "benchmarks" / "throughput.py", "throughput_bench").parser(), args[1:]
    raise AssertionError(f"no parser known for {args}")


@pytest.mark.parametrize("step", plan.STEPS, ids=lambda s: s.name)
def test_every_gpu_command_parses_and_uses_the_gpu(step):
    for command in step.gpu:
        args = shlex.split(command.format(step="runs/gpu_plan/" + step.name))
        assert args[0] == plan.PY
        parser, rest = _parser_for(args[1:])
        parsed = parser.parse_args(rest)  # argparse exits on an unknown or malformed option
        if hasattr(parsed, "device"):
            assert parsed.device == "cuda", command
    assert step.estimate_s <= 600 or step.resumable, "a call runs at most 10 minutes"
    assert all(n in plan.BY_NAME and plan.STEPS.index(plan.BY_NAME[n]) < plan.STEPS.index(step) for n in step.needs)


def run_plan(*args, timeout=600):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_plan.py"), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def test_every_step_runs_shrunk_to_the_cpu_and_comes_back_bundled(tmp_path, jpeg_root):
    results, out = tmp_path / "results", tmp_path / "out"
    weights = {p.name: p.read_bytes() for p in (ROOT / "sslcourse" / "weights").iterdir()}
    r = run_plan("--smoke", "--results", str(results), "--bundle", str(out))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    state = json.loads((results / "plan.json").read_text())
    assert {n: s["status"] for n, s in state["steps"].items()} == {s.name: "ok" for s in plan.STEPS}
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
    r = run_plan("--smoke", "--results", str(results), "--only", "throughput,mae_cost", "--budget-s", "100")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "[throughput] needs ~150 s, 100 s left: skipped" in r.stdout
    assert json.loads((results / "plan.json").read_text())["steps"]["mae_cost"]["status"] == "ok"
    r = run_plan("--smoke", "--results", str(results), "--only", "mae_cost,simclr_head", "--budget-s", "100")
    assert "[mae_cost] done before" in r.stdout and "[simclr_head] ok" in r.stdout


def test_unknown_steps_are_refused_with_the_list():
    r = run_plan("--only", "supervised,nope", "--list")
    assert r.returncode == 2 and "unknown step(s) ['nope']" in r.stderr and "simclr_flagship" in r.stderr

"""Shipped-weights registry and the command line, end to end on a tiny CPU run."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sslcourse import methods, pretrained
from sslcourse.instructor import course

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "sslcourse", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, jpeg_root):
    out = tmp_path_factory.mktemp("runs") / "sup"
    r = run_cli(
        "train",
        "supervised",
        "--subset",
        "200",
        "--epochs",
        "1",
        "--batch-size",
        "50",
        "--width",
        "0.125",
        "--device",
        "cpu",
        "--out",
        str(out),
        "--quiet",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return out


def test_train_writes_weights_card_and_checkpoint(tiny_run):
    card = json.loads((tiny_run / "card.json").read_text())
    assert (tiny_run / "model.safetensors").is_file() and (tiny_run / "checkpoint.pt").is_file()
    for field in (
        "method",
        "method_kwargs",
        "dataset",
        "epochs",
        "device",
        "trained_on",
        "wall_time_s",
        "metrics",
        "command",
        "code_version",
        "sha256",
    ):
        assert field in card, field
    assert card["trained_on"] == "CPU" and card["method"] == "supervised"
    assert card["command"].startswith("python -m sslcourse train supervised")
    assert {"knn_top1", "linear_top1", "test_top1"} <= set(card["metrics"])
    assert card["sha256"] == pretrained.sha256_file(tiny_run / "model.safetensors")


def test_settings_reach_the_method_and_its_card(tmp_path, jpeg_root):
    out = tmp_path / "sup_cutout"
    r = run_cli(
        "train",
        "supervised",
        "--subset",
        "200",
        "--epochs",
        "1",
        "--batch-size",
        "50",
        "--width",
        "0.125",
        "--device",
        "cpu",
        "--out",
        str(out),
        "--quiet",
        "--set",
        "augmentations=translate,flip,cutout",
        "--set",
        "label_smoothing=0.2",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    card = json.loads((out / "card.json").read_text())
    assert card["method_kwargs"] == {
        "arch": "resnet18",
        "width": 0.125,
        "label_smoothing": 0.2,
        "augmentations": ["translate", "flip", "cutout"],
    }
    assert "--set augmentations=translate,flip,cutout" in card["command"]
    assert {"test_top1", "test_top1_flip_tta"} <= set(card["metrics"])
    method = pretrained.load(out, device="cpu", full=True)  # rebuilt with the card's settings
    assert method.label_smoothing == 0.2 and [n for n, _ in method.augment.steps] == ["translate", "flip", "cutout"]


@pytest.mark.parametrize(
    "setting, message",
    [
        ("dropout=0.1", "not a setting of supervised with resnet18; valid keys: .*label_smoothing"),
        ("label_smoothing", "expected KEY=VALUE"),
    ],
)
def test_a_wrong_setting_is_refused_with_the_valid_keys(setting, message):
    r = run_cli(
        "train", "supervised", "--subset", "200", "--epochs", "1", "--device", "cpu", "--set", setting, timeout=120
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert re.search(message, r.stderr), r.stderr


def test_a_finished_run_is_not_overwritten_without_force(tiny_run):
    before = (tiny_run / "model.safetensors").read_bytes()
    r = run_cli(
        "train",
        "supervised",
        "--subset",
        "200",
        "--epochs",
        "1",
        "--batch-size",
        "50",
        "--width",
        "0.125",
        "--device",
        "cpu",
        "--out",
        str(tiny_run),
        "--quiet",
    )
    assert r.returncode == 2 and "--force" in r.stderr and "Traceback" not in r.stderr
    assert (tiny_run / "model.safetensors").read_bytes() == before


def test_load_round_trips_in_fp16(tiny_run):
    model = pretrained.load(tiny_run, device="cpu")
    full = pretrained.load(tiny_run, device="cpu", full=True)
    assert not model.training and full.backbone is not model  # separate loads
    x = torch.rand(4, 3, 32, 32)
    ckpt = torch.load(tiny_run / "checkpoint.pt", weights_only=False)
    reference = methods.build("supervised", width=0.125)
    reference.load_state_dict(ckpt["model"])
    reference.eval()
    with torch.no_grad():
        assert torch.allclose(model(x), reference(x), atol=0.05)  # fp16 storage, fp32 compute


def test_tampered_or_missing_weights_give_a_clear_error(tiny_run, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "card.json").write_text((tiny_run / "card.json").read_text())
    raw = bytearray((tiny_run / "model.safetensors").read_bytes())
    raw[-5] ^= 0xFF
    (copy / "model.safetensors").write_bytes(bytes(raw))
    with pytest.raises(pretrained.WeightsError, match="does not match its card.*retrain"):
        pretrained.load(copy)
    (copy / "model.safetensors").unlink()
    with pytest.raises(pretrained.WeightsError, match="missing"):
        pretrained.load(copy)
    with pytest.raises(pretrained.WeightsError, match="no weights called"):
        pretrained.load("no_such_model")
    with pytest.raises(pretrained.WeightsError, match="now called 'mae_vit'"):
        pretrained.load("mae_vit_tiny")  # the old name of an entry says the new one


def test_ship_never_overwrites_without_force(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "weights")
    card = json.loads((tiny_run / "card.json").read_text())
    for key in (
        "command",
        "code_version",
        "clean_tree",
        "seeds",
        "torch",
        "data_source",
        "data_sha256",
        "wall_time_s",
        "device",
        "architecture",
    ):
        assert key in card, key  # the provenance every card carries
    assert "/" not in card["data_source"]  # no path of the machine it ran on
    if card["code_version"].endswith("+dirty"):  # trained from a dirty tree: shipping it must be asked for
        with pytest.raises(pretrained.WeightsError, match="uncommitted"):
            pretrained.ship(tiny_run, "tiny")
    pretrained.ship(tiny_run, "tiny", allow_dirty=True)
    assert pretrained.available() == ["tiny"] and pretrained.card("tiny")["name"] == "tiny"
    with pytest.raises(FileExistsError, match="force"):
        pretrained.ship(tiny_run, "tiny", allow_dirty=True)
    assert pretrained.load("tiny").feature_dim > 0


def test_eval_and_list_commands(tiny_run):
    r = run_cli("eval", str(tiny_run), "--device", "cpu", "--subset", "200")
    assert r.returncode == 0, r.stderr[-2000:]
    metrics = json.loads(r.stdout.strip().splitlines()[-1])
    assert 0 <= metrics["knn_top1"] <= 100 and 0 <= metrics["linear_top1"] <= 100
    r = run_cli("list")
    assert r.returncode == 0 and "supervised" in r.stdout and "simclr" in r.stdout


def test_eval_refuses_an_existing_out_before_it_evaluates(tiny_run, tmp_path):
    mine = tmp_path / "mine.json"
    mine.write_text("my notes")
    r = run_cli("eval", str(tiny_run), "--device", "cpu", "--subset", "200", "--out", str(mine))
    assert r.returncode == 2 and "--force" in r.stderr and mine.read_text() == "my notes"
    assert "knn_top1" not in r.stdout  # refused up front: no minutes of evaluation thrown away


def test_cli_errors_are_one_line_not_tracebacks(tmp_path):
    r = run_cli("train", "byol", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "unknown method 'byol'" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("train", "supervised", "--device", "tpu", "--out", str(tmp_path / "y"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    existing = tmp_path / "cifar10.pack"
    existing.write_bytes(b"mine")
    r = run_cli("data", "pack", str(existing))
    assert r.returncode == 2 and existing.read_bytes() == b"mine"


def test_shipped_weights_verify_against_their_cards():
    for name in pretrained.available():
        card = pretrained.card(name)
        assert pretrained.sha256_file(pretrained.WEIGHTS_DIR / card["weights"]) == card["sha256"], name
        assert card["trained_on"] in ("GPU", "CPU") and card["command"].startswith("python -m sslcourse")
    total = sum(p.stat().st_size for p in pretrained.WEIGHTS_DIR.glob("*.safetensors"))
    assert total <= 32e6, f"shipped weights are {total / 1e6:.1f} MB, over the 32 MB budget"


def test_readme_course_map_follows_the_repository_setting():
    readme = (ROOT / "README.md").read_text()
    assert course.course_map_markdown() in readme
    assert readme.count("colab-badge.svg") >= len(course.NOTEBOOKS)
    assert course.repository_url() in course.colab_url("00_gelato_bet").replace(
        "colab.research.google.com/github/", "github.com/"
    ).replace("/blob/main/notebooks/00_gelato_bet.ipynb", "")


def test_readme_quick_start_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert "bash scripts/course.sh" in readme and "bash scripts/test.sh" in readme
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()

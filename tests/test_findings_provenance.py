"""Provenance: one record for every result and card, no machine path, and no shipped result from a dirty tree."""

import pytest
import torch

from sslcourse import provenance
from sslcourse.experiments import refuse_overwrite


def test_a_shipped_result_is_refused_from_a_dirty_tree(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(provenance, "commit", lambda: ("abc1234", False))
    shipped = provenance.PACKAGE / "results" / "simclr" / "new.json"
    with pytest.raises(provenance.DirtyTreeError, match="uncommitted"):
        provenance.require_clean(shipped)
    provenance.require_clean(shipped, allow_dirty=True)  # asked for
    provenance.require_clean(tmp_path / "mine.json")  # not shipped: fine
    assert refuse_overwrite(shipped, force=True) and "uncommitted" in capsys.readouterr().err
    monkeypatch.setattr(provenance, "commit", lambda: ("abc1234", True))
    provenance.require_clean(shipped)
    assert provenance.code_version() == "abc1234"


def test_the_record_names_everything_and_no_machine_path(monkeypatch):
    monkeypatch.setattr(
        provenance, "data_record", lambda: {"data_source": "the JPEG tree cifar10-jpeg", "data_sha256": "c2" * 32}
    )
    rec = provenance.record(torch.device("cpu"), "python -m sslcourse eval x", 12.34, seeds=[3])
    for key in (
        "computed_on",
        "device",
        "command",
        "code_version",
        "clean_tree",
        "seeds",
        "torch",
        "data_source",
        "data_sha256",
        "created",
        "wall_time_s",
    ):
        assert key in rec, key
    assert rec["seeds"] == [3] and rec["wall_time_s"] == 12.3 and rec["computed_on"] == "CPU"
    assert provenance.scale(rec) == "CPU" and "indicative only" in provenance.label(rec)
    assert provenance.scale({"computed_on": "GPU"}) == "GPU"
    assert provenance.scale({"computed_on": "GPU", "simulated": True}) == "simulated"
    assert provenance._source_kind("the JPEG tree /some/machine/path/cifar10-jpeg") == "the JPEG tree cifar10-jpeg"
    assert provenance._source_kind("the pack /a/b/../../data/cifar10.pack") == "the pack cifar10.pack"


def test_names_say_what_a_model_is():
    assert (
        provenance.architecture("mae", {"arch": "vit_tiny", "dim": 96, "depth": 4})
        == "ViT, width 96, depth 4 (ViT-Tiny: 192, 12)"
    )
    assert provenance.architecture("colorization", {"width": 0.25}) == "ResNet-18, width 0.25, grey (L) input"
    assert provenance.architecture("simclr", {"arch": "resnet18"}) == "ResNet-18, width 0.5, colour input"


def test_a_copy_without_git_is_not_called_dirty(monkeypatch):
    """A scratch copy (the GPU plan's smoke run) or a GPU machine without .git: unknown, not refused."""
    monkeypatch.setattr(provenance, "commit", lambda: ("sslcourse 0.1", None))
    provenance.require_clean(provenance.PACKAGE / "results" / "x.json")
    assert provenance.code_version() == "sslcourse 0.1"


def test_seeds_come_from_the_command():
    assert provenance.seeds_in("python -m sslcourse.experiments.mae sweep --seed 3 --out x.json") == [3]
    assert provenance.seeds_in("python -m x grid --seeds 0,1,2") == [0, 1, 2]
    assert provenance.seeds_in("python -m sslcourse eval random:resnet18") == [0]


def test_a_rewritten_shipped_output_is_not_uncommitted_code(tmp_path, monkeypatch):
    """Rerunning stand-ins one after another (scripts/cpu_standins.sh) rewrites shipped results and cards:
    those are outputs, not code, so the next run still names its commit as clean; a changed code file does not."""
    import subprocess

    monkeypatch.delenv("SSLCOURSE_CODE_VERSION", raising=False)  # it would stand in for git

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    for rel in ("sslcourse/train.py", "sslcourse/results/simclr/head.json", "sslcourse/weights/m.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("0")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    assert provenance.commit(tmp_path)[1] is True
    (tmp_path / "sslcourse/results/simclr/head.json").write_text("1")
    (tmp_path / "sslcourse/weights/m.json").write_text("1")
    assert provenance.commit(tmp_path)[1] is True
    (tmp_path / "sslcourse/train.py").write_text("1")
    assert provenance.commit(tmp_path)[1] is False

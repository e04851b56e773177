"""SimCLR: the loss, the heads, the augmentation pairs, and the studies' plumbing (tiny runs on the CPU)."""

import json
import math

import pytest
import torch
from torch._dynamo.utils import counters

from sslcourse import augment, methods
from sslcourse.experiments import simclr as experiments
from sslcourse.methods.simclr import HeadOutput, SimCLR, nt_xent_loss, pair_augmentation
from sslcourse.models import build_model


def test_loss_analytic_value_and_edge_cases():
    assert nt_xent_loss(torch.eye(2), torch.eye(2), 1.0).item() == pytest.approx(math.log(1 + 2 / math.e), abs=1e-6)
    z = torch.randn(1, 8)
    assert nt_xent_loss(z, z + 0.1, 0.5).item() == pytest.approx(0.0, abs=1e-6)  # one pair: no negative at all


def test_loss_ignores_lengths_and_the_order_of_pairs_and_of_views():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    loss = nt_xent_loss(z1, z2, 0.3)
    perm = torch.randperm(6, generator=g)
    assert nt_xent_loss(3 * z1, 0.1 * z2, 0.3).item() == pytest.approx(loss.item(), abs=1e-5)
    assert nt_xent_loss(z1[perm], z2[perm], 0.3).item() == pytest.approx(loss.item(), abs=1e-5)
    assert nt_xent_loss(z2, z1, 0.3).item() == pytest.approx(loss.item(), abs=1e-5)


def test_aligned_views_give_a_lower_loss_than_unrelated_ones():
    z = torch.randn(16, 8)
    assert nt_xent_loss(z, z + 0.01 * torch.randn(16, 8), 0.2) < nt_xent_loss(z, torch.randn(16, 8), 0.2)


@pytest.mark.parametrize("head, dim", [("mlp", 128), ("linear", 128), ("none", 64)])
def test_heads_and_features_after_the_head(head, dim):
    model = SimCLR(build_model("resnet18", width=0.125), head=head, hidden_dim=32).eval()
    x = torch.rand(3, 3, 16, 16)
    assert model(x).shape == (3, dim)
    assert model.backbone.forward_features(x).shape == (3, 64)
    through_head = HeadOutput(model)
    assert through_head.feature_dim == dim and through_head.forward_features(x).shape == (3, dim)
    with pytest.raises(ValueError, match="head must be one of"):
        SimCLR(build_model("resnet18", width=0.125), head="deep")


def test_the_registered_recipe_keeps_its_checkpoint_layout():
    model = methods.build("simclr", width=0.125)
    assert {"projector.0.weight", "projector.1.running_mean", "projector.3.bias"} <= set(model.state_dict())
    assert "color" in repr(model.augment)
    paired = methods.build("simclr", width=0.125, augmentations=["crop", "sobel"])
    assert repr(paired.augment) == "Augment(crop -> sobel)"


def test_pair_augmentation_is_one_op_on_the_diagonal():
    assert repr(pair_augmentation("crop", "crop")) == "Augment(crop)"
    assert repr(pair_augmentation("color", "crop")) == "Augment(color -> crop)"
    assert "scale" in repr(pair_augmentation("crop", "blur", crop=dict(scale=(0.5, 1.0)), noise={}))
    x = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    assert pair_augmentation("cutout", "rotate")(x, torch.Generator().manual_seed(0)).shape == (4, 3, 16, 16)


def test_a_short_run_trains_and_reports_through_on_log():
    scale = experiments.Scale(
        n_train=64, n_test=20, image_size=16, width=0.125, hidden_dim=32, batch_size=16, epochs=2, lr=0.1
    )
    x, y = torch.randint(0, 256, (64, 3, 16, 16), dtype=torch.uint8), torch.arange(64) % 10
    records = []
    model, result = experiments.short_run(pair_augmentation("crop", "color"), scale, (x, y), on_log=records.append)
    assert result.steps == 8 and records and records[-1]["step"] == 8 and model.training is False
    assert set(experiments.probe(model.backbone, (x, y), (x[:20], y[:20]))) == {"linear_top1", "knn_top1"}


def _grid(ordered):
    names = ["crop", "color"]
    pairs = [(a, b) for i, a in enumerate(names) for j, b in enumerate(names) if ordered or j >= i]
    return {
        "augmentations": names,
        "ordered": ordered,
        "computed_on": "CPU",
        "device": "cpu (2 threads)",
        "random_init": {"linear_top1": 20.0, "knn_top1": 15.0},
        "cells": [
            {"first": a, "second": b, "linear_top1": 10.0 * k, "knn_top1": 5.0 * k} for k, (a, b) in enumerate(pairs)
        ],
    }


def test_grid_matrix_reads_any_grid():
    assert experiments.grid_matrix(_grid(True)).tolist() == [[0.0, 10.0], [20.0, 30.0]]
    assert experiments.grid_matrix(_grid(False)).tolist() == [[0.0, 10.0], [10.0, 20.0]]  # mirrored
    partial = _grid(True)
    partial["cells"] = partial["cells"][:1]
    assert torch.isnan(experiments.grid_matrix(partial)[1, 1])


def test_plot_grid_says_where_the_numbers_come_from():
    import matplotlib

    matplotlib.use("Agg")
    ax = experiments.plot_grid(_grid(False))
    assert "short CPU run: indicative only" in ax.get_title()  # provenance.label's words
    gpu = {**_grid(True), "computed_on": "GPU", "device": "cuda (NVIDIA H100)"}
    assert "GPU run" in experiments.plot_grid(gpu, metric="knn_top1").get_title()


def test_the_command_line_writes_a_result_with_its_provenance(tmp_path, monkeypatch):
    scale = experiments.Scale(
        n_train=200, n_test=100, image_size=16, width=0.125, hidden_dim=32, batch_size=50, epochs=1, lr=0.1
    )
    monkeypatch.setitem(experiments.SCALES, "cpu", scale)
    out = tmp_path / "temperature.json"
    argv = ["temperature", "--temperatures", "0.5", "--device", "cpu", "--out", str(out)]
    assert experiments.main(argv) == 0
    result = json.loads(out.read_text())
    assert result["computed_on"] == "CPU" and result["scale"] == "cpu" and result["settings"]["n_train"] == 200
    assert {"command", "code_version", "created", "wall_time_s", "torch", "device"} <= set(result)
    assert [r["temperature"] for r in result["runs"]] == [0.5] and result["runs"][0]["steps"] == 4
    assert experiments.main(argv) == 2  # never overwrites without --force


def test_a_grid_cut_off_resumes_where_it_stopped(tmp_path, monkeypatch):
    scale = experiments.Scale(
        n_train=200, n_test=100, image_size=16, width=0.125, hidden_dim=32, batch_size=50, epochs=0.5, lr=0.1
    )
    monkeypatch.setitem(experiments.SCALES, "cpu", scale)
    out = tmp_path / "grid.json"
    argv = ["grid", "--augs", "crop,sobel", "--unordered", "--device", "cpu", "--out", str(out)]
    assert experiments.main(argv) == 0
    full = json.loads(out.read_text())
    assert full["complete"] and [(c["first"], c["second"]) for c in full["cells"]] == [
        ("crop", "crop"),
        ("crop", "sobel"),
        ("sobel", "sobel"),
    ]
    out.write_text(json.dumps({**full, "cells": full["cells"][:1], "complete": False}))  # as if cut off
    assert experiments.main(argv + ["--resume"]) == 0
    resumed = json.loads(out.read_text())
    assert resumed["complete"] and resumed["cells"][0] == full["cells"][0] and len(resumed["cells"]) == 3
    monkeypatch.setitem(experiments.SCALES, "cpu", experiments.replace(scale, lr=0.2))
    assert experiments.main(argv + ["--resume"]) == 2  # other settings: refuses to mix them


def test_shipped_results_are_labelled():
    for name in ("augmentation_grid", "temperature", "head"):
        result = experiments.load_result(name)
        assert result["computed_on"] in ("CPU", "GPU") and result["command"].startswith("python -m sslcourse")
        assert result["random_init"]["linear_top1"] > 0


def test_the_loss_runs_in_full_precision_under_bf16_autocast():
    """Under autocast a matmul runs in bf16 even on fp32 inputs; the model must compute any loss outside it."""
    seen = {}

    def spy_loss(z1, z2, temperature):
        seen.update(dtype=z1.dtype, autocast=torch.is_autocast_enabled("cpu"))
        return nt_xent_loss(z1, z2, temperature)

    torch.manual_seed(0)
    model = SimCLR(build_model("resnet18", width=0.125), hidden_dim=32, loss_fn=spy_loss)
    x = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model.training_loss(x, None, torch.Generator().manual_seed(0))
    assert seen == {"dtype": torch.float32, "autocast": False} and loss.dtype == torch.float32


def test_compiled_training_traces_the_model_once_and_leaves_augmentation_eager():
    """Random draws from a Generator cannot be traced: augmentation must stay out of the compiled graphs, or
    torch.compile recompiles at every step until it gives up and runs everything eagerly."""
    torch._dynamo.reset()
    counters.clear()
    torch.manual_seed(0)
    model = SimCLR(build_model("resnet18", width=0.125), hidden_dim=32)
    run = torch.compile(model.training_loss, backend="eager")  # dynamo's tracing alone, no code generation
    x, gen = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8), torch.Generator().manual_seed(0)
    run(x, None, gen).backward()
    graphs = counters["stats"]["unique_graphs"]
    for _ in range(4):
        run(x, None, gen).backward()
    assert graphs >= 1 and counters["stats"]["unique_graphs"] == graphs


def test_one_branch_leaves_the_other_view_the_identity():
    torch.manual_seed(0)
    seen = []

    def spy(aug):
        def call(x, generator):
            out = aug(x, generator)
            seen.append(out)
            return out

        return call

    x = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    model = SimCLR(
        build_model("resnet18", width=0.125),
        hidden_dim=32,
        augmentation=spy(pair_augmentation("crop", "color")),
        second_view=spy(augment.compose([])),
    )
    model.training_loss(x, None, torch.Generator().manual_seed(0))
    assert torch.equal(seen[1], x.float() / 255) and not torch.equal(seen[0], seen[1])


def test_the_one_branch_grid_and_the_colour_sweep_run_tiny_and_say_their_protocol(tmp_path, monkeypatch):
    scale = experiments.Scale(
        n_train=200, n_test=100, image_size=16, width=0.125, hidden_dim=32, batch_size=50, epochs=0.5, lr=0.1
    )
    monkeypatch.setitem(experiments.SCALES, "cpu", scale)
    grid = tmp_path / "grid.json"
    assert experiments.main(["grid", "--augs", "crop,color", "--device", "cpu", "--out", str(grid)]) == 0
    result = json.loads(grid.read_text())
    assert result["protocol"] == "one_branch" and result["ordered"] and len(result["cells"]) == 4
    assert [(c["first"], c["second"]) for c in result["cells"]][1:3] == [("crop", "color"), ("color", "crop")]
    argv = ["grid", "--augs", "crop,color", "--protocol", "symmetric", "--device", "cpu", "--out", str(grid)]
    assert experiments.main(argv + ["--resume"]) == 2  # a grid of one protocol is never completed with another
    old = {k: v for k, v in result.items() if k != "protocol"}  # a file of the old protocol stays readable
    assert experiments.grid_matrix(old).shape == (2, 2)
    import matplotlib

    matplotlib.use("Agg")
    assert "old protocol" in experiments.plot_grid(old).get_title()

    colour = tmp_path / "colour.json"
    argv = ["colour", "--strengths", "1+blur", "--seeds", "0,1", "--device", "cpu", "--out", str(colour)]
    assert experiments.main(argv) == 0
    result = json.loads(colour.read_text())
    assert [s["strength"] for s in result["strengths"]] == ["1+blur"]
    assert [r["seed"] for r in result["strengths"][0]["runs"]] == [0, 1] and result["strengths"][0][
        "linear_top1_sd"
    ] >= 0
    assert "blur" in repr(experiments.colour_augmentation("1+blur", 16))
    with pytest.raises(ValueError, match="colour strengths are numbers"):
        experiments.colour_strength(scale, ("strong",))

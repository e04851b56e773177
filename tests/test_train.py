import math

import pytest
import torch
import torch.nn.functional as F

from sslcourse import methods
from sslcourse.train import TrainConfig, TrainingDiverged, lr_factor, train


def toy_data(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g), torch.arange(n) % 10


def small_supervised(**kw):
    torch.manual_seed(0)
    return methods.build("supervised", width=0.125, **kw)


def test_lr_schedule_warms_up_then_decays_to_zero():
    xs = [i / 100 for i in range(101)]
    ys = [lr_factor(x, warmup=0.1) for x in xs]
    assert ys[0] < 0.05 and max(ys) == pytest.approx(1.0, abs=1e-6)
    assert all(a <= b + 1e-12 for a, b in zip(ys[:10], ys[1:11]))  # rising during warm-up
    assert all(a >= b - 1e-12 for a, b in zip(ys[10:], ys[11:]))  # falling afterwards
    assert ys[-1] == pytest.approx(0.0, abs=1e-9)


def test_training_is_deterministic_on_cpu_for_a_seed():
    x, y = toy_data()
    cfg = TrainConfig(epochs=2, batch_size=32, lr=0.05, seed=3)
    a, b = small_supervised(), small_supervised()
    ra = train(a, x, y, cfg, device="cpu", progress=False)
    train(b, x, y, cfg, device="cpu", progress=False)
    for (k, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), k
    assert ra.steps == 6 and ra.stopped_by == "epochs" and math.isfinite(ra.final_loss)


def test_resume_continues_exactly_where_an_interrupted_run_stopped(tmp_path):
    x, y = toy_data()
    cfg = TrainConfig(epochs=3, batch_size=32, lr=0.05, nan_check_every=2)
    whole = small_supervised()
    train(whole, x, y, cfg, device="cpu", progress=False)

    class Interrupt(Exception):
        pass

    interrupted = small_supervised()
    calls = {"n": 0}
    inner = interrupted.training_loss

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 6:  # dies in step 6; the last checkpoint holds step 4
            raise Interrupt
        return inner(*args)

    interrupted.training_loss = flaky
    ckpt = tmp_path / "run.pt"
    with pytest.raises(Interrupt):
        train(interrupted, x, y, cfg, device="cpu", checkpoint=ckpt, progress=False, checkpoint_every_s=0)
    assert torch.load(ckpt, weights_only=False)["step"] == 4

    resumed = small_supervised()
    result = train(resumed, x, y, cfg, device="cpu", checkpoint=ckpt, resume=True, progress=False)
    assert result.steps == 9
    for (k, pa), pb in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(pa.float(), pb.float(), atol=1e-6), k


def test_existing_checkpoint_is_never_overwritten_silently(tmp_path):
    x, y = toy_data()
    ckpt = tmp_path / "run.pt"
    ckpt.write_bytes(b"someone's checkpoint")
    with pytest.raises(FileExistsError, match="resume=True"):
        train(small_supervised(), x, y, TrainConfig(epochs=1, batch_size=32), device="cpu", checkpoint=ckpt)
    assert ckpt.read_bytes() == b"someone's checkpoint"


def test_nan_guard_stops_with_a_clear_message():
    def nan_loss(logits, y, label_smoothing=0.0):
        return F.cross_entropy(logits, y) * float("nan")

    x, y = toy_data()
    method = small_supervised()
    method.loss_fn = nan_loss
    with pytest.raises(TrainingDiverged, match="loss became nan.*learning rate"):
        train(method, x, y, TrainConfig(epochs=1, batch_size=32, nan_check_every=1), device="cpu", progress=False)


def test_a_plugged_in_loss_is_the_one_trained_with():
    seen = []

    def my_loss(logits, y, label_smoothing=0.0):
        seen.append(logits.shape)
        return F.cross_entropy(logits, y)

    x, y = toy_data()
    method = small_supervised()
    method.loss_fn = my_loss
    train(method, x, y, TrainConfig(epochs=1, batch_size=32), device="cpu", progress=False)
    assert seen == [torch.Size([32, 10])] * 3


def test_wall_clock_budget_stops_cleanly():
    x, y = toy_data(n=320)
    result = train(
        small_supervised(), x, y, TrainConfig(epochs=100, minutes=0.01, batch_size=32), device="cpu", progress=False
    )
    assert result.stopped_by == "time" and 0 < result.steps < 1000
    assert result.seconds < 5


def test_bad_inputs_are_explained():
    x, y = toy_data()
    with pytest.raises(ValueError, match="uint8"):
        train(small_supervised(), x.float(), y, device="cpu")
    with pytest.raises(ValueError, match="larger than the dataset"):
        train(small_supervised(), x, y, TrainConfig(batch_size=1000), device="cpu")
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="lion")
    with pytest.raises(ValueError, match="unknown method 'byol'"):
        methods.build("byol")


def test_the_compiled_step_trains_with_its_augmentation_inside_the_graph_and_a_tensor_rate():
    """cfg.compile: the whole step compiled, random draws from the default generator, the rate a tensor,
    so a new rate at every step does not recompile (a few graphs in all, not one a step)."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    x, y = toy_data(n=64)
    method = small_supervised()
    result = train(
        method,
        x,
        y,
        TrainConfig(epochs=2, batch_size=16, lr=0.05, compile=True, nan_check_every=2),
        device="cpu",
        progress=False,
    )
    assert result.steps == 8 and math.isfinite(result.final_loss)
    assert counters["stats"]["unique_graphs"] <= 6, dict(counters["stats"])  # fwd+loss, optimizer step, ...
    assert not [r for r in counters["graph_break"] if "augment" in r.lower() or "generator" in r.lower()]


def test_resume_loads_checkpoints_as_data_only(tmp_path):
    """weights_only=True: a checkpoint holding anything but tensors and plain containers is refused."""
    x, y = toy_data()
    ckpt = tmp_path / "run.pt"
    train(small_supervised(), x, y, TrainConfig(epochs=1, batch_size=32), device="cpu", checkpoint=ckpt, progress=False)
    state = torch.load(ckpt, weights_only=True)  # what resume reads loads as data
    state["history"] = [object()]  # not data
    torch.save(state, ckpt)
    with pytest.raises(Exception, match="[Ww]eights only|weights_only"):
        train(
            small_supervised(),
            x,
            y,
            TrainConfig(epochs=2, batch_size=32),
            device="cpu",
            checkpoint=ckpt,
            resume=True,
            progress=False,
        )


def test_train_checks_its_out_folder_before_training(tmp_path, capsys):
    from sslcourse.cli import main

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert main(["train", "supervised", "--device", "cpu", "--subset", "100", "--out", str(blocker / "run")]) == 2
    assert "cannot write into" in capsys.readouterr().err
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "checkpoint.pt").write_bytes(b"a run in progress")
    assert main(["train", "supervised", "--device", "cpu", "--subset", "100", "--out", str(unfinished)]) == 2
    assert "unfinished run" in capsys.readouterr().err
    assert (unfinished / "checkpoint.pt").read_bytes() == b"a run in progress"

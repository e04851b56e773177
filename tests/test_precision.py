"""Mixed precision, one rule for training and evaluation (`sslcourse.device.precision_for`), and no float64 in a
training step (Apple's MPS has none).

No GPU here: the rule is checked for every device and compute capability it distinguishes, and each of its
branches (bf16, fp16 with a gradient scaler, fp32) is forced onto the CPU, where autocast supports all three,
for one short training step of a course method."""

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from sslcourse import device as dev
from sslcourse import evaluate, methods, train
from sslcourse.train import TrainConfig, make_step, setup


@pytest.mark.parametrize(
    "device, capability, expected",
    [
        ("cpu", None, dev.FP32),
        ("mps", None, dev.FP32),  # Apple: plain float32 (and never float64)
        ("cuda", (7, 5), dev.FP16),  # Colab's free T4: no bf16 units
        ("cuda", (7, 0), dev.FP16),  # V100
        ("cuda", (8, 0), dev.BF16),  # A100
        ("cuda", (9, 0), dev.BF16),  # H100, H200
    ],
)
def test_the_rule_picks_bf16_only_where_the_gpu_has_it(device, capability, expected):
    precision = dev.precision_for(device, capability)
    assert precision == expected
    assert precision.scale_gradients == (precision.dtype == torch.float16)  # fp16, and only fp16, scales


def test_training_and_evaluation_share_the_rule(monkeypatch):
    assert train.precision_for is dev.precision_for and evaluate.precision_for is dev.precision_for
    # A T4 as evaluation sees it: its autocast is fp16, the training loop's choice there too.
    monkeypatch.setattr(evaluate, "precision_for", lambda device: dev.FP16)
    assert evaluate._autocast(torch.device("cpu")).fast_dtype == torch.float16


class Float64Watch(TorchDispatchMode):
    """Records every operation that makes a float64 tensor."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        outs = out if isinstance(out, (tuple, list)) else (out,)
        if any(torch.is_tensor(o) and o.dtype == torch.float64 for o in outs):
            self.seen.append(str(func))
        return out


def _one_step(method, precision, batch=8, size=32):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (2 * batch, 3, size, size), dtype=torch.uint8, generator=g)
    labels = torch.arange(2 * batch) % 10
    cfg = TrainConfig(epochs=1, batch_size=batch, lr=0.01)
    run = setup(method, images, labels, cfg, torch.device("cpu"), None, False, precision)
    step = make_step(run)
    method.train()
    return run, step, run.x[:batch], run.y[:batch]


@pytest.mark.parametrize("precision", [dev.FP32, dev.BF16, dev.FP16], ids=lambda p: p.name)
def test_one_training_step_in_each_branch(precision):
    torch.manual_seed(0)
    method = methods.build("supervised", width=0.125)
    run, step, x, y = _one_step(method, precision)
    seen = []
    conv = next(m for m in method.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    before = [p.detach().clone() for p in method.parameters()]
    with Float64Watch() as watch:
        loss = step(x, y, 0.01)
    assert torch.isfinite(loss) and loss.dtype == torch.float32
    assert seen == [precision.dtype or torch.float32]  # the convolution ran in the branch's dtype
    assert all(p.dtype == torch.float32 for p in method.parameters())  # the weights themselves stay float32
    assert any(not torch.equal(a, b) for a, b in zip(before, method.parameters())), "the step changed nothing"
    assert run.scaler.is_enabled() == precision.scale_gradients
    if precision.scale_gradients:
        assert run.scaler.get_scale() > 1  # the loss was scaled before backward
        assert "grad_scaler" in run.snapshot(0.0)  # and the scale is kept with a checkpoint
    # torch's GradScaler computes 1 / scale in float64 itself; fp16 is chosen on CUDA only, never on MPS.
    allowed = {"aten._to_copy.default", "aten.reciprocal.default"} if precision.scale_gradients else set()
    assert set(watch.seen) <= allowed, f"float64 in a training step: {watch.seen[:5]}"


def test_train_reports_the_precision_it_used():
    torch.manual_seed(0)
    images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    result = train.train(
        methods.build("supervised", width=0.125),
        images,
        torch.arange(16) % 10,
        TrainConfig(epochs=1, batch_size=8),
        device="cpu",
        progress=False,
        precision=dev.FP16,
    )
    assert result.precision == "fp16" and result.steps == 2
    assert train.train(
        methods.build("supervised", width=0.125),
        images,
        torch.arange(16) % 10,
        TrainConfig(epochs=0.5, batch_size=8),
        device="cpu",
        progress=False,
    ).precision == ("fp32")


def test_few_label_finetuning_scales_fp16_gradients(monkeypatch):
    monkeypatch.setattr(evaluate, "precision_for", lambda device: dev.FP16)
    torch.manual_seed(0)
    backbone = methods.build("supervised", width=0.125).backbone
    images = torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(40) % 10
    out = evaluate.few_label_finetune(backbone, images, labels, images[:20], labels[:20], per_class=2, steps=2)
    assert 0 <= out["few_label_top1"] <= 100


@pytest.mark.parametrize("name", ["supervised", "context", "colorization", "simclr", "mae"])
def test_no_float64_reaches_a_training_step(name):
    """Apple's MPS has no float64: a method whose step makes one fails there. Checked on the CPU, step by op."""
    torch.manual_seed(0)
    kwargs = {"mae": {"dim": 32, "depth": 1, "heads": 2, "decoder_dim": 16, "decoder_depth": 1, "decoder_heads": 2}}
    method = methods.build(name, **kwargs.get(name, {"width": 0.125}))
    _, step, x, y = _one_step(method, dev.FP32)
    with Float64Watch() as watch:
        loss = step(x, y, 0.01)
    assert torch.isfinite(loss)
    assert watch.seen == [], f"{name}: float64 in a training step: {sorted(set(watch.seen))[:5]}"

"""Tests of sslcourse.augment: equality with torchvision's definitions, parameter distributions,
reproducibility, and that every op keeps shape, dtype, device and range and never edits its input."""

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF

from sslcourse import augment as A

NAMES = list(A.AUGMENTATIONS)
NO_CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
DEVICES = ["cpu", pytest.param("cuda", marks=NO_CUDA)]


def gen(seed=0, device="cpu"):
    return torch.Generator(device=device).manual_seed(seed)


def images(n=8, size=32, seed=0, channels=3):
    """Random images with some quantised rows, so that ties between channels (grey pixels) occur."""
    x = torch.rand(n, channels, size, size, generator=gen(seed))
    x[:, :, : size // 4] = (x[:, :, : size // 4] * 4).round() / 4
    return x


def assert_rate(flags, p, n_std=5):
    """The fraction of set flags is p within n_std binomial standard deviations."""
    n = flags.numel()
    assert abs(flags.float().mean().item() - p) < n_std * math.sqrt(p * (1 - p) / n)


def assert_uniform_mean(values, low, high, n_std=5):
    assert values.min() >= low and values.max() <= high
    std_of_mean = (high - low) / math.sqrt(12 * values.numel())
    assert abs(values.mean().item() - (low + high) / 2) < n_std * std_of_mean


# --- equality with torchvision and with plain definitions -----------------------------------


def test_to_float():
    x = torch.tensor([0, 51, 255], dtype=torch.uint8)
    assert torch.equal(A.to_float(x), torch.tensor([0.0, 0.2, 1.0]))


@pytest.mark.parametrize("size", [32, 16, 48])
def test_resized_crop_equals_torchvision(size):
    x = images(8)
    boxes = torch.tensor(
        [
            [0, 0, 32, 32],
            [3, 5, 10, 20],
            [0, 31, 32, 1],
            [7, 2, 1, 30],
            [10, 10, 5, 5],
            [20, 3, 12, 29],
            [31, 31, 1, 1],
            [0, 0, 32, 32],
        ]
    )
    boxes[-1] = A.sample_crop_params(1, gen(3), 32, 32)[0]
    ours = A.resized_crop(x, boxes, size)
    for img, box, out in zip(x, boxes, ours):
        ref = TF.resized_crop(img, *box.tolist(), [size, size], antialias=False)
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)


def test_resized_crop_non_square_output():
    x = images(2)
    out = A.resized_crop(x, torch.tensor([[0, 0, 32, 32], [4, 4, 20, 10]]), (16, 24))
    ref = TF.resized_crop(x[1], 4, 4, 20, 10, [16, 24], antialias=False)
    assert out.shape == (2, 3, 16, 24)
    torch.testing.assert_close(out[1], ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("op", ["brightness", "contrast", "saturation", "hue"])
def test_color_ops_equal_torchvision(op):
    x = images(6)
    factors = [-0.5, -0.3, 0.0, 0.1, 0.25, 0.5] if op == "hue" else [0.0, 0.5, 0.9, 1.0, 1.3, 2.0]
    factors = torch.tensor(factors)
    ours = getattr(A, "adjust_" + op)(x, factors)
    for img, f, out in zip(x, factors, ours):
        torch.testing.assert_close(out, getattr(TF, "adjust_" + op)(img, f.item()), atol=1e-5, rtol=0)


def test_color_jitter_applies_the_four_ops_in_order():
    x = images(4)
    factors, _ = A.sample_color_jitter_params(4, gen(1))
    for img, (b, c, s, h), out in zip(x, factors.tolist(), A.color_jitter(x, factors)):
        ref = TF.adjust_hue(TF.adjust_saturation(TF.adjust_contrast(TF.adjust_brightness(img, b), c), s), h)
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)


def test_grayscale_equals_torchvision():
    x = images(3)
    ref = torch.stack([TF.rgb_to_grayscale(img, num_output_channels=3) for img in x])
    torch.testing.assert_close(A.to_grayscale(x), ref, atol=1e-6, rtol=0)


@pytest.mark.parametrize("kernel_size", [3, 5])
def test_gaussian_blur_equals_torchvision(kernel_size):
    x = images(5)
    sigmas = torch.tensor([0.1, 0.5, 1.0, 1.5, 2.0])
    for img, sigma, out in zip(x, sigmas.tolist(), A.gaussian_blur(x, sigmas, kernel_size)):
        ref = TF.gaussian_blur(img, [kernel_size, kernel_size], [sigma, sigma])
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)


def test_blur_kernel_size():
    assert [A.blur_kernel_size(s) for s in (32, 64, 96, 224)] == [3, 7, 11, 23]


def test_translate_equals_slicing_a_padded_image():
    x = images(16)
    offsets = A.sample_translate_params(16, gen(2))
    padded = F.pad(x, (4, 4, 4, 4), mode="reflect")
    out = A.translate(x, offsets)
    for i, (r, c) in enumerate(offsets.tolist()):
        assert torch.equal(out[i], padded[i, :, r : r + 32, c : c + 32])
    assert offsets.unique(dim=0).shape[0] > 8  # the images moved differently


def test_rotate_equals_rot90_with_the_sampled_turns():
    x = images(12)
    turns = A.sample_rotation_params(12, gen(4))
    out = A.rotate90(x, turns)
    for img, k, o in zip(x, turns.tolist(), out):
        assert torch.equal(o, torch.rot90(img, k, dims=(1, 2)))
    assert torch.equal(A.random_rotate(x, gen(4)), out)


def test_rotate_rejects_non_square_images():
    with pytest.raises(ValueError, match=r"\(2, 3, 8, 12\)"):
        A.random_rotate(torch.rand(2, 3, 8, 12), gen())


def test_sobel_flat_image_is_zero_and_step_edge_is_maximal_on_the_edge():
    flat = torch.full((1, 3, 16, 16), 0.4)
    assert torch.equal(A.sobel(flat), torch.zeros_like(flat))
    step = torch.zeros(1, 3, 16, 16)
    step[..., 8:] = 1.0
    out = A.sobel(step)
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 0], out[:, 2])
    assert torch.all(out[..., 7:9] == 1) and torch.all(out[..., :7] == 0) and torch.all(out[..., 9:] == 0)
    assert torch.equal(A.random_sobel(step, gen()), out)


def test_cutout_zeroes_exactly_one_square():
    x = 0.1 + 0.9 * images(3)  # no zeros of its own
    centres = torch.tensor([[16, 16], [10, 20], [0, 31]])
    out = A.cutout(x, centres, side=16)
    zeros = (out == 0).all(dim=1)
    for i, (r, c) in enumerate(centres.tolist()):
        expected = torch.zeros(32, 32, dtype=torch.bool)
        expected[max(0, r - 8) : r + 8, max(0, c - 8) : c + 8] = True
        assert torch.equal(zeros[i], expected)
        assert torch.equal(out[i][:, ~expected], x[i][:, ~expected])
    assert zeros[0].sum() == 16 * 16 and zeros[2].sum() == 8 * 9  # the last one clipped at a corner
    assert torch.equal(A.cutout(x, centres, side=4, fill=0.5)[0, :, 14:18, 14:18], torch.full((3, 4, 4), 0.5))


def test_noise_has_the_sampled_std():
    stds, noise = A.sample_noise_params(64, gen(5), (3, 64, 64))
    assert stds.min() >= 0 and stds.max() <= 0.1
    torch.testing.assert_close(noise.std(dim=(1, 2, 3)), stds, atol=0.005, rtol=0.05)
    out = A.add_noise(torch.full((64, 3, 64, 64), 0.5), noise)
    assert out.min() >= 0 and out.max() <= 1


# --- random ops are their sampled parameters applied ----------------------------------------


@pytest.mark.parametrize(
    "name, sample, apply",
    [
        ("flip", lambda g, x: A.sample_flip_params(len(x), g), A.hflip),
        ("color_drop", lambda g, x: A.sample_color_drop_params(len(x), g), A.color_drop),
        ("translate", lambda g, x: A.sample_translate_params(len(x), g), A.translate),
        ("crop", lambda g, x: A.sample_crop_params(len(x), g, 32, 32), lambda x, b: A.resized_crop(x, b, 32)),
    ],
)
def test_random_op_is_sample_then_apply(name, sample, apply):
    x = images(32)
    assert torch.equal(A.AUGMENTATIONS[name](x, gen(6)), apply(x, sample(gen(6), x)))


def test_color_jitter_leaves_unselected_images_untouched():
    x = images(64)
    factors, applied = A.sample_color_jitter_params(64, gen(7))
    out = A.random_color_jitter(x, gen(7))
    assert 0 < applied.sum() < 64
    assert torch.equal(out[~applied], x[~applied])
    torch.testing.assert_close(out[applied], A.color_jitter(x, factors)[applied], atol=0, rtol=0)


def test_blur_leaves_unselected_images_untouched():
    x = images(32)
    sigmas, applied = A.sample_blur_params(32, gen(8))
    out = A.random_blur(x, gen(8))
    assert 0 < applied.sum() < 32
    assert torch.equal(out[~applied], x[~applied])
    assert torch.equal(out[applied], A.gaussian_blur(x, sigmas, 3)[applied])


# --- parameter distributions ----------------------------------------------------------------

N = 20_000


def test_crop_boxes_lie_inside_the_image_with_area_and_ratio_in_range():
    top, left, h, w = A.sample_crop_params(N, gen(9), 1000, 1000, scale=(0.2, 1.0)).T
    assert top.min() >= 0 and left.min() >= 0 and h.min() >= 1 and w.min() >= 1
    assert (top + h).max() <= 1000 and (left + w).max() <= 1000
    area = (h * w).float() / 1000**2
    assert area.min() > 0.2 - 0.002 and area.max() <= 1.0
    ratio = w.float() / h.float()
    in_range = (ratio > 3 / 4 - 0.01) & (ratio < 4 / 3 + 0.01)
    assert in_range.float().mean() > 0.9  # only boxes clamped to the image leave the range
    assert ((h < 1000) & (w < 1000) & ~in_range).sum() == 0
    assert ratio.min() < 0.76 and ratio.max() > 1.32  # the whole range is used
    assert top.unique().numel() > 500 and left.unique().numel() > 500


def test_crop_position_is_uniform_over_the_places_the_box_fits():
    top, left, h, w = A.sample_crop_params(N, gen(10), 32, 32, scale=(0.25, 0.25), ratio=(1, 1)).T
    assert torch.all(h == 16) and torch.all(w == 16)
    for position in (top, left):
        counts = torch.bincount(position, minlength=17)
        assert counts.numel() == 17  # 0..16, all used, none beyond
        assert (counts.float() - N / 17).abs().max() < 5 * math.sqrt(N / 17)


def test_jitter_factors_and_application_rate():
    factors, applied = A.sample_color_jitter_params(N, gen(11), 0.4, 0.3, 0.2, 0.1, p=0.8)
    for column, s in zip(factors.T[:3], (0.4, 0.3, 0.2)):
        assert_uniform_mean(column, 1 - s, 1 + s)
    assert_uniform_mean(factors[:, 3], -0.1, 0.1)
    assert_rate(applied, 0.8)


@pytest.mark.parametrize(
    "sample, p",
    [
        (lambda g: A.sample_flip_params(N, g), 0.5),
        (lambda g: A.sample_color_drop_params(N, g), 0.2),
        (lambda g: A.sample_blur_params(N, g)[1], 0.5),
    ],
)
def test_application_rates(sample, p):
    assert_rate(sample(gen(12)), p)


def test_rotation_classes_are_uniform():
    turns = A.sample_rotation_params(N, gen(13))
    assert set(turns.unique().tolist()) == {1, 2, 3}
    for k in (1, 2, 3):
        assert_rate(turns == k, 1 / 3)


def test_blur_sigmas_noise_stds_translate_offsets_and_cutout_centres():
    assert_uniform_mean(A.sample_blur_params(N, gen(14))[0], 0.1, 2.0)
    assert_uniform_mean(A.sample_noise_params(N, gen(15), (1, 1, 1))[0], 0.0, 0.1)
    offsets = A.sample_translate_params(N, gen(16))
    assert offsets.min() == 0 and offsets.max() == 8
    assert_uniform_mean(offsets.float(), 0, 8)
    centres = A.sample_cutout_params(N, gen(17), 32, 24)
    assert centres[:, 0].max() == 31 and centres[:, 1].max() == 23 and centres.min() == 0


def test_every_image_gets_its_own_parameters():
    boxes = A.sample_crop_params(256, gen(18), 1000, 1000)
    assert boxes.unique(dim=0).shape[0] == 256
    factors, _ = A.sample_color_jitter_params(256, gen(18))
    assert all(column.unique().numel() == 256 for column in factors.T)
    assert A.sample_blur_params(256, gen(18))[0].unique().numel() == 256
    assert A.sample_noise_params(256, gen(18), (3, 2, 2))[0].unique().numel() == 256


# --- every op: reproducible, shape/dtype/range/device kept, input untouched --------------------


@pytest.mark.parametrize("name", NAMES)
def test_op_is_reproducible_and_keeps_its_input(name):
    x = images(32)
    before = x.clone()
    op = A.AUGMENTATIONS[name]
    out = op(x, gen(19))
    assert torch.equal(x, before)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.min() >= 0 and out.max() <= 1
    assert torch.equal(op(x, gen(19)), out)
    assert name == "sobel" or not torch.equal(op(x, gen(20)), out)
    assert not torch.equal(out, x)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", NAMES)
def test_op_keeps_half_precision(name, dtype):
    x = images(4).to(dtype)
    out = A.AUGMENTATIONS[name](x, gen())
    assert out.dtype == dtype and out.shape == x.shape
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", NAMES)
def test_op_works_on_one_channel_images(name):
    x = images(4, channels=1)
    out = A.AUGMENTATIONS[name](x, gen())
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1


def test_ops_accept_no_generator():
    x = images(4)
    torch.manual_seed(0)  # None draws from torch's default CPU generator
    assert A.compose(NAMES)(x, None).shape == x.shape


@pytest.mark.filterwarnings("ignore:Synchronization debug mode")
@pytest.mark.parametrize("device", DEVICES)
def test_pipeline_on_device(device):
    x = images(16).to(device)
    pipeline = A.compose(NAMES)
    if device == "cuda":
        torch.cuda.set_sync_debug_mode("error")  # any host-device sync inside the ops raises
    try:
        out = pipeline(x, gen(21, device))
        again = pipeline(x, gen(21, device))
    finally:
        if device == "cuda":
            torch.cuda.set_sync_debug_mode("default")
    assert out.device == x.device and torch.equal(out, again)
    assert not torch.equal(out, pipeline(x, gen(22, device)))


# --- composition ----------------------------------------------------------------------------


def test_every_pair_of_names_composes():
    x = images(4)
    before = x.clone()
    for pair in itertools.product(NAMES, repeat=2):
        out = A.compose(pair)(x, gen())
        assert out.shape == x.shape and out.dtype == x.dtype, pair
        assert out.min() >= 0 and out.max() <= 1, pair
    assert torch.equal(x, before)


def test_compose_accepts_uint8_and_overrides():
    x8 = (images(4) * 255).to(torch.uint8)
    augment = A.compose(["crop", "flip"], crop=dict(size=16, scale=(0.5, 1.0)))
    out = augment(x8, gen())
    assert out.shape == (4, 3, 16, 16) and out.dtype == torch.float32
    assert repr(augment) == "Augment(crop(size=16, scale=(0.5, 1.0)) -> flip)"


def test_compose_rejects_unknown_names_listing_the_valid_ones():
    with pytest.raises(ValueError) as error:
        A.compose(["crop", "jigsaw"])
    assert "jigsaw" in str(error.value) and all(name in str(error.value) for name in NAMES)
    with pytest.raises(ValueError, match="not in the pipeline"):
        A.compose(["flip"], crop=dict(size=16))


def test_pipelines():
    x = images(16)
    simclr = A.simclr_pipeline()
    assert "crop" in repr(simclr) and "color" in repr(simclr)
    g = gen(23)
    view1, view2 = simclr(x, g), simclr(x, g)  # two views of the same images differ
    assert view1.shape == x.shape and not torch.equal(view1, view2)
    assert A.simclr_pipeline(size=24)(x, g).shape == (16, 3, 24, 24)
    supervised = A.supervised_pipeline()
    assert repr(supervised) == "Augment(translate -> flip)"
    assert supervised(x, g).shape == x.shape


def test_a_pipeline_without_a_generator_compiles_into_one_graph_and_imports_dynamo_lazily():
    """generator=None draws from x's device default generator: torch.compile traces the whole chain
    (fullgraph=True fails on any graph break), and seeding the default generator repeats it."""
    import subprocess
    import sys

    pipeline = A.simclr_pipeline()
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    compiled = torch.compile(lambda batch: pipeline(batch, None), fullgraph=True)
    out = compiled(x)
    assert out.shape == (4, 3, 32, 32) and out.dtype == torch.float32 and 0 <= out.min() and out.max() <= 1
    torch.manual_seed(5)
    a = pipeline(x, None)
    torch.manual_seed(5)
    assert torch.equal(a, pipeline(x, None))
    code = "import sys, sslcourse.augment; print('torch._dynamo' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"  # `python -m sslcourse list` does not pay for it


@pytest.mark.parametrize("module", ["geometric", "color", "filters", "pipeline"])
def test_the_package_exports_every_operation_of_its_modules(module):
    """`from sslcourse.augment import X` is the one import path: an op added to a module must be re-exported."""
    import importlib
    import inspect

    mod = importlib.import_module(f"sslcourse.augment.{module}")
    own = {n for n, v in vars(mod).items() if not n.startswith("_") and getattr(v, "__module__", None) == mod.__name__}
    own |= {"AUGMENTATIONS"} if module == "pipeline" else set()
    assert own and own <= set(A.__all__), f"{sorted(own - set(A.__all__))} missing from sslcourse/augment/__init__.py"
    assert all(getattr(A, n) is getattr(mod, n) for n in own)
    assert all(inspect.getdoc(getattr(mod, n)) for n in own if callable(getattr(mod, n)))  # every op says what it does

"""The backbones: sizes, shapes, input checks, mixed precision, and the pieces MAE relies on."""

import pytest
import torch
from torch import nn

from sslcourse.data import MEAN
from sslcourse.models import MODELS, ResNet, ViT, build_model, count_parameters, resnet18, vit_tiny
from sslcourse.models.resnet import BasicBlock
from sslcourse.models.vit import sincos_pos_embed_2d

ARCHS = sorted(MODELS)


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {arch: build_model(arch).eval() for arch in ARCHS}


def images(b=2, size=32, seed=0):
    return torch.rand(b, 3, size, size, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- sizes and shapes
def test_parameter_counts(models):
    assert 2.7e6 <= count_parameters(models["resnet18"]) <= 2.9e6
    n_vit = count_parameters(models["vit_tiny"])
    assert 2.6e6 <= n_vit <= 2.8e6
    assert 2 * n_vit / 1e6 < 5.7  # fp16 weights in MB


def test_count_parameters_trainable_only():
    layer = nn.Linear(3, 2)  # 6 weights + 2 biases
    assert count_parameters(layer) == 8
    layer.bias.requires_grad_(False)
    assert count_parameters(layer, trainable_only=True) == 6


@pytest.mark.parametrize("arch, dim", [("resnet18", 256), ("vit_tiny", 192)])
def test_output_shapes(models, arch, dim):
    model, x = models[arch], images(3)
    assert model.feature_dim == dim
    assert model.forward_features(x).shape == (3, dim)
    assert model(x).shape == (3, dim)  # num_classes = 0: the head is the identity
    with_head = build_model(arch, num_classes=10).eval()
    h = with_head.forward_features(x)
    assert with_head.forward_head(h).shape == (3, 10)
    assert torch.allclose(with_head(x), with_head.forward_head(h))


def test_resnet_maps_and_stages(models):
    model, x = models["resnet18"], images()
    stages = model.forward_stages(x)
    assert [tuple(s.shape) for s in stages] == [(2, 32, 32, 32), (2, 64, 16, 16), (2, 128, 8, 8), (2, 256, 4, 4)]
    maps = model.forward_feature_maps(x)
    assert maps.shape == (2, 256, 4, 4)
    assert torch.allclose(model.forward_features(x), maps.mean(dim=(2, 3)))


def test_resnet_width():
    assert resnet18(width=1.0).feature_dim == 512
    assert resnet18(width=0.25).feature_dim == 128
    tiny = resnet18(width=0.01)  # every stage clamped to at least 8 channels
    assert tiny.stem[0].out_channels == 8 and tiny.feature_dim == 8
    with pytest.raises(ValueError, match="width"):
        resnet18(width=0)


def test_resnet_zero_init_last_bn(models):
    blocks = [m for m in models["resnet18"].modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 8
    assert all(torch.all(b.bn2.weight == 0) for b in blocks)
    assert all(torch.all(b.bn1.weight == 1) for b in blocks)


@pytest.mark.parametrize("arch", ARCHS)
def test_normalisation_is_inside_and_not_saved(models, arch):
    model = models[arch]
    mean_image = torch.tensor(MEAN).view(1, 3, 1, 1).expand(1, 3, 32, 32)
    assert torch.allclose(model.normalize(mean_image), torch.zeros(1, 3, 32, 32), atol=1e-6)
    keys = model.state_dict().keys()
    assert not any(k.startswith("normalize.") for k in keys)
    assert "pos_embed" not in keys


def test_backward_reaches_every_parameter():
    torch.manual_seed(0)
    for model in (resnet18(width=0.125, num_classes=10), vit_tiny(dim=32, depth=2, heads=2, num_classes=10)):
        model(images()).logsumexp(1).sum().backward()
        # zero-init BN gammas block the gradient of the conv before them at step 0, but not their own
        assert all(p.grad is not None for p in model.parameters())


# --------------------------------------------------------------------------- ViT pieces for MAE
def test_vit_embed_and_tokens(models):
    model, x = models["vit_tiny"], images()
    tokens = model.embed(x)
    assert tokens.shape == (2, 64, 192)
    out = model.forward_tokens(tokens)
    assert out.shape == (2, 65, 192)
    assert torch.allclose(model.forward_features(x), out[:, 0])
    assert isinstance(model.blocks, nn.ModuleList) and len(model.blocks) == 6
    assert model.patch_embed.kernel_size == (4, 4) and model.patch_embed.stride == (4, 4)
    assert model.cls_token.shape == (1, 1, 192)


def test_vit_forward_tokens_accepts_a_subset(models):
    model, x = models["vit_tiny"], images()
    tokens = model.embed(x)
    keep = torch.randperm(64, generator=torch.Generator().manual_seed(0))[:16]  # MAE keeps 25%
    out = model.forward_tokens(tokens[:, keep])
    assert out.shape == (2, 17, 192)
    # attention has no notion of order: shuffling the kept tokens shuffles the outputs alike
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(1))
    out_perm = model.forward_tokens(tokens[:, keep[perm]])
    assert torch.allclose(out_perm[:, 1:], out[:, 1:][:, perm], atol=1e-5)
    with pytest.raises(ValueError, match=r"\(2, 16, 100\)"):
        model.forward_tokens(torch.zeros(2, 16, 100))


def test_vit_pos_embed_is_fixed_sincos(models):
    model = models["vit_tiny"]
    assert model.pos_embed.shape == (1, 64, 192)
    assert not any(p is model.pos_embed for p in model.parameters())  # a buffer, not learned
    assert torch.equal(model.pos_embed[0], sincos_pos_embed_2d(192, 8))
    pe = model.pos_embed[0]
    assert pe.abs().max() <= 1
    assert torch.cdist(pe, pe).add(torch.eye(64)).min() > 0.1  # every position is distinct
    with pytest.raises(ValueError, match="divisible by 4"):
        sincos_pos_embed_2d(30, 8)


# --------------------------------------------------------------------------- precision and layout
@pytest.mark.parametrize("arch", ARCHS)
def test_channels_last_and_bf16_autocast(arch):
    torch.manual_seed(0)
    model = build_model(arch).eval()
    x = images(4)
    reference = model.forward_features(x)
    model = model.to(memory_format=torch.channels_last)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        h = model.forward_features(x.to(memory_format=torch.channels_last))
    assert h.shape == reference.shape and torch.isfinite(h).all()
    assert torch.cosine_similarity(h.float(), reference, dim=1).min() > 0.98


# --------------------------------------------------------------------------- clear errors
@pytest.mark.parametrize("arch", ARCHS)
def test_wrong_inputs_give_clear_errors(models, arch):
    model = models[arch]
    with pytest.raises(ValueError, match=r"\(3, 32, 32\)"):
        model(torch.rand(3, 32, 32))  # a single image, no batch dimension
    with pytest.raises(ValueError, match=r"\(2, 1, 32, 32\)"):
        model(torch.rand(2, 1, 32, 32))  # grey-scale
    with pytest.raises(TypeError, match="/ 255"):
        model(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(TypeError, match="int64"):
        model(torch.zeros(2, 3, 32, 32, dtype=torch.int64))


def test_vit_wrong_sizes(models):
    model = models["vit_tiny"]
    with pytest.raises(ValueError, match=r"not divisible by the patch size 4.*\(2, 3, 30, 30\)"):
        model(torch.rand(2, 3, 30, 30))
    with pytest.raises(ValueError, match=r"expected images \(B, 3, 32, 32\).*\(2, 3, 64, 64\)"):
        model(torch.rand(2, 3, 64, 64))
    with pytest.raises(ValueError, match="heads"):
        vit_tiny(dim=64, heads=3)


# --------------------------------------------------------------------------- construction
@pytest.mark.parametrize("arch", ARCHS)
def test_deterministic_init(arch):
    def state(seed):
        torch.manual_seed(seed)
        return build_model(arch).state_dict()

    a, b, c = state(0), state(0), state(1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_build_model():
    assert isinstance(build_model("resnet18", width=0.25), ResNet)
    assert build_model("resnet18", width=0.25).feature_dim == 128
    assert isinstance(build_model("vit_tiny", depth=2), ViT)
    with pytest.raises(ValueError, match="resnet18, vit_tiny") as err:
        build_model("resnet50")
    assert "'resnet50'" in str(err.value)
    with pytest.raises(TypeError):
        build_model("resnet18", depth=3)  # a keyword the constructor lacks

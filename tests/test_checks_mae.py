"""The MAE checkers: right answers in any style pass; each typical mistake fails with a hint naming it."""

import pytest
import torch
import torch.nn.functional as F

from sslcourse.checks import mae as checks
from sslcourse.methods import mae as ref


def passes(check, fn, capsys=None):
    result = check(fn)
    assert result.passed, result.details
    assert result.score == result.max_score
    return result


def fails_with(check, fn, expected):
    result = check(fn)
    assert not result.passed and result.score < result.max_score
    assert expected in result.message, result.message
    assert "\n" not in result.message
    return result


# --------------------------------------------------------------------------- patchify
def patchify_unfold(images, patch):
    """F.unfold gives (C, p, p) order inside a patch: reorder to (p, p, C)."""
    B, C = images.shape[:2]
    cols = F.unfold(images, patch, stride=patch)  # (B, C*p*p, L)
    return cols.view(B, C, patch, patch, -1).permute(0, 4, 2, 3, 1).reshape(B, cols.shape[-1], -1)


def patchify_loops(images, patch):
    B, C, H, W = images.shape
    out = []
    for b in range(B):
        patches = []
        for i in range(0, H, patch):
            for j in range(0, W, patch):
                patches.append(images[b, :, i : i + patch, j : j + patch].permute(1, 2, 0).flatten())
        out.append(torch.stack(patches))
    return torch.stack(out)


def patchify_einops_style(images, patch):
    x = images.permute(0, 2, 3, 1)  # (B, H, W, C)
    B, H, W, C = x.shape
    x = x.reshape(B, H // patch, patch, W // patch, patch, C).transpose(2, 3)  # (B, h, w, p, p, C)
    return x.reshape(B, -1, patch * patch * C)


@pytest.mark.parametrize("fn", [ref.patchify, patchify_unfold, patchify_loops, patchify_einops_style])
def test_patchify_right_answers_pass(fn):
    passes(checks.check_patchify, fn)


def channels_first(images, patch):
    B, C = images.shape[:2]
    return F.unfold(images, patch, stride=patch).transpose(1, 2)


def columns_first(images, patch):
    B, C, H, W = images.shape
    x = images.reshape(B, C, H // patch, patch, W // patch, patch).permute(0, 4, 2, 3, 5, 1)
    return x.reshape(B, -1, patch * patch * C)


def columns_first_inside(images, patch):
    B, C, H, W = images.shape
    x = images.reshape(B, C, H // patch, patch, W // patch, patch).permute(0, 2, 4, 5, 3, 1)
    return x.reshape(B, -1, patch * patch * C)


def reshape_only(images, patch):
    B, C, H, W = images.shape
    return images.reshape(B, (H // patch) * (W // patch), -1)


def square_only(images, patch):
    B, C, H, W = images.shape
    g = H // patch
    x = images.reshape(B, C, g, patch, g, patch).permute(0, 2, 4, 3, 5, 1)  # breaks when H != W
    return x.reshape(B, g * g, -1)


@pytest.mark.parametrize(
    "fn, expected",
    [
        (channels_first, "channel by channel"),
        (columns_first, "column by column (down the first column first)"),
        (columns_first_inside, "inside each patch the pixels come out column by column"),
        (reshape_only, "a reshape alone cannot cut squares"),
        (square_only, "non-square"),
    ],
)
def test_patchify_mistakes_fail_with_a_hint(fn, expected):
    fails_with(checks.check_patchify, fn, expected)


# --------------------------------------------------------------------------- unpatchify
def unpatchify_fold(patches, patch, channels=3):
    B, L, _ = patches.shape
    side = int(L**0.5) * patch
    cols = patches.reshape(B, L, patch, patch, channels).permute(0, 4, 2, 3, 1).reshape(B, -1, L)
    return F.fold(cols, (side, side), patch, stride=patch)


def unpatchify_loops(patches, patch, channels=3):
    B, L, _ = patches.shape
    g = round(L**0.5)
    out = torch.zeros(B, channels, g * patch, g * patch, dtype=patches.dtype)
    for b in range(B):
        for k in range(L):
            i, j = divmod(k, g)
            out[b, :, i * patch : (i + 1) * patch, j * patch : (j + 1) * patch] = (
                patches[b, k].reshape(patch, patch, channels).permute(2, 0, 1)
            )
    return out


@pytest.mark.parametrize("fn", [ref.unpatchify, unpatchify_fold, unpatchify_loops])
def test_unpatchify_right_answers_pass(fn):
    passes(checks.check_unpatchify, fn)


def unpatchify_channels_first(patches, patch, channels=3):
    B, L, _ = patches.shape
    return F.fold(patches.transpose(1, 2), (round(L**0.5) * patch,) * 2, patch, stride=patch)


def unpatchify_transposed(patches, patch, channels=3):
    return ref.unpatchify(patches, patch, channels).transpose(2, 3)


def unpatchify_reshape(patches, patch, channels=3):
    B, L, P = patches.shape
    side = round(L**0.5) * patch
    return patches.reshape(B, channels, side, side)


def unpatchify_ignores_channels(patches, patch, channels=3):
    return ref.unpatchify(patches, patch, 3)


@pytest.mark.parametrize(
    "fn, expected",
    [
        (unpatchify_channels_first, "channel by channel"),
        (unpatchify_transposed, "transposed"),
        (unpatchify_reshape, "it only reshapes"),
        (unpatchify_ignores_channels, "raised ValueError"),
    ],
)
def test_unpatchify_mistakes_fail_with_a_hint(fn, expected):
    fails_with(checks.check_unpatchify, fn, expected)


# --------------------------------------------------------------------------- random_masking
def masking_randperm(tokens, mask_ratio, generator):
    """A loop over samples with randperm; visible kept in the original order (also satisfies the contract)."""
    B, L, D = tokens.shape
    K = int(L * (1 - mask_ratio))
    visible, masks, restores = [], [], []
    for b in range(B):
        perm = torch.randperm(L, generator=generator)
        keep = perm[:K].sort().values
        removed = perm[K:]
        mask = torch.ones(L)
        mask[keep] = 0
        order = torch.cat([keep, removed])  # position in cat(visible, holes) -> original position
        restore = torch.empty(L, dtype=torch.long)
        restore[order] = torch.arange(L)
        visible.append(tokens[b, keep])
        masks.append(mask)
        restores.append(restore)
    return torch.stack(visible), torch.stack(masks), torch.stack(restores)


def masking_topk_bool(tokens, mask_ratio, generator):
    """topk of noise, a boolean mask, scatter for the inverse permutation."""
    B, L, D = tokens.shape
    K = int(L * (1 - mask_ratio))
    noise = torch.rand(B, L, generator=generator)
    order = noise.topk(L, dim=1).indices  # descending noise: keep the K largest
    restore = torch.empty_like(order).scatter_(1, order, torch.arange(L).expand(B, L))
    visible = torch.take_along_dim(tokens, order[:, :K, None], dim=1)
    mask = restore >= K
    return visible, mask, restore


@pytest.mark.parametrize("fn", [ref.random_masking, masking_randperm, masking_topk_bool])
def test_random_masking_right_answers_pass(fn):
    passes(checks.check_random_masking, fn)


def _masking(
    K_rule=lambda L, r: int(L * (1 - r)),
    shared=False,
    invert=False,
    return_shuffle=False,
    global_rng=False,
    fixed_seed=False,
):
    def fn(tokens, mask_ratio, generator):
        B, L, D = tokens.shape
        K = K_rule(L, mask_ratio)
        if fixed_seed:
            generator = torch.Generator().manual_seed(0)
        noise = torch.rand(1 if shared else B, L, generator=None if global_rng else generator).expand(B, L)
        shuffle = noise.argsort(1)
        restore = shuffle.argsort(1)
        visible = tokens.gather(1, shuffle[:, :K, None].expand(B, K, D))
        mask = torch.ones(B, L)
        mask[:, :K] = 0
        mask = mask.gather(1, restore)
        return visible, (1 - mask) if invert else mask, shuffle if return_shuffle else restore

    return fn


@pytest.mark.parametrize(
    "fn, expected",
    [
        (_masking(shared=True), "same hidden positions"),
        (_masking(invert=True), "the mask is inverted"),
        (_masking(return_shuffle=True), "not its inverse"),
        (_masking(K_rule=lambda L, r: round(L * (1 - r))), "rounded to the nearest whole number"),
        (_masking(K_rule=lambda L, r: L - int(L * r)), "removes int(L * mask_ratio) tokens"),
        (_masking(K_rule=lambda L, r: int(L * r)), "as many tokens as it should remove"),
        (_masking(global_rng=True), "seeded alike gave different results"),
        (_masking(fixed_seed=True), "different seeds gave the same mask"),
    ],
)
def test_random_masking_mistakes_fail_with_a_hint(fn, expected):
    fails_with(checks.check_random_masking, fn, expected)


def test_masking_cases_avoid_float_edges():
    """L * (1 - ratio) is never within float error of a whole number unless it is exactly one."""
    for case in checks._masking_cases(ref.random_masking):
        inputs = case.inputs()
        v = inputs["tokens"].shape[1] * (1 - inputs["mask_ratio"])
        assert v == round(v) or abs(v - round(v)) > 1e-6, case.name


# --------------------------------------------------------------------------- masked_mse_loss
def loss_population_var(pred, target, mask, norm_pix=True):
    if norm_pix:
        target = (target - target.mean(-1, keepdim=True)) / torch.sqrt(
            target.var(-1, unbiased=False, keepdim=True) + 1e-6
        )
    return (F.mse_loss(pred, target, reduction="none").mean(-1) * mask).sum() / mask.sum()


def loss_boolean_index(pred, target, mask, norm_pix=True):
    """Select the hidden patches, then an ordinary mean."""
    hidden = mask.bool()
    p, t = pred[hidden], target[hidden]  # (M, P)
    if norm_pix:
        t = (t - t.mean(1, keepdim=True)) / (t.std(1, keepdim=True) ** 2 + 1e-6) ** 0.5
    return ((p - t) ** 2).mean()


def loss_loops(pred, target, mask, norm_pix=True):
    total, count = 0.0, 0
    for b in range(pred.shape[0]):
        for i in range(pred.shape[1]):
            if mask[b, i] == 1:
                t = target[b, i]
                if norm_pix:
                    t = (t - t.mean()) / (t.var() + 1e-6) ** 0.5
                total = total + ((pred[b, i] - t) ** 2).mean()
                count += 1
    return total / count


@pytest.mark.parametrize("fn", [ref.masked_mse_loss, loss_population_var, loss_boolean_index, loss_loops])
def test_masked_mse_loss_right_answers_pass(fn):
    passes(checks.check_masked_mse_loss, fn)


def _wrong(**kw):
    def fn(pred, target, mask, norm_pix=True):
        return checks._loss(pred, target, mask, norm_pix, **kw).float()

    return fn


def all_patches(pred, target, mask, norm_pix=True):
    if norm_pix:
        target = (target - target.mean(-1, keepdim=True)) / (target.var(-1, keepdim=True) + 1e-6) ** 0.5
    return ((pred - target) ** 2).mean()


def in_place_normalisation(pred, target, mask, norm_pix=True):
    if norm_pix:
        target -= target.mean(-1, keepdim=True)
        target /= (target.var(-1, keepdim=True) + 1e-6) ** 0.5
    return ref.masked_mse_loss(pred, target, mask, norm_pix=False)


def keeps_dims(pred, target, mask, norm_pix=True):
    return ref.masked_mse_loss(pred, target, mask, norm_pix).reshape(1)


@pytest.mark.parametrize(
    "fn, expected",
    [
        (all_patches, "averages the error over every patch"),
        (_wrong(average="visible"), "averages over the visible patches"),
        (_wrong(average="all_count"), "divides by the number of all patches"),
        (_wrong(average="sum"), "sums the errors of the masked patches"),
        (_wrong(per="sum"), "sums the squared errors over each patch's values"),
        (_wrong(norm="both"), "normalises the prediction as well"),
        (_wrong(norm="pred"), "normalises the prediction instead"),
        (_wrong(norm="image"), "normalises each image as a whole"),
        (_wrong(norm="never"), "never normalises the target"),
        (_wrong(norm="always"), "even when norm_pix is False"),
        (_wrong(eps=0.0), "without the eps"),
        (in_place_normalisation, "changed its input target in place"),
        (keeps_dims, "a loss is a scalar"),
    ],
)
def test_masked_mse_loss_mistakes_fail_with_a_hint(fn, expected):
    fails_with(checks.check_masked_mse_loss, fn, expected)


# --------------------------------------------------------------------------- all four
@pytest.mark.parametrize(
    "check, name",
    [
        (checks.check_patchify, "patchify"),
        (checks.check_unpatchify, "unpatchify"),
        (checks.check_random_masking, "random_masking"),
        (checks.check_masked_mse_loss, "masked_mse_loss"),
    ],
)
def test_stubs_are_calm_and_crashes_are_verdicts(check, name):
    def stub(*args):
        raise NotImplementedError

    def crash(*args):
        return args[0] @ args[0]

    assert "not implemented yet" in check(stub).message
    result = check(crash)
    assert not result.passed and "raised RuntimeError" in result.message


def test_hints_do_not_give_the_answer_away():
    for check, fn in [
        (checks.check_patchify, channels_first),
        (checks.check_random_masking, _masking(shared=True)),
        (checks.check_masked_mse_loss, all_patches),
        (checks.check_unpatchify, unpatchify_reshape),
    ]:
        message = check(fn).message
        for giveaway in ("permute(", "argsort(", "gather(", ".var(", "mask.sum()"):
            assert giveaway not in message, message


def _first_k(tokens, mask_ratio, generator):  # not random at all: the first K tokens of every sample
    B, L, _ = tokens.shape
    K = int(L * (1 - mask_ratio))
    mask = torch.cat([torch.zeros(B, K), torch.ones(B, L - K)], 1)
    return tokens[:, :K].clone(), mask, torch.arange(L).expand(B, L).clone()


@pytest.mark.parametrize(
    "check, fn",
    [
        (
            checks.check_patchify,
            lambda x, p: torch.zeros(x.shape[0], (x.shape[2] // p) * (x.shape[3] // p), p * p * x.shape[1]),
        ),
        (
            checks.check_unpatchify,
            lambda x, p, channels=3: torch.zeros(
                x.shape[0], channels, int(x.shape[1] ** 0.5) * p, int(x.shape[1] ** 0.5) * p
            ),
        ),
        (checks.check_random_masking, _first_k),
        (checks.check_masked_mse_loss, lambda pred, target, mask, norm_pix=True: (pred * 0).sum()),
    ],
)
def test_a_degenerate_answer_earns_nothing(check, fn):
    """Keeping the first tokens is right when nothing is removed or for one sample; a zero loss is right when the
    prediction is right on the hidden patches: such cases count only beside a right value."""
    result = check(fn)
    assert not result.passed and result.score == 0, result

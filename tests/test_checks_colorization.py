"""The colorization checkers: right answers in any style pass; each typical mistake fails with a hint naming it."""

import pytest
import torch
import torch.nn.functional as F

from sslcourse.checks import colorization as checks
from sslcourse.methods import colorization as ref


def passes(check, fn):
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


# --------------------------------------------------------------------------- soft_encode
def soft_encode_loops(ab, centers, k=5, sigma=5.0):
    out = torch.zeros(len(ab), len(centers))
    for i, colour in enumerate(ab):
        d2 = ((centers - colour) ** 2).sum(dim=1)
        order = d2.argsort()[:k]
        w = torch.exp(-(d2[order] - d2[order].min()) / (2 * sigma**2))
        out[i, order] = w / w.sum()
    return out


def soft_encode_softmax(ab, centers, k=5, sigma=5.0):
    d2 = torch.cdist(ab, centers).pow(2)
    idx = d2.argsort(dim=1)[:, :k]
    w = torch.softmax(-d2.gather(1, idx) / (2 * sigma**2), dim=1)
    return torch.zeros_like(d2).scatter(1, idx, w)


def soft_naive(ab, centers, k=5, sigma=5.0):  # the paper's formula as written (no shift): right on real colours
    d2 = torch.cdist(ab, centers).pow(2)
    near, idx = d2.topk(k, largest=False)
    w = torch.exp(-near / (2 * sigma**2))
    return torch.zeros_like(d2).scatter(1, idx, w / w.sum(1, keepdim=True))


@pytest.mark.parametrize("fn", [ref.soft_encode, soft_encode_loops, soft_encode_softmax, soft_naive])
def test_soft_encode_right_answers_pass(fn):
    passes(checks.check_soft_encode, fn)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda ab, c, k=5, s=5.0: checks._soft(ab, c, k, s, normalise=False), "need normalising"),
        (lambda ab, c, k=5, s=5.0: checks._soft(ab, c, k, s, all_bins=True), "every bin"),
        (lambda ab, c, k=5, s=5.0: checks._soft(ab, c, k, s, denom=1.0), "2 sigma^2"),
        (lambda ab, c, k=5, s=5.0: checks._soft(ab, c, k, s, exponent=1), "not its square"),
        (lambda ab, c, k=5, s=5.0: checks._soft(ab, c, k, s, equal=True), "same weight"),
        (lambda ab, c, k=5, s=5.0: checks._soft(ab, c, 1, s), "one-hot"),
        (lambda ab, c, k=5, s=5.0: checks._soft(ab, c, 5, s), "ignores the `k`"),
        (lambda ab, c, k=5, s=5.0: checks._soft(ab, c, k, 5.0), "ignores the `sigma`"),
    ],
)
def test_soft_encode_mistakes_are_named(wrong, hint):
    fails_with(checks.check_soft_encode, wrong, hint)


# --------------------------------------------------------------------------- rebalance_weights
def rebalance_numpy_style(prior, lam=0.5):
    Q = prior.numel()
    w = ((1 - lam) * prior + lam / Q).reciprocal()
    return w / torch.dot(prior, w)


@pytest.mark.parametrize("fn", [ref.rebalance_weights, rebalance_numpy_style])
def test_rebalance_weights_right_answers_pass(fn):
    passes(checks.check_rebalance_weights, fn)


@pytest.mark.parametrize(
    "how, hint",
    [
        (dict(norm="sum"), "sum 1"),
        (dict(norm="mean"), "mean 1"),
        (dict(norm="none"), "not normalised"),
        (dict(swap=True), "wrong term"),
        (dict(invert=False), "inverse"),
        (dict(fixed_lam=0.5), "ignores the `lam`"),
    ],
)
def test_rebalance_weights_mistakes_are_named(how, hint):
    fails_with(checks.check_rebalance_weights, lambda p, lam=0.5: checks._rebal(p, lam, **how), hint)


# --------------------------------------------------------------------------- annealed_mean
def annealed_logsumexp(probs, centers, T=0.38):
    logits = torch.log(probs) / T
    w = torch.exp(logits - torch.logsumexp(logits, dim=1, keepdim=True))
    return w @ centers


def annealed_naive(probs, centers, T=0.38):
    w = probs ** (1 / T)
    return (w / w.sum(1, keepdim=True)) @ centers


@pytest.mark.parametrize("fn", [ref.annealed_mean, annealed_logsumexp])
def test_annealed_mean_right_answers_pass(fn):
    passes(checks.check_annealed_mean, fn)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda p, c, T=0.38: checks._anneal(p, c, T, "inverse"), "wrong way round"),
        (lambda p, c, T=0.38: checks._anneal(p, c, T, "softmax_probs"), "softmax of the probabilities"),
        (lambda p, c, T=0.38: checks._anneal(p, c, T, "unnormalised"), "renormalise"),
        (lambda p, c, T=0.38: checks._anneal(p, c, T, fixed_T=1.0), "no effect"),
        (lambda p, c, T=0.38: checks._anneal(p, c, T, "mode"), "mode"),
        (annealed_naive, "underflows"),
    ],
)
def test_annealed_mean_mistakes_are_named(wrong, hint):
    fails_with(checks.check_annealed_mean, wrong, hint)


# --------------------------------------------------------------------------- rebalanced_cross_entropy
def ce_with_loops(logits, target, class_weights):
    total = 0.0
    for z, t in zip(logits, target):
        total = total + class_weights[t.argmax()] * -(t * F.log_softmax(z, dim=0)).sum()
    return total / len(logits)


def ce_with_kl_style(logits, target, class_weights):
    per_pixel = -(target * (logits - logits.logsumexp(1, keepdim=True))).sum(1)
    return (per_pixel * class_weights[target.max(1).indices]).sum() / logits.shape[0]


@pytest.mark.parametrize("fn", [ref.rebalanced_cross_entropy, ce_with_loops, ce_with_kl_style])
def test_rebalanced_cross_entropy_right_answers_pass(fn):
    passes(checks.check_rebalanced_cross_entropy, fn)


def ce_naive_log(logits, target, class_weights):
    per_pixel = -(target * torch.softmax(logits, 1).log()).sum(1)
    return (class_weights[target.argmax(1)] * per_pixel).mean()


@pytest.mark.parametrize(
    "how, hint",
    [
        (dict(weight_by="pred"), "network predicts"),
        (dict(weight_by="none"), "not applied"),
        (dict(reduce="sum"), "sums over the pixels"),
        (dict(reduce="weighted_mean"), "sum of the weights"),
        (dict(per_bin=True), "every bin of the target"),
        (dict(hard=True), "hard label"),
        (dict(raw=True), "log of the logits"),
    ],
)
def test_rebalanced_cross_entropy_mistakes_are_named(how, hint):
    fails_with(checks.check_rebalanced_cross_entropy, lambda lg, t, w: checks._ce(lg, t, w, **how), hint)


def test_rebalanced_cross_entropy_sign_and_instability_are_named():
    fails_with(checks.check_rebalanced_cross_entropy, lambda lg, t, w: -ref.rebalanced_cross_entropy(lg, t, w), "sign")
    fails_with(checks.check_rebalanced_cross_entropy, ce_naive_log, "log-softmax")


# --------------------------------------------------------------------------- never raising
@pytest.mark.parametrize(
    "check",
    [
        checks.check_soft_encode,
        checks.check_rebalance_weights,
        checks.check_annealed_mean,
        checks.check_rebalanced_cross_entropy,
    ],
)
def test_checkers_never_raise(check):
    def stub(*args, **kwargs):
        raise NotImplementedError

    assert "not implemented yet" in check(stub).message
    assert not check(lambda *a, **k: 1 / 0).passed
    assert not check(lambda *a, **k: "colour").passed
    assert not check(lambda *a, **k: torch.full((3,), float("nan"))).passed
    assert not check(42).passed


# --------------------------------------------------------------------------- points only for substance
DEGENERATE = [
    (checks.check_soft_encode, lambda ab, c, k=5, sigma=5.0: torch.zeros(len(ab), len(c))),
    (checks.check_soft_encode, lambda ab, c, k=5, sigma=5.0: torch.full((len(ab), len(c)), 1 / len(c))),
    (checks.check_rebalance_weights, lambda prior, lam=0.5: torch.ones_like(prior)),
    (checks.check_rebalance_weights, lambda prior, lam=0.5: torch.zeros_like(prior)),
    (checks.check_annealed_mean, lambda p, c, T=0.38: torch.zeros(len(p), 2)),
    (checks.check_annealed_mean, lambda p, c, T=0.38: c.mean(0).expand(len(p), 2).clone()),
    (checks.check_rebalanced_cross_entropy, lambda logits, target, w: (logits * 0).sum()),
]


@pytest.mark.parametrize("check, fn", DEGENERATE)
def test_a_degenerate_answer_earns_nothing(check, fn):
    """A constant, zeros or the input unchanged passes some cases (every weight is 1 when lam = 1), never for points."""
    result = check(fn)
    assert not result.passed and result.score == 0, result


def test_a_trivial_case_counts_beside_a_right_value():
    """Ones are right for lam = 1 only: with the lam = 1 case trivial, they score 0; a function right on every lam
    but one scores the trivial case too."""

    def right_but_lam_02(prior, lam=0.5):
        return torch.ones_like(prior) if lam == 0.2 else ref.rebalance_weights(prior, lam)

    result = checks.check_rebalance_weights(right_but_lam_02)
    assert result.score == result.max_score - 1


# --------------------------------------------------------------------------- float32 throughout (Apple's MPS)
def soft_encode_float64(ab, centers, k=5, sigma=5.0):
    """Right values, computed in float64: fails on Apple's GPUs, which have none."""
    return ref.soft_encode(ab.double(), centers.double(), k, sigma).float()


def annealed_mean_float64(probs, centers, T=0.38):
    return ref.annealed_mean(probs, centers, T).double().float()


def cross_entropy_float64(logits, target, class_weights):
    return ref.rebalanced_cross_entropy(logits.double(), target.double(), class_weights.double()).float()


@pytest.mark.parametrize(
    "check, fn",
    [
        (checks.check_soft_encode, soft_encode_float64),
        (checks.check_rebalance_weights, lambda prior, lam=0.5: ref.rebalance_weights(prior.double(), lam).float()),
        (checks.check_annealed_mean, annealed_mean_float64),
        (checks.check_rebalanced_cross_entropy, cross_entropy_float64),
    ],
)
def test_a_float64_upcast_is_rejected_with_a_hint(check, fn):
    result = fails_with(check, fn, "computes in float64")
    assert "Apple's GPUs (MPS) have no float64" in result.message
    assert result.score == result.max_score - 1  # every value is right: only the float32 case fails


def test_the_hints_never_state_the_exponent_the_exercise_asks_for():
    """02 asks "which exponent a(T)?": no hint, case note or docstring of its checker may answer 1/T."""
    import re

    texts = [m.hint for m in checks._ANNEAL_MISTAKES] + [c.hint for c in checks.ANNEAL_CASES]
    texts.append(checks.check_annealed_mean.__doc__)
    result = checks.check_annealed_mean(lambda probs, centers, T=0.38: probs @ centers)  # the plain mean
    texts.append(result.message)
    leaks = [t for t in texts if re.search(r"1\s*/\s*T|\^\s*\(?\s*1\s*/|\*\*\s*\(?\s*1\s*/|p\s*\^\s*2", t)]
    assert not leaks, leaks

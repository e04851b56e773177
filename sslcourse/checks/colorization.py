"""Checkers for notebook 02's exercises: `soft_encode`, `rebalance_weights`, `annealed_mean`,
`rebalanced_cross_entropy`.

Each is compared with the reference in `sslcourse.methods.colorization` on a hand-made example, random
inputs on the real 261 in-gamut bins, non-default arguments (k, sigma, lambda, T), and an extreme case built
to break a naive formula (the most saturated colours, a tiny temperature, huge logits). The typical
mistakes are each written out below as a deliberately wrong version, so the verdict can name them.
"""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from sslcourse.checks import STRONG, Case, CheckResult, Mistake, agrees_with, run_check
from sslcourse.methods import colorization as ref
from sslcourse.methods.colorization_bins import in_gamut_bins, rgb_to_lab


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _nan_when(flag: str, hint: str) -> Mistake:
    """A NaN or infinity on the case built to provoke one (inputs carry no marker, so the case's values do)."""

    def matches(inputs, out):
        if not torch.is_tensor(out) or not out.is_floating_point():
            return False
        if torch.isfinite(out).all():
            return None
        return STRONG if _extreme(inputs, flag) else True

    return Mistake(hint, matches)


def _extreme(inputs, flag: str) -> bool:
    if flag == "far":
        return inputs["ab"].abs().max().item() > 150
    if flag == "cold":
        return inputs["T"] < 0.05
    return inputs["logits"].abs().max().item() > 500


# --------------------------------------------------------------------------- float32 throughout
class _Float64Watch(TorchDispatchMode):
    """Names the first operation that makes a float64 tensor (a `.double()`, a `dtype=torch.float64`)."""

    def __init__(self):
        super().__init__()
        self.first = None

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        outs = out if isinstance(out, (tuple, list)) else (out,)
        if self.first is None and any(torch.is_tensor(o) and o.dtype == torch.float64 for o in outs):
            self.first = func.__name__.split(".")[0]
        return out


def _float32_throughout(fn, reference, tip: str):
    """A case on float32 inputs that a right answer computed in float64 fails: the training step runs these
    functions on the GPU, and Apple's (MPS) has no float64. The function is run once more under a watch."""
    right = agrees_with(reference)

    def judge(inputs, out):
        wrong = right(inputs, out)
        if wrong:
            return wrong
        watch = _Float64Watch()
        with watch:
            fn(*inputs.values())
        if watch.first:
            return (
                f"it computes in float64 (`{watch.first}` made a float64 tensor, e.g. from `.double()`): Apple's "
                f"GPUs (MPS) have no float64 and the training step runs there; stay in the input's float32 ({tip})"
            )
        return None

    return judge


def _float32_case(name: str, inputs, fn, reference, tip: str) -> Case:
    return Case(
        f"{name}, in float32 throughout (no float64 on Apple's GPUs)", inputs, _float32_throughout(fn, reference, tip)
    )


# --------------------------------------------------------------------------- soft_encode
def _soft(
    ab,
    centers,
    k=5,
    sigma=5.0,
    exponent=2,
    denom=2.0,
    normalise=True,
    all_bins=False,
    equal=False,
    fixed_k=None,
    fixed_sigma=None,
    stable=True,
):
    k, sigma = fixed_k or k, fixed_sigma or sigma
    d = torch.cdist(ab.double(), centers.double())
    dk, idx = d.topk(len(centers) if all_bins else k, dim=1, largest=False)
    logw = -(dk**exponent) / (denom * sigma**2)
    if stable:
        logw = logw - logw.max(dim=1, keepdim=True).values
    w = torch.ones_like(logw) if equal else logw.exp()
    if normalise:
        w = w / w.sum(dim=1, keepdim=True)
    return torch.zeros_like(d).scatter_(1, idx, w).float()


def _ab(n, seed):
    """The ab of `n` random sRGB colours: colours a real image can have, so that the paper's own formula
    (exp(-d^2 / 2 sigma^2), no shift) never underflows on them (a colour 72 or more from every bin would)."""
    rgb = torch.rand(3, n, 1, generator=_gen(seed))
    return lambda: {"ab": _rgb_ab(rgb), "centers": in_gamut_bins(), "k": 5, "sigma": 5.0}


def _rgb_ab(rgb: torch.Tensor) -> torch.Tensor:
    return rgb_to_lab(rgb)[1:, :, 0].T.contiguous()  # (3, N, 1) -> (N, 2)


_CORNERS = torch.cartesian_prod(*[torch.tensor([0.0, 1.0])] * 3).T[:, :, None]  # the 8 corners of the RGB cube


_SOFT_MISTAKES = [
    Mistake.like(
        lambda ab, c, k=5, s=5.0: _soft(ab, c, k, s, normalise=False),
        "the weights of a pixel do not sum to 1: the Gaussian weights need normalising",
    ),
    Mistake.like(
        lambda ab, c, k=5, s=5.0: _soft(ab, c, k, s, all_bins=True),
        "it spreads each colour over every bin; only its k nearest bins get a weight",
    ),
    Mistake.like(
        lambda ab, c, k=5, s=5.0: _soft(ab, c, k, s, denom=1.0),
        "the Gaussian's width is off: the convention is exp(-d^2 / (2 sigma^2))",
    ),
    Mistake.like(
        lambda ab, c, k=5, s=5.0: _soft(ab, c, k, s, exponent=1), "the Gaussian uses the distance d, not its square d^2"
    ),
    Mistake.like(
        lambda ab, c, k=5, s=5.0: _soft(ab, c, k, s, equal=True),
        "the k nearest bins all get the same weight; nearer bins should weigh more (a Gaussian of the distance)",
    ),
    Mistake.like(
        lambda ab, c, k=5, s=5.0: _soft(ab, c, 1, s),
        "it puts all the weight on the single nearest bin (a hard one-hot code)",
    ),
    Mistake.like(lambda ab, c, k=5, s=5.0: _soft(ab, c, k, s, fixed_k=5), "it ignores the `k` argument"),
    Mistake.like(lambda ab, c, k=5, s=5.0: _soft(ab, c, k, s, fixed_sigma=5.0), "it ignores the `sigma` argument"),
    _nan_when(
        "far",
        "a NaN: where exp(-d^2 / 2 sigma^2) underflows to 0 for all k bins, 0 / 0 is NaN (a tip, "
        "not a requirement: only distances relative to the nearest bin matter, so shifting them first "
        "keeps it finite)",
    ),
]

SOFT_CASES = [
    Case(
        "a colour exactly on a bin of a 3x3 grid, k=5, sigma=5",
        lambda: {
            "ab": torch.tensor([[0.0, 0.0]]),
            "centers": torch.cartesian_prod(torch.tensor([-10.0, 0, 10]), torch.tensor([-10.0, 0, 10])),
            "k": 5,
            "sigma": 5.0,
        },
        agrees_with(ref.soft_encode),
        "the bin it sits on gets weight 1 / (1 + 4 exp(-2)): the 4 bins at distance 10 get exp(-100 / 50) each",
    ),
    Case("50 random colours on the 261 in-gamut bins", _ab(50, 0), agrees_with(ref.soft_encode)),
    Case("k=3, sigma=10", lambda: {**_ab(20, 1)(), "k": 3, "sigma": 10.0}, agrees_with(ref.soft_encode)),
    Case("k=8, sigma=2.5", lambda: {**_ab(20, 2)(), "k": 8, "sigma": 2.5}, agrees_with(ref.soft_encode)),
    Case(
        "the most saturated colours an image can have (the 8 corners of the RGB cube)",
        lambda: {"ab": _rgb_ab(_CORNERS), "centers": in_gamut_bins(), "k": 5, "sigma": 5.0},
        agrees_with(ref.soft_encode, rtol=1e-3, atol=1e-4),
        "the nearest bins of every colour get its weight",
    ),
]


def check_soft_encode(fn) -> CheckResult:
    """Check `fn(ab[N, 2], centers[Q, 2], k=5, sigma=5.0) -> weights[N, Q]`: the k nearest bins, Gaussian
    weights exp(-d^2 / (2 sigma^2)), normalised to sum 1 per pixel, 0 elsewhere."""
    float32 = _float32_case(
        "20 random colours",
        _ab(20, 4),
        fn,
        ref.soft_encode,
        "distances relative to the nearest bin keep the exponentials in range; "
        '`torch.cdist(..., compute_mode="donot_use_mm_for_euclid_dist")` computes the differences exactly',
    )
    return run_check("soft_encode", fn, [*SOFT_CASES, float32], _SOFT_MISTAKES)


# --------------------------------------------------------------------------- rebalance_weights
def _rebal(prior, lam=0.5, norm="expectation", swap=False, invert=True, fixed_lam=None):
    lam = fixed_lam if fixed_lam is not None else lam
    p = prior.double()
    mix = (lam * p + (1 - lam) / len(p)) if swap else ((1 - lam) * p + lam / len(p))
    w = 1 / mix if invert else mix
    if norm == "expectation":
        w = w / (p * w).sum()
    elif norm == "sum":
        w = w / w.sum()
    elif norm == "mean":
        w = w / w.mean()
    return w.float()


def _prior(Q, seed, zeros=0):
    def make():
        p = torch.rand(Q, generator=_gen(seed)) ** 4  # skewed, as colour histograms are
        p[:zeros] = 0
        return {"prior": p / p.sum(), "lam": 0.5}

    return make


_REBAL_MISTAKES = [
    Mistake.like(
        lambda p, lam=0.5: _rebal(p, lam, norm="sum"),
        "the weights are normalised to sum 1; the contract asks for expectation 1 under the prior: sum_q p_q w_q = 1",
    ),
    Mistake.like(
        lambda p, lam=0.5: _rebal(p, lam, norm="mean"),
        "the weights are normalised to mean 1 over the bins; the contract asks for expectation 1 under "
        "the prior: sum_q p_q w_q = 1",
    ),
    Mistake.like(lambda p, lam=0.5: _rebal(p, lam, norm="none"), "the weights are not normalised at all"),
    Mistake.like(
        lambda p, lam=0.5: _rebal(p, lam, swap=True),
        "lambda weighs the wrong term: it is the share of the uniform distribution, (1 - lambda) p + lambda / Q",
    ),
    Mistake.like(
        lambda p, lam=0.5: _rebal(p, lam, invert=False),
        "rare colours get small weights: the weight is the inverse of the mixed distribution",
    ),
    Mistake.like(lambda p, lam=0.5: _rebal(p, lam, fixed_lam=0.5), "it ignores the `lam` argument"),
]

REBAL_CASES = [
    Case(
        "prior (0.5, 0.25, 0.25), lam=0.5",
        lambda: {"prior": torch.tensor([0.5, 0.25, 0.25]), "lam": 0.5},
        agrees_with(ref.rebalance_weights),
        "mixed: (5/12, 7/24, 7/24); invert, then scale so sum p w = 1",
    ),
    Case("a skewed prior over 261 bins, lam=0.5", _prior(261, 0), agrees_with(ref.rebalance_weights)),
    Case("lam=0.2", lambda: {**_prior(50, 1)(), "lam": 0.2}, agrees_with(ref.rebalance_weights)),
    Case(
        "lam=1: the uniform distribution, every weight 1",
        lambda: {**_prior(50, 2)(), "lam": 1.0},
        agrees_with(ref.rebalance_weights),
        trivial=True,
    ),
    Case(
        "a prior with empty bins, lam=0.5",
        _prior(40, 3, zeros=5),
        agrees_with(ref.rebalance_weights),
        "an empty bin (p = 0) still gets a finite weight: 1 / (lam / Q)",
    ),
]


def check_rebalance_weights(fn) -> CheckResult:
    """Check `fn(prior[Q], lam=0.5) -> weights[Q]`: proportional to ((1 - lam) p + lam / Q)^-1, scaled so that
    sum_q p_q w_q = 1."""
    float32 = _float32_case(
        "a skewed prior over 100 bins", _prior(100, 4), fn, ref.rebalance_weights, "float32 is ample for these weights"
    )
    return run_check("rebalance_weights", fn, [*REBAL_CASES, float32], _REBAL_MISTAKES)


# --------------------------------------------------------------------------- annealed_mean
def _anneal(probs, centers, T=0.38, how="right", fixed_T=None):
    T = fixed_T or T
    p = probs.double().clamp_min(1e-300)
    if how == "inverse":
        w = torch.softmax(p.log() * T, dim=1)
    elif how == "softmax_probs":
        w = torch.softmax(p / T, dim=1)
    elif how == "unnormalised":
        w = p ** (1 / T)
    elif how == "mode":
        w = torch.zeros_like(p).scatter_(1, p.argmax(1, keepdim=True), 1.0)
    else:
        w = torch.softmax(p.log() / T, dim=1)
    return (w @ centers.double()).float()


def _probs(N, Q, seed, T, zeros=False, centers=None):
    def make():
        logits = torch.randn(N, Q, generator=_gen(seed)) * 3
        p = torch.softmax(logits, dim=1)
        if zeros:
            p[:, ::3] = 0
            p = p / p.sum(1, keepdim=True)
        c = in_gamut_bins() if centers is None else centers
        return {"probs": p, "centers": c[:Q], "T": T}

    return make


_ANNEAL_MISTAKES = [
    Mistake.like(
        lambda p, c, T=0.38: _anneal(p, c, T, "inverse"),
        "the temperature works the wrong way round: T < 1 should sharpen the distribution (the likely bins "
        "get likelier), and T = 1 give back p itself",
    ),
    Mistake.like(
        lambda p, c, T=0.38: _anneal(p, c, T, "softmax_probs"),
        "it takes a softmax of the probabilities themselves; the sharpened distribution is a power of p, "
        "renormalised (in log space: a softmax of a multiple of log p)",
    ),
    Mistake.like(
        lambda p, c, T=0.38: _anneal(p, c, T, "unnormalised"),
        "the sharpened weights no longer sum to 1: renormalise them before taking the mean",
    ),
    Mistake.like(
        lambda p, c, T=0.38: _anneal(p, c, T, "right", fixed_T=1.0),
        "the temperature has no effect: it returns the plain mean",
    ),
    Mistake.like(lambda p, c, T=0.38: _anneal(p, c, T, "mode"), "it returns the mode (the most likely bin)"),
    _nan_when(
        "cold",
        "at a small T, the power of p underflows to 0 for every bin and 0 / 0 is NaN: work in log space "
        "(a softmax subtracts the maximum for you)",
    ),
]

ANNEAL_CASES = [
    Case(
        "three bins, probs (0.5, 0.3, 0.2), T=1: the plain mean",
        lambda: {
            "probs": torch.tensor([[0.5, 0.3, 0.2]]),
            "centers": torch.tensor([[0.0, 0], [10, 0], [0, 10]]),
            "T": 1.0,
        },
        agrees_with(ref.annealed_mean),
        "at T = 1 it is sum_q p_q centre_q = (3, 2)",
    ),
    Case(
        "three bins, probs (0.5, 0.3, 0.2), T=0.5",
        lambda: {
            "probs": torch.tensor([[0.5, 0.3, 0.2]]),
            "centers": torch.tensor([[0.0, 0], [10, 0], [0, 10]]),
            "T": 0.5,
        },
        agrees_with(ref.annealed_mean),
        "sharper than at T = 1: the answer lies nearer the likeliest bin's centre (0, 0) than the plain mean (3, 2)",
    ),
    Case("30 random distributions over 261 bins, T=0.38", _probs(30, 261, 0, 0.38), agrees_with(ref.annealed_mean)),
    Case("T=2", _probs(10, 261, 1, 2.0), agrees_with(ref.annealed_mean)),
    Case(
        "distributions with empty bins, T=0.38",
        _probs(10, 261, 2, 0.38, zeros=True),
        agrees_with(ref.annealed_mean),
        "a bin with probability 0 stays at 0",
    ),
    Case(
        "a tiny temperature, T=0.01 (nearly the mode)",
        _probs(10, 261, 3, 0.01),
        agrees_with(ref.annealed_mean),
        "no NaN allowed",
    ),
]


def check_annealed_mean(fn) -> CheckResult:
    """Check `fn(probs[N, Q], centers[Q, 2], T=0.38) -> ab[N, 2]`: the mean of the distribution sharpened by the
    temperature (renormalised; T = 1: the plain mean, T -> 0: the mode). The exponent is the exercise's question."""
    float32 = _float32_case(
        "20 random distributions, T=0.38",
        _probs(20, 261, 4, 0.38),
        fn,
        ref.annealed_mean,
        "working with log-probabilities keeps float32 in range, even at a small T",
    )
    return run_check("annealed_mean", fn, [*ANNEAL_CASES, float32], _ANNEAL_MISTAKES)


# --------------------------------------------------------------------------- rebalanced_cross_entropy
def _ce(logits, target, w, weight_by="target", reduce="mean", per_bin=False, hard=False, raw=False, naive=False):
    logits, target, w = logits.double(), target.double(), w.double()
    if raw:
        logp = logits.clamp_min(1e-300).log()
    elif naive:
        logp = torch.softmax(logits, dim=1).log()
    else:
        logp = torch.log_softmax(logits, dim=1)
    if hard:
        target = torch.zeros_like(target).scatter_(1, target.argmax(1, keepdim=True), 1.0)
    if per_bin:
        per_pixel = -(w * target * logp).sum(1)
        pix_w = torch.ones(len(logits), dtype=torch.float64)
    else:
        per_pixel = -(target * logp).sum(1)
        pix_w = {
            "target": w[target.argmax(1)],
            "pred": w[logits.argmax(1)],
            "none": torch.ones(len(logits), dtype=torch.float64),
        }[weight_by]
    loss = pix_w * per_pixel
    if reduce == "sum":
        return loss.sum().float()
    if reduce == "weighted_mean":
        return (loss.sum() / pix_w.sum()).float()
    return loss.mean().float()


def _ce_inputs(N, Q, seed, scale=2.0, ones=False):
    def make():
        g = _gen(seed)
        target = ref.soft_encode(torch.randn(N, 2, generator=g) * 30, in_gamut_bins()[:Q])
        w = torch.ones(Q) if ones else torch.rand(Q, generator=g) * 3 + 0.1
        return {"logits": torch.randn(N, Q, generator=g) * scale, "target": target, "class_weights": w}

    return make


_CE_MISTAKES = [
    Mistake.like(
        lambda lg, t, w: _ce(lg, t, w, weight_by="pred"),
        "each pixel is weighted by the bin the network predicts; the weight comes from the target's most likely bin",
    ),
    Mistake.like(lambda lg, t, w: _ce(lg, t, w, weight_by="none"), "the class weights are not applied"),
    Mistake.like(lambda lg, t, w: _ce(lg, t, w, reduce="sum"), "it sums over the pixels instead of taking the mean"),
    Mistake.like(
        lambda lg, t, w: _ce(lg, t, w, reduce="weighted_mean"),
        "it divides by the sum of the weights; the contract takes the plain mean over pixels",
    ),
    Mistake.like(
        lambda lg, t, w: _ce(lg, t, w, per_bin=True),
        "it weights every bin of the target by its own weight; the contract gives the whole pixel one "
        "weight, that of its target's most likely bin",
    ),
    Mistake.like(
        lambda lg, t, w: _ce(lg, t, w, hard=True),
        "it uses only the target's most likely bin (a hard label); the target is a soft distribution",
    ),
    Mistake.like(
        lambda lg, t, w: _ce(lg, t, w, raw=True),
        "it takes the log of the logits themselves: turn them into log-probabilities first",
    ),
    Mistake.like(lambda lg, t, w: -_ce(lg, t, w), "the sign is flipped: a cross-entropy is positive"),
    _nan_when(
        "huge",
        "with large logits softmax underflows to 0 and its log is -inf (0 * -inf = NaN): "
        "use a log-softmax, which is computed stably",
    ),
]

CE_CASES = [
    Case(
        "two pixels, three bins",
        lambda: {
            "logits": torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
            "target": torch.tensor([[0.7, 0.3, 0.0], [0.0, 0.4, 0.6]]),
            "class_weights": torch.tensor([1.0, 2.0, 3.0]),
        },
        agrees_with(ref.rebalanced_cross_entropy),
        "pixel 1 weighs 1 (its target peaks at bin 0), pixel 2 weighs 3 (bin 2)",
    ),
    Case("64 pixels, soft targets over 261 bins", _ce_inputs(64, 261, 0), agrees_with(ref.rebalanced_cross_entropy)),
    Case(
        "all weights 1: the plain classification loss",
        _ce_inputs(32, 261, 1, ones=True),
        agrees_with(ref.rebalanced_cross_entropy),
    ),
    Case(
        "confident, wrong logits (values near 1000)",
        _ce_inputs(16, 261, 2, scale=1000.0),
        agrees_with(ref.rebalanced_cross_entropy, rtol=1e-3),
        "no NaN or infinity allowed",
    ),
]


def check_rebalanced_cross_entropy(fn) -> CheckResult:
    """Check `fn(logits[N, Q], target[N, Q], class_weights[Q]) -> scalar`: soft-target cross-entropy, each pixel
    weighted by the weight of its target's most likely bin, mean over pixels."""
    float32 = _float32_case(
        "32 pixels",
        _ce_inputs(32, 261, 3),
        fn,
        ref.rebalanced_cross_entropy,
        "a log-softmax is stable in float32",
    )
    return run_check("rebalanced_cross_entropy", fn, [*CE_CASES, float32], _CE_MISTAKES)

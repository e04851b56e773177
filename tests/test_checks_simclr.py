"""check_nt_xent_loss: right answers in any style pass; each classic mistake fails with a hint naming it."""

import math

import pytest
import torch
import torch.nn.functional as F

from sslcourse.checks import simclr as checks
from sslcourse.checks.simclr import CASES, check_nt_xent_loss
from sslcourse.methods.simclr import nt_xent_loss


# --------------------------------------------------------------------------- right answers, several styles
def loop_over_anchors(z1, z2, temperature):
    """The paper's Algorithm 1, one anchor and one pair of views at a time, with scalar tensor ops."""
    z = torch.cat([z1, z2])
    n, b = len(z), len(z1)
    total = 0
    for i in range(n):
        j = (i + b) % n
        cos = [(z[i] @ z[k]) / (z[i].norm() * z[k].norm()) for k in range(n)]
        denominator = sum(torch.exp(cos[k] / temperature) for k in range(n) if k != i)
        total = total - torch.log(torch.exp(cos[j] / temperature) / denominator)
    return total / n


def float64_cosine_similarity(z1, z2, temperature):
    """In float64 with F.cosine_similarity and a big negative number on the diagonal, returned as float64."""
    z = torch.cat([z1, z2]).double()
    sim = F.cosine_similarity(z[:, None], z[None, :], dim=2) / temperature
    sim = sim - 1e4 * torch.eye(len(z), dtype=z.dtype)
    b = len(z1)
    targets = torch.cat([torch.arange(b) + b, torch.arange(b)])
    return -torch.log_softmax(sim, dim=1).gather(1, targets[:, None]).mean()


def logsumexp_with_mask(z1, z2, temperature):
    """Explicit log-sum-exp over a boolean mask, keeping the autograd graph."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / temperature
    n, b = len(z), len(z1)
    not_self = ~torch.eye(n, dtype=torch.bool)
    positive = sim[torch.arange(n), (torch.arange(n) + b) % n]
    return (torch.logsumexp(sim.masked_fill(~not_self, -1e9), dim=1) - positive).mean()


def two_blocks(z1, z2, temperature):
    """The two directions written apart, each with its same-view and cross-view blocks, then averaged."""
    a, c = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    eye = torch.eye(len(a), dtype=torch.bool)

    def direction(x, y):
        cross = x @ y.T / temperature  # positives on the diagonal
        same = (x @ x.T / temperature).masked_fill(eye, float("-inf"))
        return F.cross_entropy(torch.cat([cross, same], dim=1), torch.arange(len(x)))

    return (direction(a, c) + direction(c, a)) / 2


@pytest.mark.parametrize(
    "fn", [nt_xent_loss, loop_over_anchors, logsumexp_with_mask, two_blocks, float64_cosine_similarity]
)
def test_right_answers_pass(fn, capsys):
    result = check_nt_xent_loss(fn)
    assert result.passed, result.details
    assert result.score == result.max_score == len(CASES)
    assert capsys.readouterr().out.strip() == result.message
    assert result.message.startswith("✓ nt_xent_loss") and "\n" not in result.message


def test_the_one_hot_case_is_analytic():
    assert nt_xent_loss(torch.eye(2), torch.eye(2), 1.0).item() == pytest.approx(math.log(1 + 2 / math.e), abs=1e-6)


# --------------------------------------------------------------------------- classic mistakes
def _student(wrong):
    """A student's version of a mistake: float32, keeps the graph (the checker's own versions do not)."""

    def fn(z1, z2, temperature):
        return wrong(z1, z2, temperature).float()

    return fn


def per_anchor(z1, z2, temperature):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = (z @ z.T / temperature).fill_diagonal_(float("-inf"))
    b = len(z1)
    return F.cross_entropy(sim, torch.cat([torch.arange(b, 2 * b), torch.arange(b)]), reduction="none")


def detached(z1, z2, temperature):
    return torch.tensor(nt_xent_loss(z1, z2, temperature).item())


def normalises_in_place(z1, z2, temperature):
    z1 /= z1.norm(dim=1, keepdim=True)
    return nt_xent_loss(z1, z2, temperature)


def numpy_result(z1, z2, temperature):
    return nt_xent_loss(z1, z2, temperature).detach().numpy()


def raises(z1, z2, temperature):
    sim = z1 @ z2 / temperature  # (B, D) @ (B, D): wrong orientation
    return sim.mean()


@pytest.mark.parametrize(
    "fn, expected",
    [
        (_student(checks.no_normalise), "depend on directions only"),
        (_student(checks.no_mask), "compared with itself"),
        (_student(checks.self_positive), "its own positive"),
        (_student(checks._shifted_positive(1)), "not the other view of the same image"),
        (_student(checks.one_direction), "only the views of z1 act as anchors"),
        (_student(checks.cross_view_only), "negatives come only from the other view"),
        (_student(checks.no_temperature), "temperature has no effect"),
        (_student(checks.times_temperature), "the wrong way round"),
        (_student(checks.summed), "sums over the anchors"),
        (_student(checks.over_b), "twice the expected one"),
        (per_anchor, "one loss per anchor"),
        (detached, "no gradient flows back"),
        (normalises_in_place, "changed its input z1 in place"),
        (numpy_result, "not a torch tensor"),
        (raises, "raised RuntimeError"),
    ],
)
def test_mistakes_fail_with_a_hint_naming_them(fn, expected):
    result = check_nt_xent_loss(fn)
    assert not result.passed and result.score < result.max_score
    assert expected in result.message, result.message
    assert "\n" not in result.message


def test_a_mistake_that_keeps_its_graph_is_still_named():
    """The checker's mistakes compute in float64 without a graph; a student's float32 version matches them."""

    def no_temperature(z1, z2, temperature):
        return nt_xent_loss(z1, z2, 1.0)

    assert "temperature has no effect" in check_nt_xent_loss(no_temperature).message


def test_not_implemented_is_calm():
    def stub(z1, z2, temperature):
        raise NotImplementedError("exercise nt_xent_loss: write your solution here")

    result = check_nt_xent_loss(stub)
    assert (result.passed, result.score) == (False, 0) and "not implemented yet" in result.message


def test_hints_do_not_give_the_answer_away():
    for wrong in (checks.no_normalise, checks.no_mask, checks.one_direction, checks.summed):
        message = check_nt_xent_loss(_student(wrong)).message
        for giveaway in ("F.normalize", "fill_diagonal", "cross_entropy", "torch.cat", ".mean("):
            assert giveaway not in message


def test_each_mistake_differs_from_the_reference_on_some_case():
    """Every mistake is caught by at least one case, so the checker cannot pass it."""
    for mistake in (
        checks.no_normalise,
        checks.no_mask,
        checks.self_positive,
        checks._shifted_positive(1),
        checks.one_direction,
        checks.cross_view_only,
        checks.no_temperature,
        checks.times_temperature,
        checks.summed,
        checks.over_b,
    ):
        wrong = [c.name for c in CASES if c.judge(c.inputs(), _student(mistake)(*c.inputs().values()))]
        assert wrong, mistake.__name__


@pytest.mark.parametrize(
    "fn",
    [lambda z1, z2, t: (z1 * 0).sum(), lambda z1, z2, t: (z1 * 0).sum() + 1.0, lambda z1, z2, t: torch.tensor(0.0)],
)
def test_a_constant_loss_earns_nothing(fn):
    """Zero is right for B = 1 (no negatives): the constant zero passes that case, and earns 0 of its points."""
    result = check_nt_xent_loss(fn)
    assert not result.passed and result.score == 0, result

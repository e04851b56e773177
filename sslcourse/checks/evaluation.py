"""Checker for notebook 00's exercise: `knn_classify(train_features, train_labels, query_features, k)`.

The answer is judged by what a correct kNN must return, not by agreement with one implementation:
for every query, the label must win (or tie for first in) the majority vote among the k training points
of highest cosine similarity. Ties may be broken any way. The cases are built so that typical mistakes
give a different answer: vectors of very different lengths (distance or raw dot product instead of
cosine), hand-placed neighbours whose order decides the vote (k+1 or k-1 neighbours, skipping the
nearest, voting by the nearest alone), and random clusters (the least similar instead of the most).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from sslcourse.checks import STRONG, Case, CheckResult, Mistake, expect_tensor, run_check


# --------------------------------------------------------------------------- what a right answer is
def _cosine(inputs: dict) -> torch.Tensor:
    q, t = inputs["query_features"].double(), inputs["train_features"].double()
    return F.normalize(q, dim=1) @ F.normalize(t, dim=1).T  # (M, N)


def _winners(labels: torch.Tensor, neighbours: torch.Tensor) -> list[set[int]]:
    """For each query, the labels tied for the most votes among its neighbours (indices (M, k))."""
    votes = F.one_hot(labels[neighbours].long(), int(labels.max()) + 1).sum(dim=1)  # (M, k, C) -> (M, C)
    return [set(torch.nonzero(v == v.max()).flatten().tolist()) for v in votes]


def _right(inputs: dict) -> list[set[int]]:
    """Each query's winning labels among its k most cosine-similar training points."""
    return _winners(inputs["train_labels"], _cosine(inputs).topk(inputs["k"], dim=1).indices)


def _judge(inputs: dict, out) -> str | None:
    """The judge of every case: one integer label per query, each a winner of the cosine-kNN vote."""
    m, n, k = len(inputs["query_features"]), len(inputs["train_features"]), inputs["k"]
    if torch.is_tensor(out) and out.dim() == 2 and out.shape[0] == m and out.shape[1] in (k, n):
        return (
            f"it returned shape {tuple(out.shape)}, one row per query: that looks like the neighbours "
            f"(or all similarities), not one voted label per query; expected shape ({m},)"
        )
    if torch.is_tensor(out) and out.dim() == 2 and out.shape[0] == m:
        return f"it returned shape {tuple(out.shape)}: that looks like vote counts per class; expected ({m},)"
    problem = expect_tensor(out, (m,), kind="integer")
    if problem:
        return problem
    out = out.cpu().long()
    labels = set(inputs["train_labels"].tolist())
    strangers = [v for v in out.tolist() if v not in labels]
    if strangers:
        return f"it returned {strangers[0]}, which is none of the training labels {sorted(labels)}"
    wrong = [i for i, (o, w) in enumerate(zip(out.tolist(), _right(inputs))) if o not in w]
    if wrong:
        return f"wrong label for {len(wrong)} of {m} queries (k={k})"
    return None


# --------------------------------------------------------------------------- typical mistakes
def _rule_mistake(hint: str, scores, count=lambda i: i["k"], skip: int = 0) -> Mistake:
    """Recognised when every answer wins the vote among the training points ranked `skip` to `count` by
    `scores(inputs)` (M, N), highest first; never where ties make that selection ambiguous. STRONG when
    every wrong answer is the only winner of that vote; None where the rule cannot be applied (k-1 with
    k = 1, k+1 with k = N) or where `count` is None (the rule would be the right one)."""

    def matches(inputs: dict, out) -> bool | int | None:
        n, total = count(inputs), len(inputs["train_labels"])
        if not _well_formed(inputs, out):
            return False
        if n is None or not 1 <= n - skip or n > total:
            return None
        ranked, order = scores(inputs).sort(dim=1, descending=True)
        for edge in {skip, n} - {0, total}:
            if (ranked[:, edge - 1] - ranked[:, edge]).abs().min() < 1e-9:
                return None
        winners = _winners(inputs["train_labels"], order[:, skip:n])
        if not all(o in w for o, w in zip(out.tolist(), winners)):
            return False
        wrong = [w for o, w, r in zip(out.tolist(), winners, _right(inputs)) if o not in r]
        return STRONG if all(len(w) == 1 for w in wrong) else True

    return Mistake(hint, matches)


def _well_formed(inputs: dict, out) -> bool:
    return (
        torch.is_tensor(out)
        and out.shape == (len(inputs["query_features"]),)
        and expect_tensor(out, out.shape, kind="integer") is None
    )


def _distance(i: dict) -> torch.Tensor:
    return -torch.cdist(i["query_features"].double(), i["train_features"].double())


def _dot(i: dict) -> torch.Tensor:
    return i["query_features"].double() @ i["train_features"].double().T


MISTAKES = [
    _rule_mistake(
        "its answers are those of the nearest points by Euclidean distance, which changes when a vector is "
        "scaled: the first requirement is that only a vector's direction counts, not its length",
        _distance,
    ),
    _rule_mistake(
        "its answers are those of the raw dot product: long training vectors win whatever their "
        "direction, and the first requirement is that only a vector's direction counts",
        _dot,
    ),
    _rule_mistake(
        "its answers are the vote of the k least similar training points, not the most similar", lambda i: -_cosine(i)
    ),
    _rule_mistake(
        "its answers are the label of the single most similar point, whatever k is: "
        "the vote should involve k neighbours",
        _cosine,
        count=lambda i: 1 if i["k"] > 1 else None,
    ),
    _rule_mistake(
        "its answers leave out the most similar training point (the query is not in the training set, "
        "so the nearest point is a real neighbour)",
        _cosine,
        count=lambda i: i["k"] + 1,
        skip=1,
    ),
    _rule_mistake("its answers are the vote of k+1 neighbours: one too many", _cosine, count=lambda i: i["k"] + 1),
    _rule_mistake("its answers are the vote of k-1 neighbours: one too few", _cosine, count=lambda i: i["k"] - 1),
    Mistake(
        "its answers are positions of the most similar training points, not their labels",
        lambda inputs, out: _well_formed(inputs, out) and torch.equal(out.cpu().long(), _cosine(inputs).argmax(dim=1)),
    ),
]


# --------------------------------------------------------------------------- the cases
def _clusters(n_train: int, n_query: int, dim: int, classes: int, k: int, seed: int) -> dict:
    """Points around one random centre per class, each with its own length (0.2x to 5x)."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dim, generator=g) * 2

    def points(n):
        y = torch.randint(0, classes, (n,), generator=g)
        x = centres[y] + torch.randn(n, dim, generator=g)
        return x * torch.exp(torch.empty(n, 1).uniform_(-1.6, 1.6, generator=g)), y  # lengths vary: cosine ignores them

    (x, y), (q, _) = points(n_train), points(n_query)
    return {"train_features": x, "train_labels": y, "query_features": q, "k": k}


def _placed(
    orders: list[list[int]], k: int, lengths: list[list[float]] | None = None, query_length: float = 3.0
) -> dict:
    """One query per order, each in its own plane (all other points are orthogonal to it): its i-th most
    cosine-similar training point has label orders[q][i] and length lengths[q][i] (1 by default)."""
    dim = 2 * len(orders)
    train, labels, queries = [], [], []
    for q, order in enumerate(orders):
        for i, label in enumerate(order):
            angle = math.radians(5 + 70 * i / len(order))  # from 5 to 75 degrees: cosine strictly decreasing
            v = torch.zeros(dim)
            v[2 * q], v[2 * q + 1] = math.cos(angle), math.sin(angle)
            train.append(v * (lengths[q][i] if lengths else 1.0))
            labels.append(label)
        queries.append(torch.zeros(dim).index_fill_(0, torch.tensor([2 * q]), query_length))
    return {
        "train_features": torch.stack(train),
        "train_labels": torch.tensor(labels),
        "query_features": torch.stack(queries),
        "k": k,
    }


def _lengths_trap() -> dict:
    """Query 0: three long class-0 vectors point its way, three short class-1 vectors sit near it at a wider
    angle (distance picks class 1). Query 1: the long vectors are the wide ones (a raw dot product picks 3)."""
    return _placed(
        [[0, 0, 0, 1, 1, 1], [2, 2, 2, 3, 3, 3]],
        k=3,
        lengths=[[10, 10, 10, 1, 1, 1], [1, 1, 1, 10, 10, 10]],
        query_length=1.0,
    )


# Order traps for k=5 (filler label 9 after the decisive points). With k+1 neighbours the first pair ties,
# with k-1 the second pair does, and whichever way a tie is broken (smallest label, largest, first seen,
# last seen) one query of the pair goes wrong; skipping the nearest flips the third pair, and the
# nearest alone is wrong on the first two.
_ORDERS = [
    [0, 1, 1, 1, 0, 0, 9, 9],
    [1, 0, 0, 0, 1, 1, 9, 9],
    [3, 2, 2, 3, 2, 9, 9, 9],
    [2, 3, 3, 2, 3, 9, 9, 9],
    [4, 4, 4, 5, 5, 5, 9, 9],
    [7, 7, 7, 6, 6, 6, 9, 9],
]


def _all_vote() -> dict:
    g = torch.Generator().manual_seed(4)
    return {
        "train_features": torch.randn(7, 4, generator=g),
        "train_labels": torch.tensor([0, 2, 0, 1, 0, 2, 1]),
        "query_features": torch.randn(5, 4, generator=g),
        "k": 7,
    }


CASES = [
    Case(
        "a small example (k=3)",
        lambda: _placed([[0, 0, 1, 1], [1, 1, 0, 0]], k=3),
        _judge,
        "print the similarities of one query and the neighbours you pick",
    ),
    Case("random clusters (k=20)", lambda: _clusters(300, 40, 16, 10, 20, seed=1), _judge),
    Case(
        "random clusters (k=1)",
        lambda: _clusters(60, 30, 8, 5, 1, seed=2),
        _judge,
        "with k=1 each query takes the label of its single most similar training point",
    ),
    Case(
        "training vectors of very different lengths",
        _lengths_trap,
        _judge,
        "two vectors pointing the same way are equally similar to a query, however long they are",
    ),
    Case(
        "neighbours placed so that the k-th and (k+1)-th decide the vote",
        lambda: _placed(_ORDERS, k=5),
        _judge,
        "check which neighbours take part in the vote, and how many",
    ),
    Case(
        "a single query",
        lambda: _clusters(50, 1, 8, 4, 5, seed=3),
        _judge,
        "a batch of one query must still give a tensor of shape (1,)",
        trivial=True,
    ),
    Case(
        "k equal to the number of training points",
        _all_vote,
        _judge,
        "when every training point votes, the most frequent label wins",
        trivial=True,
    ),
]


def check_knn_classify(fn) -> CheckResult:
    """Check `fn(train_features[N, D], train_labels[N], query_features[M, D], k) -> labels[M]`:
    the majority label among the k most cosine-similar training points (ties broken any way)."""
    return run_check("knn_classify", fn, CASES, MISTAKES)

"""check_knn_classify: right answers in any style pass; each classic mistake fails with a hint naming it."""

from collections import Counter

import pytest
import torch
import torch.nn.functional as F

from sslcourse.checks import evaluation
from sslcourse.checks.evaluation import CASES, check_knn_classify
from sslcourse.evaluate import knn_classify


def check(fn):
    return check_knn_classify(fn)


# --------------------------------------------------------------------------- right answers, several styles
def loop_with_counter(train_features, train_labels, query_features, k):
    """Plain Python: one query at a time, sorted similarities, Counter for the vote."""
    preds = []
    for q in query_features:
        sims = [float(q @ t) / (float(q.norm()) * float(t.norm())) for t in train_features]
        nearest = sorted(range(len(sims)), key=lambda i: sims[i], reverse=True)[:k]
        preds.append(Counter(int(train_labels[i]) for i in nearest).most_common(1)[0][0])
    return torch.tensor(preds)


def mode_of_neighbours(train_features, train_labels, query_features, k):
    """torch.mode over the neighbours' labels, similarity from cosine_similarity with broadcasting."""
    sims = F.cosine_similarity(query_features[:, None, :], train_features[None, :, :], dim=2)  # (M, N)
    return train_labels[sims.argsort(dim=1, descending=True)[:, :k]].mode(dim=1).values


def scatter_votes(train_features, train_labels, query_features, k):
    """Only the training features normalised (the query's length cannot change its ranking), scatter_add votes."""
    train = train_features / train_features.norm(dim=1, keepdim=True)
    idx = (query_features @ train.T).topk(k, dim=1).indices
    votes = torch.zeros(len(query_features), int(train_labels.max()) + 1)
    votes.scatter_add_(1, train_labels[idx], torch.ones(idx.shape))
    return votes.argmax(dim=1)


def numpy_style(train_features, train_labels, query_features, k):
    """Through NumPy and bincount, returning int32 labels."""
    t, q, y = train_features.numpy(), query_features.numpy(), train_labels.numpy()
    sims = (q / ((q**2).sum(1, keepdims=True) ** 0.5)) @ (t / ((t**2).sum(1, keepdims=True) ** 0.5)).T
    nearest = (-sims).argsort(axis=1)[:, :k]
    return torch.tensor(
        [row.argmax() for row in [__import__("numpy").bincount(y[n], minlength=10) for n in nearest]], dtype=torch.int32
    )


@pytest.mark.parametrize("fn", [knn_classify, loop_with_counter, mode_of_neighbours, scatter_votes, numpy_style])
def test_right_answers_pass(fn, capsys):
    result = check(fn)
    assert result.passed, result.details
    assert result.score == result.max_score == len(CASES)
    assert capsys.readouterr().out.strip() == result.message
    assert result.message.startswith("✓ knn_classify") and "\n" not in result.message


# --------------------------------------------------------------------------- classic mistakes
def _vote(train_labels, idx):
    return F.one_hot(train_labels[idx], int(train_labels.max()) + 1).sum(1).argmax(1)


def euclidean(train_features, train_labels, query_features, k):
    return _vote(train_labels, torch.cdist(query_features, train_features).topk(k, largest=False).indices)


def train_not_normalised(train_features, train_labels, query_features, k):
    q = F.normalize(query_features, dim=1)
    return _vote(train_labels, (q @ train_features.T).topk(k).indices)


def least_similar(train_features, train_labels, query_features, k):
    sims = F.normalize(query_features, dim=1) @ F.normalize(train_features, dim=1).T
    return _vote(train_labels, sims.topk(k, largest=False).indices)


def _top(offset, skip=0, tie="smallest"):
    def fn(train_features, train_labels, query_features, k):
        sims = F.normalize(query_features, dim=1) @ F.normalize(train_features, dim=1).T
        idx = sims.topk(k + offset).indices[:, skip:]
        if tie == "first seen":
            return torch.tensor([Counter(train_labels[row].tolist()).most_common(1)[0][0] for row in idx])
        votes = F.one_hot(train_labels[idx], 10).sum(1)
        return votes.argmax(1) if tie == "smallest" else 9 - votes.flip(1).argmax(1)

    return fn


def one_nearest(train_features, train_labels, query_features, k):
    return knn_classify(train_features, train_labels, query_features, 1)


def neighbour_indices(train_features, train_labels, query_features, k):
    sims = F.normalize(query_features, dim=1) @ F.normalize(train_features, dim=1).T
    return sims.topk(k).indices


def nearest_position(train_features, train_labels, query_features, k):
    sims = F.normalize(query_features, dim=1) @ F.normalize(train_features, dim=1).T
    return sims.argmax(dim=1)


def float_labels(train_features, train_labels, query_features, k):
    return knn_classify(train_features, train_labels, query_features, k).float()


def squeezed(train_features, train_labels, query_features, k):
    return knn_classify(train_features, train_labels, query_features, k).squeeze()


def normalises_in_place(train_features, train_labels, query_features, k):
    train_features /= train_features.norm(dim=1, keepdim=True)
    return knn_classify(train_features, train_labels, query_features, k)


def raises(train_features, train_labels, query_features, k):
    sims = query_features @ train_features  # wrong orientation: (M, D) @ (N, D)
    return sims


def hangs(train_features, train_labels, query_features, k):
    while True:
        pass


def returns_nan(train_features, train_labels, query_features, k):
    return torch.full((len(query_features),), float("nan"))


@pytest.mark.parametrize(
    "fn, expected",
    [
        (euclidean, "Euclidean distance"),
        (train_not_normalised, "raw dot product"),
        (least_similar, "least similar"),
        (one_nearest, "single most similar point"),
        (_top(1), "k+1 neighbours"),
        (_top(1, tie="largest"), "k+1 neighbours"),
        (_top(1, tie="first seen"), "k+1 neighbours"),
        (_top(-1), "k-1 neighbours"),
        (_top(-1, tie="largest"), "k-1 neighbours"),
        (_top(-1, tie="first seen"), "k-1 neighbours"),
        (_top(1, skip=1), "leave out the most similar"),
        (neighbour_indices, "looks like the neighbours"),
        (nearest_position, "not their labels"),
        (float_labels, "expected an integer tensor"),
        (squeezed, "expected (1,)"),
        (normalises_in_place, "changed its input train_features in place"),
        (raises, "raised RuntimeError"),
        (returns_nan, "expected an integer tensor"),
    ],
)
def test_mistakes_fail_with_a_hint_naming_them(fn, expected):
    result = check(fn)
    assert not result.passed and result.score < result.max_score
    assert expected in result.message, result.message
    assert "\n" not in result.message


def test_raising_names_the_students_line():
    result = check(raises)
    assert "line 2 of raises: `sims = query_features @ train_features" in result.message


def test_a_hang_becomes_a_verdict_within_the_time_limit():
    import time

    t = time.perf_counter()
    result = evaluation.run_check("knn_classify", hangs, CASES, time_limit=0.5)
    assert time.perf_counter() - t < 5
    assert not result.passed and "more than 0.5 s" in result.message


def test_not_implemented_is_calm(capsys):
    def stub(train_features, train_labels, query_features, k):
        raise NotImplementedError("exercise knn_classify: write your solution here")

    result = check(stub)
    assert (result.passed, result.score) == (False, 0)
    assert "not implemented yet" in result.message and "✗" not in result.message


def test_hints_do_not_give_the_answer_away():
    """No hint shows code that would solve the exercise, nor names the similarity that the exercise's design
    question asks the student to choose (the hints name the mistake and the requirement it breaks)."""
    for fn in (euclidean, train_not_normalised, least_similar, _top(1), neighbour_indices):
        message = check(fn).message
        for giveaway in ("F.normalize", "topk(", "cosine_similarity(", "one_hot", ".norm(", "cosine"):
            assert giveaway not in message.lower()
    for fn in (euclidean, train_not_normalised):
        assert "only a vector's direction counts" in check(fn).message


def test_cases_have_no_near_ties_at_the_kth_neighbour():
    """The judge computes in float64; a float32 solution must rank the same k neighbours."""
    for case in CASES:
        inputs = case.inputs()
        sims = evaluation._cosine(inputs).sort(dim=1, descending=True).values
        k = inputs["k"]
        if k < sims.shape[1]:
            assert (sims[:, k - 1] - sims[:, k]).min() > 1e-4, case.name


def test_discriminating_cases_really_discriminate():
    """Each trap case, on its own, fails the mistake it was built for."""
    by_name = {c.name: c for c in CASES}
    lengths = by_name["training vectors of very different lengths"]
    order = by_name["neighbours placed so that the k-th and (k+1)-th decide the vote"]
    for case, fn in [
        (lengths, euclidean),
        (lengths, train_not_normalised),
        (order, _top(1)),
        (order, _top(1, tie="largest")),
        (order, _top(1, tie="first seen")),
        (order, _top(-1)),
        (order, _top(-1, tie="first seen")),
        (order, _top(1, skip=1)),
        (order, one_nearest),
    ]:
        inputs = case.inputs()
        assert case.judge(case.inputs(), fn(*inputs.values())) is not None, (case.name, fn)


@pytest.mark.parametrize(
    "fn",
    [
        lambda tf, tl, qf, k=20: torch.zeros(len(qf), dtype=torch.long),
        lambda tf, tl, qf, k=20: torch.full((len(qf),), int(tl.mode().values), dtype=torch.long),  # the majority label
    ],
)
def test_a_constant_answer_earns_nothing(fn):
    """A constant label (the majority one too) is right when every point votes, or for a lone query: no points."""
    result = check_knn_classify(fn)
    assert not result.passed and result.score == 0, result

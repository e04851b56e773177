"""Evaluation protocols: k-NN against a naive reference, the linear probe against scikit-learn,
few-label fine-tuning on a toy anyone could learn, and the plumbing around them."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sslcourse import evaluate, viz
from sslcourse.evaluate import (
    classifier_accuracy,
    evaluate_backbone,
    extract_features,
    few_label_finetune,
    knn_accuracy,
    knn_classify,
    linear_probe,
)
from sslcourse.models import resnet18


def naive_knn(train, train_labels, queries, k):
    """The definition, one query and one training point at a time."""
    preds = []
    for q in queries:
        sims = [float(q @ t / (q.norm() * t.norm())) for t in train]
        nearest = sorted(range(len(train)), key=lambda i: -sims[i])[:k]
        votes = {}
        for i in nearest:
            votes[int(train_labels[i])] = votes.get(int(train_labels[i]), 0) + 1
        best = max(votes.values())
        preds.append(min(c for c, v in votes.items() if v == best))  # ties: smallest class
    return torch.tensor(preds)


def random_features(n, d=8, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, classes, (n,), generator=g)


# --------------------------------------------------------------------------- k-NN
@pytest.mark.parametrize("k", [1, 2, 5, 20, 60])
def test_knn_matches_naive_reference(k):
    train, labels = random_features(60)
    queries, _ = random_features(25, seed=1)
    assert torch.equal(knn_classify(train, labels, queries, k=k), naive_knn(train, labels, queries, k))


def test_knn_chunks_give_the_same_answer():
    train, labels = random_features(200)
    queries, _ = random_features(50, seed=1)
    assert torch.equal(knn_classify(train, labels, queries, k=7, chunk=3), knn_classify(train, labels, queries, k=7))


def test_knn_is_invariant_to_feature_scale():
    train, labels = random_features(100)
    queries, _ = random_features(30, seed=1)
    g = torch.Generator().manual_seed(2)
    scaled_train = train * torch.rand(100, 1, generator=g).add(0.1) * 50  # each point its own positive scale
    scaled_queries = queries * 0.001
    expected = knn_classify(train, labels, queries, k=5)
    assert torch.equal(knn_classify(scaled_train, labels, scaled_queries, k=5), expected)


def test_knn_hand_made_example():
    # Three directions, one class each; cosine ignores length, so the long vector (10, 0) is still "east".
    train = torch.tensor([[1.0, 0.0], [10.0, 0.0], [0.0, 1.0], [0.0, 2.0], [-1.0, 0.0]])
    labels = torch.tensor([0, 0, 1, 1, 2])
    queries = torch.tensor([[1.0, 0.1], [0.1, 5.0], [-3.0, 0.2], [1.0, 0.9]])
    assert knn_classify(train, labels, queries, k=1).tolist() == [0, 1, 2, 0]
    # k=2: [-3, 0.2] has west (class 2), then north (cos 0.07, class 1) before east (cos -1): a tie, -> 1
    assert knn_classify(train, labels, queries, k=2).tolist() == [0, 1, 1, 0]
    assert knn_classify(train, labels, queries, k=5).tolist() == [0, 0, 0, 0]  # everyone votes: 2-2-1, tie -> 0


def test_knn_ties_go_to_the_smallest_class():
    train = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.8, 0.2], [0.7, 0.3]])
    queries = torch.tensor([[1.0, 0.0]])
    assert knn_classify(train, torch.tensor([3, 1, 1, 3]), queries, k=4).item() == 1  # 2 votes each
    assert knn_classify(train, torch.tensor([3, 1, 1, 3]), queries, k=1).item() == 3  # no tie
    assert knn_classify(train, torch.tensor([5, 2, 7, 9]), queries, k=4).item() == 2  # four-way tie


def test_knn_rejects_k_above_n():
    train, labels = random_features(10)
    with pytest.raises(ValueError, match=r"k=11.*N=10"):
        knn_classify(train, labels, train, k=11)
    with pytest.raises(ValueError, match=r"k=0"):
        knn_classify(train, labels, train, k=0)


def test_knn_accuracy_perfect_separation():
    centres = torch.eye(3) * 5
    labels = torch.arange(30) % 3
    g = torch.Generator().manual_seed(0)
    train = centres[labels] + 0.1 * torch.randn(30, 3, generator=g)
    test = centres[labels] + 0.1 * torch.randn(30, 3, generator=g)
    result = knn_accuracy(train, labels, test, labels, k=5)
    assert result == {"knn_top1": 100.0, "k": 5} and type(result["knn_top1"]) is float


def test_knn_accuracy_takes_your_own_classifier():
    train, labels = random_features(40)

    def always_zero(train_features, train_labels, query_features, k):
        return torch.zeros(len(query_features), dtype=torch.long)

    result = knn_accuracy(train, labels, train, labels, k=3, classify=always_zero)
    assert result["knn_top1"] == pytest.approx(100 * (labels == 0).float().mean().item())


# --------------------------------------------------------------------------- linear probe
def test_linear_probe_on_separable_data():
    x, y = make_classification(
        3000, 64, n_informative=16, n_classes=5, n_clusters_per_class=1, class_sep=3.0, random_state=0
    )
    x, y = torch.tensor(x).float() * 7 + 3, torch.tensor(y)  # scale and shift: standardisation undoes them
    result = linear_probe(x[:2000], y[:2000], x[2000:], y[2000:])
    assert set(result) == {"linear_top1", "train_top1"}
    assert all(type(v) is float for v in result.values())
    assert result["linear_top1"] > 95 and result["train_top1"] > 95


def test_linear_probe_returns_its_layer_on_the_raw_features():
    """The returned layer takes unstandardised features and predicts exactly what the probe scored."""
    x, y = make_classification(1200, 20, n_informative=10, n_classes=4, random_state=2)
    x, y = torch.tensor(x).float() * 5 - 2, torch.tensor(y)
    result = linear_probe(x[:800], y[:800], x[800:], y[800:], epochs=10, return_layer=True)
    layer = result["layer"]
    assert isinstance(layer, torch.nn.Linear) and layer.weight.shape == (4, 20)
    with torch.no_grad():
        top1 = 100 * (layer(x[800:]).argmax(1) == y[800:]).float().mean().item()
    assert top1 == pytest.approx(result["linear_top1"], abs=1e-6)
    assert "layer" not in linear_probe(x[:800], y[:800], x[800:], y[800:], epochs=1)


def test_linear_probe_agrees_with_sklearn():
    digits = load_digits()  # 1,797 real 8x8 digit images, 64 pixel features
    order = np.random.RandomState(0).permutation(len(digits.target))
    x, y = digits.data[order].astype(np.float32), digits.target[order]
    scaler = StandardScaler().fit(x[:1200])
    sk = LogisticRegression(max_iter=2000).fit(scaler.transform(x[:1200]), y[:1200])
    sk_top1 = 100 * sk.score(scaler.transform(x[1200:]), y[1200:])
    ours = linear_probe(torch.tensor(x[:1200]), torch.tensor(y[:1200]), torch.tensor(x[1200:]), torch.tensor(y[1200:]))
    assert abs(ours["linear_top1"] - sk_top1) < 2.5, (ours, sk_top1)


def test_linear_probe_is_deterministic_for_a_seed():
    x, y = make_classification(600, 16, n_informative=8, n_classes=3, random_state=1)
    x, y = torch.tensor(x).float(), torch.tensor(y)
    a = linear_probe(x[:400], y[:400], x[400:], y[400:], epochs=5, seed=3)
    b = linear_probe(x[:400], y[:400], x[400:], y[400:], epochs=5, seed=3)
    assert a == b


# --------------------------------------------------------------------------- feature extraction
@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return resnet18(width=0.125)  # feature_dim 64


def test_extract_features(tiny_model):
    x = torch.randint(0, 256, (10, 3, 32, 32), dtype=torch.uint8)
    tiny_model.train()
    feats = extract_features(tiny_model, x, batch_size=4)
    assert feats.shape == (10, 64) and feats.dtype == torch.float32 and feats.device.type == "cpu"
    assert tiny_model.training  # flag restored
    tiny_model.eval()
    with torch.no_grad():
        expected = tiny_model.forward_features(x.float() / 255)
    assert torch.allclose(feats, expected, atol=1e-5)  # eval mode, uint8 -> [0, 1]
    assert torch.allclose(extract_features(tiny_model, x.float() / 255), feats, atol=1e-5)  # float input too
    assert not tiny_model.training


def test_extract_features_restores_mixed_modes(tiny_model):
    tiny_model.train()
    tiny_model.stem.eval()  # e.g. a frozen stem inside a model being trained
    extract_features(tiny_model, torch.rand(2, 3, 32, 32))
    assert tiny_model.training and tiny_model.stages[0].training and not tiny_model.stem.training
    with pytest.raises(ValueError, match="model.to"):
        extract_features(tiny_model, torch.rand(2, 3, 32, 32), device="meta")


def test_classifier_accuracy_uses_the_models_own_head():
    torch.manual_seed(0)
    model = resnet18(width=0.125, num_classes=10).train()
    x = torch.randint(0, 256, (12, 3, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        pred = model.eval()(x.float() / 255).argmax(1)
    model.train()
    labels = pred.clone()
    labels[:3] = (labels[:3] + 1) % 10  # 9 of 12 right
    accuracy = classifier_accuracy(model, x, labels, batch_size=5)
    assert type(accuracy) is float and accuracy == pytest.approx(75.0)
    assert model.training


def test_flip_tta_adds_the_logits_of_the_mirror_image():
    torch.manual_seed(0)
    model = resnet18(width=0.125, num_classes=10).eval()
    x = torch.rand(12, 3, 32, 32)
    with torch.no_grad():
        pred = (model(x) + model(x.flip(-1))).argmax(1)
        plain = model(x).argmax(1)
    assert classifier_accuracy(model, x, pred, flip_tta=True) == pytest.approx(100.0)
    assert classifier_accuracy(model, x, pred) == pytest.approx(100.0 * (plain == pred).float().mean().item())


# --------------------------------------------------------------------------- few-label fine-tuning
COLOURS = 0.1 + 0.8 * torch.tensor(
    [
        [0, 0, 0],
        [1, 1, 1],
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
        [1, 1, 0],
        [1, 0, 1],
        [0, 1, 1],
        [0.5, 0.5, 0.5],
        [1, 0.5, 0],
    ]
)


def colour_images(n, seed):
    """Ten classes of plain-coloured images with a little noise: trivially learnable."""
    labels = torch.arange(n) % 10
    noise = 0.05 * torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
    return ((COLOURS[labels][:, :, None, None] + noise).clamp(0, 1) * 255).to(torch.uint8), labels


def test_few_label_finetune_learns_and_leaves_the_model_alone(tiny_model):
    train, test = colour_images(200, seed=0), colour_images(100, seed=1)
    tiny_model.train()
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}  # BN statistics included
    result = few_label_finetune(tiny_model, *train, *test, per_class=5, steps=40, batch_size=32, lr=1e-2)
    assert all(torch.equal(before[k], v) for k, v in tiny_model.state_dict().items())
    assert tiny_model.training
    assert set(result) == {"few_label_top1", "per_class"} and type(result["few_label_top1"]) is float
    assert result["per_class"] == 5
    assert result["few_label_top1"] >= 90


def test_evaluate_backbone(tiny_model):
    train, test = colour_images(100, seed=0), colour_images(50, seed=1)
    result = evaluate_backbone(tiny_model, train, test, k=5, few_label=(1, 2), few_label_kw={"steps": 2})
    assert set(result) == {"knn_top1", "linear_top1", "few_label_top1@1", "few_label_top1@2", "n_train", "n_test"}
    assert result["n_train"] == 100 and result["n_test"] == 50
    assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in result.values())
    assert result["knn_top1"] > 90  # colours are far apart even for a random network
    assert set(evaluate_backbone(tiny_model, train, test, k=5, linear=False)) == {"knn_top1", "n_train", "n_test"}


def test_label_efficiency_curve_rises_with_labels():
    from sslcourse.evaluate import label_efficiency

    g = torch.Generator().manual_seed(0)
    centers = torch.randn(10, 16, generator=g) * 2

    def sample(n):
        y = torch.arange(n) % 10
        return centers[y] + torch.randn(n, 16, generator=g) * 2.0, y

    (ftr, ytr), (fte, yte) = sample(2000), sample(500)
    for probe in ("linear", "knn"):
        curve = label_efficiency(ftr, ytr, fte, yte, per_class=(1, 10, 100), probe=probe)
        assert list(curve) == [1, 10, 100]
        assert curve[1] < curve[100] and curve[100] > 60
    with pytest.raises(ValueError, match="probe"):
        label_efficiency(ftr, ytr, fte, yte, probe="svm")


def test_the_sklearn_cross_check_agrees_with_our_linear_probe():
    """Two separable-ish Gaussian classes: scikit-learn's logistic regression and ours land together."""
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(4, 16, generator=g) * 2
    y_train, y_test = torch.arange(800) % 4, torch.arange(400) % 4
    x_train = centers[y_train] + torch.randn(800, 16, generator=g) * 4
    x_test = centers[y_test] + torch.randn(400, 16, generator=g) * 4
    ours = evaluate.linear_probe(x_train, y_train, x_test, y_test)["linear_top1"]
    theirs = evaluate.sklearn_linear_probe(x_train, y_train, x_test, y_test)
    assert theirs["pred"].shape == (400,) and 40 < theirs["linear_top1"] < 95
    assert abs(ours - theirs["linear_top1"]) <= 3.0  # 400 test points: 3 points is about 1.3 standard errors


def test_confusion_matrix_and_tsne_draw(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    labels = torch.arange(200) % 10
    pred = torch.where(torch.arange(200) % 3 == 0, (labels + 1) % 10, labels)
    ax = viz.confusion_matrix(pred, labels, title="t")
    rows = ax.images[0].get_array()
    assert rows.shape == (10, 10) and np.allclose(rows.sum(axis=1), 1.0)  # each true class sums to 1
    g = torch.Generator().manual_seed(0)
    fig = viz.tsne({"a": torch.randn(200, 8, generator=g), "b": torch.randn(200, 8, generator=g)}, labels)
    assert len(fig.axes) == 2 and all(len(a.collections) == 10 for a in fig.axes)


def test_few_label_finetune_shows_its_progress_when_asked(tiny_model, capsys):
    train, test = colour_images(40, seed=0), colour_images(20, seed=1)
    few_label_finetune(tiny_model, *train, *test, per_class=2, steps=3, batch_size=8)
    assert "fine-tune" not in capsys.readouterr().err  # quiet by default: notebooks keep their outputs stable
    few_label_finetune(tiny_model, *train, *test, per_class=2, steps=3, batch_size=8, progress=True)
    assert "fine-tune, 2 labels/class" in capsys.readouterr().err

"""How good is a representation? Three standard answers, all on frozen or briefly tuned backbones.

- k-nearest neighbours on the features (Wu et al. 2018): no training at all, seconds to run.
- A linear probe: a linear classifier trained on the frozen features (the protocol of most SSL papers).
- Few-label fine-tuning: tune the whole network on a handful of labelled images per class.

Every public function returns plain Python numbers (accuracies in percent), never tensors, so the
results can go straight into a table, a plot or a JSON file.
"""

from __future__ import annotations

import contextlib
import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from sslcourse import augment
from sslcourse.data import few_label_indices
from sslcourse.device import precision_for


# --------------------------------------------------------------------------- helpers
def _model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _same_device(a: torch.device, b: torch.device) -> bool:
    """torch.device("cuda") and torch.device("cuda:0") count as the same (no index = the current one)."""
    return a.type == b.type and (a.index is None or b.index is None or a.index == b.index)


def _compute_device(model: nn.Module, device) -> torch.device:
    """`device`, or the model's when None; the model's parameters must already be there."""
    device = torch.device(device) if device is not None else _model_device(model)
    if not _same_device(device, _model_device(model)):
        raise ValueError(
            f"the model is on {_model_device(model)} but device={device}; move it first with model.to({str(device)!r})"
        )
    return device


@contextlib.contextmanager
def _eval_mode(model: nn.Module):
    """Eval mode inside the block (BN uses its running statistics, so outputs do not depend on the
    batch); afterwards every submodule gets its own flag back (a frozen BN may sit in a training model)."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for m, mode in modes.items():
            m.training = mode


def _autocast(device: torch.device):
    """The training loop's rule (`sslcourse.device.precision_for`): bf16 autocast on GPUs that have bf16
    units (Ampere and later), fp16 on older ones (Colab's T4), full precision on the CPU and MPS."""
    return precision_for(device).autocast(device)


def _to_float_images(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A batch moved to `device` as float in [0, 1]; uint8 is converted there (4x less to copy)."""
    batch = batch.to(device, non_blocking=True)
    return batch.float() / 255 if batch.dtype == torch.uint8 else batch.float()


def _batched(fn, images: torch.Tensor, batch_size: int, device: torch.device, progress: str | None = None):
    """Apply `fn` to images batch by batch without gradients; `progress`: a progress bar with that label.
    Shape: (N, 3, H, W) -> (N, ...) float32 on CPU."""
    from tqdm.auto import tqdm

    outs = []
    batches = images.split(batch_size)
    with torch.no_grad(), _autocast(device):
        for batch in tqdm(batches, desc=progress, unit="batch", disable=progress is None, leave=False):
            outs.append(fn(_to_float_images(batch, device)).float().cpu())
    return torch.cat(outs)


def _percent(pred: torch.Tensor, labels: torch.Tensor) -> float:
    pred, labels = torch.as_tensor(pred).cpu(), torch.as_tensor(labels).cpu()
    if pred.shape != labels.shape:
        raise ValueError(f"predictions {tuple(pred.shape)} and labels {tuple(labels.shape)} differ in shape")
    return 100.0 * (pred == labels).float().mean().item()


# --------------------------------------------------------------------------- features
def extract_features(
    model: nn.Module,
    images: torch.Tensor,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
    progress: str | None = None,
) -> torch.Tensor:
    """`model.forward_features` over all images, in eval mode and without gradients.

    images: uint8 (converted to [0, 1] per batch on the device) or float in [0, 1].
    device: where to compute; defaults to where the model's parameters are (the model must be there).
    Every submodule's train/eval flag is restored afterwards. Autocast by `precision_for` (bf16 or fp16 on CUDA).
    progress: show a progress bar with this label (a minute or more on a CPU for all of CIFAR-10).

    Shape: (N, 3, 32, 32) -> (N, D) float32 on the CPU.
    """
    device = _compute_device(model, device)
    with _eval_mode(model):
        return _batched(model.forward_features, images, batch_size, device, progress)


def classifier_accuracy(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
    flip_tta: bool = False,
) -> float:
    """Top-1 accuracy (%) of the model's own head (a model built with num_classes > 0), in eval mode.

    images: uint8 or float in [0, 1], (N, 3, 32, 32); labels (N,). Train/eval flags are restored.
    flip_tta: test-time augmentation, the logits of each image and of its mirror image added up.
    """
    if flip_tta:
        return classifier_accuracies(model, images, labels, batch_size, device)["flip_tta"]
    device = _compute_device(model, device)
    with _eval_mode(model):
        logits = _batched(model, images, batch_size, device)  # (N, num_classes)
    return _percent(logits.argmax(dim=1), labels)


def classifier_accuracies(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """{"plain": top-1 %, "flip_tta": top-1 % with flip test-time augmentation}, from one pass over the images
    and their mirror images (see `classifier_accuracy`)."""
    device = _compute_device(model, device)
    with _eval_mode(model):
        logits = _batched(lambda x: torch.stack([model(x), model(x.flip(-1))], dim=1), images, batch_size, device)
    return {
        "plain": _percent(logits[:, 0].argmax(dim=1), labels),  # logits (N, 2, num_classes)
        "flip_tta": _percent(logits.sum(dim=1).argmax(dim=1), labels),
    }


# --------------------------------------------------------------------------- k-NN
def knn_classify(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    query_features: torch.Tensor,
    k: int = 20,
    chunk: int = 1024,
) -> torch.Tensor:
    """Majority vote among the k training points most cosine-similar to each query.

    Ties between classes go to the smallest class index (`argmax` returns the first maximum).
    Queries are handled `chunk` at a time, so memory stays at chunk x N similarities.

    Shape: train (N, D), labels (N,), queries (M, D) -> predicted labels (M,).
    """
    if not 1 <= k <= len(train_features):
        raise ValueError(f"k must be between 1 and the training set size, got k={k} and N={len(train_features)}")
    train = F.normalize(train_features.float(), dim=1)  # unit vectors: dot product = cosine
    train_labels = train_labels.long().to(train.device)
    num_classes = int(train_labels.max()) + 1
    preds = []
    for query in F.normalize(query_features.float(), dim=1).split(chunk):
        nearest = (query @ train.T).topk(k, dim=1).indices  # (m, N) similarities -> (m, k) indices
        votes = F.one_hot(train_labels[nearest], num_classes).sum(dim=1)  # (m, k, C) -> (m, C)
        preds.append(votes.argmax(dim=1))
    return torch.cat(preds)


def knn_accuracy(train_features, train_labels, test_features, test_labels, k: int = 20, classify=knn_classify) -> dict:
    """Top-1 accuracy (%) of k-NN classification; k = 20 as in Wu et al. 2018 and DINO (Caron et al. 2021).

    `classify(train_features, train_labels, query_features, k=k)` may be swapped for your own.
    """
    pred = classify(train_features, train_labels, test_features, k=k)
    return {"knn_top1": _percent(pred, test_labels), "k": k}


# --------------------------------------------------------------------------- linear probe
def linear_probe(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    epochs: int = 30,
    lr: float = 1e-2,
    weight_decay: float = 1e-4,
    batch_size: int | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    return_layer: bool = False,
    num_classes: int | None = None,
) -> dict:
    """Train a linear classifier on frozen features; return its test and train top-1 accuracy (%).

    Features are standardised with the training mean and std, so one learning rate suits any backbone.
    Mini-batch AdamW with a cosine schedule from a zero-initialised layer (the problem is convex, so
    the start does not matter): deterministic for a seed on the CPU.
    batch_size None means ceil(N / 16): 16 steps an epoch, 480 in all, whatever N. The cost of a
    step on a GPU is mostly its fixed overhead, so few large batches are what make it fast there; on
    the tests' data they match scikit-learn's LogisticRegression as well as 5,900 batches of 256 do.
    The defaults take about 1 s for 50,000 x 256 features on 2 CPU cores.

    return_layer: also return the classifier as "layer", an nn.Linear on the raw (unstandardised) features
    with the standardisation folded into its weights: a head to start fine-tuning from (LP-FT).
    num_classes: the classifier's outputs (default: the largest label + 1), e.g. to match a model's head.

    Shape: train (N, D), labels (N,), test (M, D), labels (M,).
    """
    device = torch.device(device) if device is not None else train_features.device
    x_test, y_test = test_features.float().to(device), test_labels.long().to(device)
    num_classes = num_classes or int(max(train_labels.max().item(), y_test.max().item())) + 1
    layer, mean, std, x_train, y_train = _fit_standardised(
        train_features, train_labels, epochs, lr, weight_decay, batch_size, device, seed, num_classes
    )
    with torch.no_grad():
        out = {
            "linear_top1": _percent(layer((x_test - mean) / std).argmax(1), y_test),
            "train_top1": _percent(layer(x_train).argmax(1), y_train),
        }
    if return_layer:
        out["layer"] = _unstandardised(layer, mean, std)
    return out


def linear_head(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    num_classes: int,
    epochs: int = 30,
    lr: float = 1e-2,
    weight_decay: float = 1e-4,
    batch_size: int | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
) -> nn.Linear:
    """The classifier `linear_probe` trains (same recipe, same seed), without a test set: an nn.Linear on the
    raw features with the standardisation folded in, a head to start fine-tuning from (LP-FT). On the CPU."""
    device = torch.device(device) if device is not None else train_features.device
    layer, mean, std, _, _ = _fit_standardised(
        train_features, train_labels, epochs, lr, weight_decay, batch_size, device, seed, num_classes
    )
    return _unstandardised(layer, mean, std)


def _fit_standardised(train_features, train_labels, epochs, lr, weight_decay, batch_size, device, seed, num_classes):
    """The linear probe's training: a zero-initialised layer on the standardised features. Returns the layer,
    the training mean and std, and the standardised training features with their labels (on `device`)."""
    x_train, y_train = train_features.float().to(device), train_labels.long().to(device)
    mean, std = x_train.mean(dim=0), x_train.std(dim=0) + 1e-6  # eps: constant features become 0
    x_train = (x_train - mean) / std
    layer = nn.Linear(x_train.shape[1], num_classes).to(device)
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    n = len(x_train)
    batch_size = batch_size or math.ceil(n / 16)
    steps_per_epoch = math.ceil(n / batch_size)
    opt = torch.optim.AdamW(layer.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(n, generator=g).to(device).split(batch_size):
            loss = F.cross_entropy(layer(x_train[idx]), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return layer, mean, std, x_train, y_train


def _unstandardised(layer: nn.Linear, mean: torch.Tensor, std: torch.Tensor) -> nn.Linear:
    """`layer` on raw features, on the CPU: W (x - m) / s + b = (W / s) x + (b - (W / s) m)."""
    with torch.no_grad():
        raw = nn.Linear(layer.in_features, layer.out_features).to(mean.device)
        raw.weight.copy_(layer.weight / std)
        raw.bias.copy_(layer.bias - raw.weight @ mean)
    return raw.cpu()


# --------------------------------------------------------------------------- few-label fine-tuning
def few_label_finetune(
    model: nn.Module,
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    test_images: torch.Tensor,
    test_labels: torch.Tensor,
    per_class: int,
    steps: int = 300,
    batch_size: int = 64,
    lr: float = 1e-3,
    backbone_lr_scale: float = 0.1,
    weight_decay: float = 0.05,
    device: torch.device | str | None = None,
    seed: int = 0,
    progress: bool = False,
) -> dict:
    """Fine-tune a copy of the backbone plus a fresh linear head on `per_class` labels per class.
    `progress`: a progress bar over the steps and the test batches (minutes on a CPU: show that it moves).

    The caller's model is never modified. The subset is `few_label_indices(train_labels, per_class, seed)`.
    Training: random horizontal flips, AdamW with the backbone at `backbone_lr_scale` x the head's
    learning rate (its features are already useful; the fresh head has everything to learn), a
    cosine schedule, mixed precision by the training loop's rule (`sslcourse.device.precision_for`).
    images: uint8 or float in [0, 1], (N, 3, 32, 32); labels (N,).
    """
    device = torch.device(device) if device is not None else _model_device(model)
    g = torch.Generator().manual_seed(seed)
    backbone = copy.deepcopy(model).to(device).train().requires_grad_(True)  # tune everything, even if frozen
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    head = nn.Linear(backbone.feature_dim, num_classes).to(device)
    nn.init.zeros_(head.weight)  # zero start: deterministic, and the first logits are uniform
    nn.init.zeros_(head.bias)

    subset = few_label_indices(train_labels.cpu(), per_class, seed)  # (10 * per_class,)
    images = train_images[subset.to(train_images.device)].to(device)  # small: keep it on the device
    labels = train_labels[subset.to(train_labels.device)].long().to(device)
    opt = torch.optim.AdamW(
        [
            {"params": backbone.parameters(), "lr": lr * backbone_lr_scale},
            {"params": head.parameters(), "lr": lr},
        ],
        weight_decay=weight_decay,
    )
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    precision = precision_for(device)  # the training loop's rule; fp16 needs its gradient scaler
    scaler = precision.grad_scaler(device)
    from tqdm.auto import tqdm

    label = f"fine-tune, {per_class} labels/class"
    for _ in tqdm(range(steps), desc=label, unit="step", disable=not progress, leave=False):
        idx = torch.randint(len(images), (min(batch_size, len(images)),), generator=g).to(device)
        x, y = _to_float_images(images[idx], device), labels[idx]
        x = augment.random_flip(x, g)
        with precision.autocast(device):
            loss = F.cross_entropy(head(backbone.forward_features(x)), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()  # disabled (bf16, fp32): the plain loss and step
        scaler.step(opt)
        scaler.update()
        sched.step()

    backbone.eval()
    test = f"{label}: test" if progress else None
    pred = _batched(lambda x: head(backbone.forward_features(x)), test_images, 1024, device, test).argmax(1)
    return {"few_label_top1": _percent(pred, test_labels), "per_class": per_class}


# --------------------------------------------------------------------------- label efficiency
def label_efficiency(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    per_class=(1, 2, 5, 10, 20, 50, 100),
    probe: str = "linear",
    seed: int = 0,
) -> dict:
    """Accuracy (%) of a probe trained on only n labelled examples per class, for each n in `per_class`.

    The subsets are nested (`few_label_indices`), so the curve compares like with like. `probe` is
    "linear" (a linear probe) or "knn" (k = min(20, number of labelled examples)); the features stay frozen.
    Shape: train (N, D), labels (N,), test (M, D), labels (M,) -> {n: accuracy}.
    """
    if probe not in ("linear", "knn"):
        raise ValueError(f"probe must be 'linear' or 'knn', got {probe!r}")
    curve = {}
    for n in per_class:
        idx = few_label_indices(train_labels.cpu(), n, seed=seed).to(train_features.device)
        f, y = train_features[idx], train_labels[idx]
        if probe == "linear":
            curve[n] = linear_probe(f, y, test_features, test_labels, seed=seed)["linear_top1"]
        else:
            curve[n] = knn_accuracy(f, y, test_features, test_labels, k=min(20, len(f)))["knn_top1"]
    return curve


def sklearn_linear_probe(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    C: float = 1.0,
    max_iter: int = 1000,
) -> dict:
    """The same linear probe by scikit-learn: standardised features, then LogisticRegression (L-BFGS, to
    convergence, L2 penalty C). A cross-check of `linear_probe`, which is ours because it runs on a GPU in a
    second; on a CPU this one takes seconds for a few thousand examples. Returns linear_top1 (%) and the test
    predictions (for a confusion matrix).

    Shape: train (N, D), labels (N,), test (M, D), labels (M,) -> pred (M,).
    """
    from sklearn.linear_model import LogisticRegression  # scikit-learn: heavy to import, needed here only
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    probe.fit(train_features.float().cpu().numpy(), train_labels.cpu().numpy())
    pred = torch.as_tensor(probe.predict(test_features.float().cpu().numpy()))
    return {"linear_top1": _percent(pred, test_labels), "pred": pred}


# --------------------------------------------------------------------------- all at once
def evaluate_backbone(
    model: nn.Module,
    train: tuple,
    test: tuple,
    k: int = 20,
    linear: bool = True,
    few_label=(),
    device: torch.device | str | None = None,
    few_label_kw: dict | None = None,
    progress: bool = False,
) -> dict:
    """k-NN, linear probe and few-label fine-tuning of one backbone, from features extracted once.

    train, test: (images, labels) tuples. Returns knn_top1, linear_top1 (when `linear`),
    few_label_top1@{n} for each n in `few_label` (labels per class; `few_label_kw` goes to
    `few_label_finetune`, e.g. {"steps": 100}), n_train and n_test. `progress`: progress bars for the
    feature extraction (the command line shows them).
    """
    device = torch.device(device) if device is not None else _model_device(model)
    (train_images, train_labels), (test_images, test_labels) = train, test
    f_train = extract_features(model, train_images, device=device, progress="train features" if progress else None)
    f_test = extract_features(model, test_images, device=device, progress="test features" if progress else None)
    f_train, f_test = f_train.to(device), f_test.to(device)
    train_labels_d, test_labels_d = train_labels.to(device), test_labels.to(device)
    results = {"knn_top1": knn_accuracy(f_train, train_labels_d, f_test, test_labels_d, k=k)["knn_top1"]}
    if linear:
        probe = linear_probe(f_train, train_labels_d, f_test, test_labels_d, device=device)
        results["linear_top1"] = probe["linear_top1"]
    for n in few_label:
        r = few_label_finetune(
            model,
            train_images,
            train_labels,
            test_images,
            test_labels,
            n,
            device=device,
            progress=progress,
            **(few_label_kw or {}),
        )
        results[f"few_label_top1@{n}"] = r["few_label_top1"]
    results.update(n_train=len(train_labels), n_test=len(test_labels))
    return results

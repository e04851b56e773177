"""The method diagrams: each draws, and carries the shapes of the course's own models."""

import matplotlib
import pytest

matplotlib.use("Agg")

from sslcourse import diagrams  # noqa: E402
from sslcourse.models import build_model  # noqa: E402


def _texts(fig) -> str:
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts)


@pytest.mark.parametrize("method", diagrams.METHODS)
def test_each_diagram_draws_and_labels_every_shape(method):
    import matplotlib.pyplot as plt

    fig = diagrams.draw(method)
    try:
        fig.canvas.draw()  # lays the text out: a bad label fails here, not in the notebook
        text = _texts(fig)
        missing = [f"{k}={v}" for k, v in diagrams.shapes(method).items() if v not in text]
        assert not missing, f"{method}: shapes not written on the diagram: {missing}"
    finally:
        plt.close(fig)


def test_the_shapes_are_the_models_own():
    half = build_model("resnet18").feature_dim  # the half-width ResNet-18 of the recipes
    vit = build_model("vit_tiny")
    simclr, context = diagrams.shapes("simclr"), diagrams.shapes("context")
    assert simclr["h"] == f"(B, {half})" and simclr["z"] == "(B, 128)"
    assert context["h"] == f"(B, {half})" and context["pair"] == f"(B, {2 * half})" and context["logits"] == "(B, 8)"
    mae = diagrams.shapes("mae")
    tokens = (32 // vit.patch_size) ** 2
    assert mae["tokens"] == f"(B, {tokens}, {vit.feature_dim})" and mae["K"] == str(tokens // 4)
    assert mae["pred"] == f"(B, {tokens}, {vit.patch_size**2 * 3})"
    colour = diagrams.shapes("colorization")
    assert colour["logits"] == f"(B, {colour['Q']}, 16, 16)" and colour["L"] == "(B, 1, 32, 32)"


def test_the_shapes_follow_the_build_arguments():
    assert diagrams.shapes("simclr", width=0.125)["h"] == f"(B, {build_model('resnet18', width=0.125).feature_dim})"


def test_an_unknown_method_is_named_in_the_error():
    with pytest.raises(ValueError, match="no diagram for 'byol'"):
        diagrams.draw("byol")

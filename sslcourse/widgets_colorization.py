"""Notebook 02's widgets, for ipywidgets 7 and 8 alike (`observe(..., names="value")`, `on_click`, `Output`):
a temperature slider from the mean to the mode, and a real-or-fake quiz as in the paper's perceptual test.
Each returns the widget; the notebook shows a static figure of the default state beside it."""

from __future__ import annotations

import torch

from sslcourse.methods.colorization import Colorizer
from sslcourse.methods.colorization_bins import rgb_to_lab


def _figure(pics: list[torch.Tensor], titles: list[str], size: float = 1.6):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(pics), figsize=(size * len(pics), size + 0.3), squeeze=False)
    for ax, pic, title in zip(axes[0], pics, titles):
        ax.imshow(pic.permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig


def temperature_slider(model: Colorizer, images: torch.Tensor):
    """Slide the annealing temperature (log scale) from 1 (the mean of the distribution) to 0.01 (nearly its
    mode) and watch `images` (N, 3, H, W) uint8 recoloured live."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    L = rgb_to_lab(images.float() / 255)[:, :1]
    slider = widgets.FloatLogSlider(
        value=0.38, base=10, min=-2, max=0, step=0.05, description="T", readout_format=".2f"
    )
    out = widgets.Output()

    def render(_=None):
        pics = model.colorize(L, slider.value)
        with out:
            out.clear_output(wait=True)
            fig = _figure(
                list(pics) + list(images.float() / 255),
                [f"T = {slider.value:.2f}"] * len(pics) + ["truth"] * len(pics),
                size=1.2,
            )
            display(fig)
            plt.close(fig)

    slider.observe(render, names="value")
    render()
    return widgets.VBox([slider, out])


def real_or_fake_quiz(model: Colorizer, images: torch.Tensor, seed: int = 0, T: float = 0.38, zoom: float = 2.2):
    """The paper's perceptual test, at home: each round shows the real photo and its colorization side by side
    in a random order; click the one you think is real. The score counts how often the colorizer fooled you
    (the paper's: 32% of trials, against 50% for a perfect colorizer)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    g = torch.Generator().manual_seed(seed)
    fakes = model.colorize(rgb_to_lab(images.float() / 255)[:, :1], T)
    real_left = torch.rand(len(images), generator=g) < 0.5
    state = {"round": 0, "fooled": 0, "answered": 0}
    left, right = widgets.Button(description="left is real"), widgets.Button(description="right is real")
    score = widgets.Label(value="")
    out = widgets.Output()

    def pair(i):
        real, fake = images[i].float() / 255, fakes[i]
        return (real, fake) if real_left[i] else (fake, real)

    def render(message: str = ""):
        with out:
            out.clear_output(wait=True)
            i = state["round"]
            if i >= len(images):
                print(f"done: {message}")
            else:
                fig = _figure(list(pair(i)), ["left", "right"], size=zoom)
                display(fig)
                plt.close(fig)
                if message:
                    print(message)
        n, f = state["answered"], state["fooled"]
        score.value = f"round {min(state['round'] + 1, len(images))} of {len(images)}; fooled {f} of {n}" + (
            f" ({100 * f / n:.0f}%)" if n else ""
        )

    def answer(says_left: bool):
        i = state["round"]
        if i >= len(images):
            return
        right_answer = bool(real_left[i]) == says_left
        state["answered"] += 1
        state["fooled"] += 0 if right_answer else 1
        state["round"] += 1
        render("right, that was the real one" if right_answer else "fooled: that one was the colorization")

    left.on_click(lambda _: answer(True))
    right.on_click(lambda _: answer(False))
    render()
    return widgets.VBox([widgets.HBox([left, right, score]), out])

"""Augmentations by name: the registry the experiments and widgets choose from (SimCLR's grid of pairs,
`--set augmentations=...`), the `Augment` chain that applies them to a batch, and the two recipes the course
trains with.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from sslcourse.augment.batch import DeviceDefault, to_float
from sslcourse.augment.color import random_color, random_color_drop, random_color_jitter
from sslcourse.augment.filters import random_blur, random_noise, random_sobel
from sslcourse.augment.geometric import random_crop, random_cutout, random_flip, random_rotate, random_translate

Tensor = torch.Tensor


AUGMENTATIONS: dict[str, Callable[..., Tensor]] = {
    "crop": random_crop,
    "flip": random_flip,
    "color_jitter": random_color_jitter,
    "color_drop": random_color_drop,
    "color": random_color,
    "rotate": random_rotate,
    "cutout": random_cutout,
    "noise": random_noise,
    "blur": random_blur,
    "sobel": random_sobel,
    "translate": random_translate,
}


class Augment:
    """A chain of named augmentations, called as augment(x, generator); uint8 input becomes float first.

    With a `torch.Generator` the chain runs eagerly even inside torch.compile (draws from a Generator object
    cannot be traced); with `generator=None` it draws from the default generator of x's device and compiles
    into the caller's graph (the whole-step compilation of `sslcourse.train`)."""

    def __init__(self, steps: list[tuple[str, dict]]):
        self.steps = steps  # (name, keyword arguments) pairs, applied in order
        self._eager = None  # the chain behind torch.compiler.disable, made at first use (importing torch._dynamo
        # costs a second: `python -m sslcourse list` should not pay it)

    def __call__(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        if generator is None or isinstance(generator, DeviceDefault):
            return self._apply(x, generator if generator is not None else DeviceDefault(x.device))
        if self._eager is None:
            self._eager = torch.compiler.disable(self._apply)
        return self._eager(x, generator)

    def _apply(self, x: Tensor, generator) -> Tensor:
        if x.dtype == torch.uint8:
            x = to_float(x)
        for name, kwargs in self.steps:
            x = AUGMENTATIONS[name](x, generator, **kwargs)
        return x

    def __repr__(self) -> str:
        def step(name, kwargs):
            return name + (f"({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})" if kwargs else "")

        return f"Augment({' -> '.join(step(*s) for s in self.steps)})"


def compose(names, **overrides) -> Augment:
    """Chain AUGMENTATIONS by name; overrides give an op keyword arguments by its name, e.g.
    compose(["crop", "flip"], crop=dict(scale=(0.08, 1.0)))."""
    names = [names] if isinstance(names, str) else list(names)
    unknown = [n for n in [*names, *overrides] if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation(s) {unknown}; valid names: {', '.join(AUGMENTATIONS)}")
    unused = [n for n in overrides if n not in names]
    if unused:
        raise ValueError(f"overrides given for {unused}, which are not in the pipeline {names}")
    return Augment([(n, dict(overrides.get(n, {}))) for n in names])


def simclr_pipeline(size: int = 32) -> Augment:
    """SimCLR on CIFAR-10: crop (scale 0.2-1) -> flip -> colour (jitter 0.4/0.4/0.4/0.1 p 0.8, grey p 0.2)."""
    return compose(
        ["crop", "flip", "color"],
        crop=dict(size=size, scale=(0.2, 1.0)),
        color=dict(strength=0.5, jitter_p=0.8, drop_p=0.2),
    )


def supervised_pipeline() -> Augment:
    """The standard supervised CIFAR recipe: pad 4 and random crop, then flip."""
    return compose(["translate", "flip"])

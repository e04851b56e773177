"""The course's methods. Each module registers a builder and the recipe it is trained with.

build("supervised", arch="resnet18", width=0.5) -> nn.Module with training_loss(x, y, generator)
recipe("supervised") -> TrainConfig
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from torch import nn

from sslcourse.train import TrainConfig


@dataclass(frozen=True)
class MethodSpec:
    name: str
    build: Callable[..., nn.Module]
    recipe: TrainConfig
    summary: str


_REGISTRY: dict[str, MethodSpec] = {}


def register(name: str, recipe: TrainConfig, summary: str):
    """Decorator for a method builder: `@register("simclr", TrainConfig(...), "one line")`."""

    def wrap(fn):
        _REGISTRY[name] = MethodSpec(name, fn, recipe, summary)
        return fn

    return wrap


def registry() -> dict[str, MethodSpec]:
    """Every method of the package: each module in sslcourse/methods/ registers its own when imported."""
    for info in pkgutil.iter_modules(__path__):
        import_module(f"{__name__}.{info.name}")
    return dict(_REGISTRY)


def get(name: str) -> MethodSpec:
    methods = registry()
    if name not in methods:
        raise ValueError(f"unknown method {name!r}; the course has: {', '.join(sorted(methods))}")
    return methods[name]


def build(name: str, **kwargs) -> nn.Module:
    return get(name).build(**kwargs)

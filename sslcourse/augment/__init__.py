"""Batched image augmentations for self-supervised learning, on any device.

Every augmentation transforms a whole batch of float images (B, C, H, W) in [0, 1] at once, with
its own random parameters for every image, drawn from a `torch.Generator` so that a run can be
repeated exactly. The training engine keeps CIFAR-10 on the GPU as uint8 and augments it there,
so the code is written for GPUs: no Python loop over images, no copy back to the host (`.item()`,
boolean-mask indexing), per-image choices made with `torch.where`. Inputs are never modified.

Each random op comes in three parts, so that a notebook (or a test) can look at the parameters:
    sample_<op>_params(batch_size, generator, ...)  -> per-image parameters (on the generator's device)
    <op>(x, params, ...)                            -> the deterministic transform
    random_<op>(x, generator, ...)                  -> the two composed

Defaults follow SimCLR (Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
Representations", Appendix A), with its CIFAR-10 settings (Appendix B.9: colour strength 0.5, no
blur) and the crop scale (0.2, 1) of popular CIFAR recipes. No mean/std normalisation here: the
models do that themselves.

The package, by kind of operation (everything is importable from `sslcourse.augment` itself):
    geometric   where the pixels go: random resized crop, flip, rotation, cutout, translation
    color       what the pixels show: brightness, contrast, saturation, hue, grey, SimCLR's colour distortion
    filters     noise, Gaussian blur, Sobel edges
    pipeline    the registry of names (AUGMENTATIONS), `Augment` chains, `compose`, the SimCLR and supervised recipes
    batch       the per-image draws and selection they all share (`DeviceDefault`, `to_float`)
"""

from __future__ import annotations

from sslcourse.augment.batch import DeviceDefault, to_float
from sslcourse.augment.color import (
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    color_drop,
    color_jitter,
    luma,
    random_color,
    random_color_drop,
    random_color_jitter,
    sample_color_drop_params,
    sample_color_jitter_params,
    to_grayscale,
)
from sslcourse.augment.filters import (
    add_noise,
    blur_kernel_size,
    gaussian_blur,
    random_blur,
    random_noise,
    random_sobel,
    sample_blur_params,
    sample_noise_params,
    sobel,
)
from sslcourse.augment.geometric import (
    cutout,
    hflip,
    random_crop,
    random_cutout,
    random_flip,
    random_rotate,
    random_translate,
    resized_crop,
    rotate90,
    sample_crop_params,
    sample_cutout_params,
    sample_flip_params,
    sample_rotation_params,
    sample_translate_params,
    translate,
)
from sslcourse.augment.pipeline import AUGMENTATIONS, Augment, compose, simclr_pipeline, supervised_pipeline

__all__ = [
    "AUGMENTATIONS",
    "Augment",
    "DeviceDefault",
    "add_noise",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "blur_kernel_size",
    "color_drop",
    "color_jitter",
    "compose",
    "cutout",
    "gaussian_blur",
    "hflip",
    "luma",
    "random_blur",
    "random_color",
    "random_color_drop",
    "random_color_jitter",
    "random_crop",
    "random_cutout",
    "random_flip",
    "random_noise",
    "random_rotate",
    "random_sobel",
    "random_translate",
    "resized_crop",
    "rotate90",
    "sample_blur_params",
    "sample_color_drop_params",
    "sample_color_jitter_params",
    "sample_crop_params",
    "sample_cutout_params",
    "sample_flip_params",
    "sample_noise_params",
    "sample_rotation_params",
    "sample_translate_params",
    "simclr_pipeline",
    "sobel",
    "supervised_pipeline",
    "to_float",
    "to_grayscale",
    "translate",
]

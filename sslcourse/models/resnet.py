"""ResNet-18 for 32x32 images, with a width multiplier.

The CIFAR stem (a 3x3 stride-1 first convolution, no max-pool) keeps a 32x32 image at full
resolution in the first stage, as in SimCLR's CIFAR-10 experiments (Chen et al. 2020, Appendix B.9);
ImageNet's stem (7x7 stride 2, then a max-pool) would shrink it to 8x8 before the first block.

Every model in `sslcourse.models` takes float images in [0, 1] and normalises them itself with
CIFAR-10's mean and std (`Normalize` below), so no notebook can forget to.
"""

from __future__ import annotations

import torch
from torch import nn

from sslcourse.data import MEAN, STD


class Normalize(nn.Module):
    """Check that the input is a batch of float RGB images, then standardise it per channel.

    The mean and std are non-persistent buffers: they follow `.to(device)` but stay out of
    `state_dict()`, so checkpoints hold only learned weights.

    Shape: (B, 3, H, W) -> (B, 3, H, W).
    """

    def __init__(self, mean=MEAN, std=STD):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x)
        return (x - self.mean) / self.std


def check_images(x: torch.Tensor) -> None:
    """Raise a clear error unless `x` is a float batch (B, 3, H, W)."""
    if x.dtype == torch.uint8:
        raise TypeError(
            f"got uint8 images {tuple(x.shape)}; the models expect float images in [0, 1]: "
            "convert them first with `images.float() / 255`"
        )
    if not x.is_floating_point():
        raise TypeError(f"expected float images in [0, 1], got dtype {x.dtype}")
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected images (B, 3, H, W), got {tuple(x.shape)}")


class BasicBlock(nn.Module):
    """Two 3x3 convolutions and a shortcut: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).

    Shape: (B, in_ch, H, W) -> (B, out_ch, H / stride, W / stride).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)  # no bias: the BN after it has one
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or in_ch != out_ch:  # a 1x1 projection when the shape changes (He et al. 2016, option B)
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """A ResNet with the CIFAR stem; four stages, each halving the resolution after the first.

    Input: float images (B, 3, 32, 32) in [0, 1] (other sizes work; the last map is H/8 x W/8).
    Shape:
        forward_stages(x)       -> [(B, C1, 32, 32), (B, C2, 16, 16), (B, C3, 8, 8), (B, D, 4, 4)]
        forward_feature_maps(x) -> (B, D, 4, 4)
        forward_features(x)     -> (B, D)            D = feature_dim
        forward_head(h)         -> (B, num_classes)  or (B, D) when num_classes = 0
        forward(x)              =  forward_head(forward_features(x))
    """

    def __init__(self, blocks=(2, 2, 2, 2), width: float = 0.5, num_classes: int = 0):
        super().__init__()
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        # width 1 is the standard 64-128-256-512; below 8 channels a stage has too little to say.
        widths = [max(8, round(c * width)) for c in (64, 128, 256, 512)]
        self.normalize = Normalize()
        self.stem = nn.Sequential(
            nn.Conv2d(3, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)
        )
        stages, in_ch = [], widths[0]
        for i, (ch, n) in enumerate(zip(widths, blocks)):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(BasicBlock(in_ch, ch, stride), *[BasicBlock(ch, ch) for _ in range(n - 1)]))
            in_ch = ch
        self.stages = nn.ModuleList(stages)
        self.feature_dim = widths[-1]
        self.num_classes = num_classes
        self.head = nn.Linear(self.feature_dim, num_classes) if num_classes > 0 else nn.Identity()
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):  # He et al. 2015, as torchvision's ResNet
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        # Zero the last BN's gamma in each block, so every block starts as the identity: this helps
        # short schedules and large batches (Goyal et al. 2017, "Accurate, Large Minibatch SGD", 5.1).
        for m in self.modules():
            if isinstance(m, BasicBlock):
                nn.init.zeros_(m.bn2.weight)

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The output of each of the four stages. Shape: (B, 3, H, W) -> 4 maps, see the class."""
        x = self.stem(self.normalize(x))
        outs = []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return outs

    def forward_feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        """The last convolutional map, for dense methods. Shape: (B, 3, 32, 32) -> (B, D, 4, 4)."""
        return self.forward_stages(x)[-1]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The representation h: global average pooling of the last map. Shape: (B, 3, 32, 32) -> (B, D)."""
        return self.forward_feature_maps(x).mean(dim=(2, 3))

    def forward_head(self, h: torch.Tensor) -> torch.Tensor:
        """Shape: (B, D) -> (B, num_classes), or unchanged when num_classes = 0."""
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def resnet18(width: float = 0.5, num_classes: int = 0) -> ResNet:
    """ResNet-18 (BasicBlocks [2, 2, 2, 2]) with base widths 64*width, 128*width, 256*width, 512*width.

    The default width 0.5 gives 32-64-128-256 channels, feature_dim 256 and about 2.8M parameters.
    """
    return ResNet((2, 2, 2, 2), width=width, num_classes=num_classes)

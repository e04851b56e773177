"""Colour space for colorization (Zhang, Isola, Efros, ECCV 2016): CIE Lab, the in-gamut ab bins, the ab prior.

- `rgb_to_lab` / `lab_to_rgb`: sRGB in [0, 1] <-> CIE Lab (D65 white), batched in torch, following the same
  formulas as scikit-image's `rgb2lab` / `lab2rgb` (tests/test_colorization.py compares them). L is lightness
  in [0, 100]; a (green-red) and b (blue-yellow) are roughly in [-110, 110].
- `in_gamut_bins(grid)`: the centres of the ab cells of size grid x grid that some displayable colour falls
  in, derived here from the sRGB gamut (not copied from the paper's table of 313).
- `ab_prior(images, centers)`: how often each bin occurs in a set of images, smoothed with a Gaussian
  (sigma 5 in ab units, the paper's Section 2.2).
"""

from __future__ import annotations

from functools import lru_cache

import torch

# sRGB (linear) -> XYZ, and the D65 reference white of the 2-degree observer: scikit-image's constants.
_RGB_TO_XYZ = torch.tensor(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=torch.float64,
)
_WHITE = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)
_XYZ_TO_RGB = torch.linalg.inv(_RGB_TO_XYZ)  # inverted once, here on the CPU: MPS has no float64
_EPS = 0.008856  # where CIE's cube root gives way to a straight line near black
GRID = 10  # the paper's bin size in ab


def _as_channels_first(x: torch.Tensor, name: str) -> None:
    if not torch.is_tensor(x) or x.dim() < 1 or x.shape[-3 if x.dim() >= 3 else 0] != 3:
        raise ValueError(
            f"{name} must be a tensor (..., 3, H, W) or (3,), got "
            f"{tuple(x.shape) if torch.is_tensor(x) else type(x).__name__}"
        )


def _full_precision(fn):
    """Run `fn` outside autocast: in bf16 the colour matrices would move ab by a unit or more."""

    def wrapped(x, *args, **kwargs):
        device_type = x.device.type if torch.is_tensor(x) else "cpu"
        with torch.autocast(device_type, enabled=False):
            return fn(x, *args, **kwargs)

    wrapped.__doc__, wrapped.__name__ = fn.__doc__, fn.__name__
    return wrapped


@_full_precision
def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] -> CIE Lab. Shape: (..., 3, H, W) -> (..., 3, H, W) with channels L, a, b."""
    _as_channels_first(rgb, "rgb")
    if not rgb.is_floating_point():
        raise TypeError(f"rgb must be float in [0, 1], got {rgb.dtype}; convert uint8 with `x.float() / 255`")
    dtype = rgb.dtype
    x = rgb.double() if dtype == torch.float64 else rgb.float()
    x = torch.where(x > 0.04045, ((x + 0.055) / 1.055).clamp_min(0) ** 2.4, x / 12.92)  # undo the sRGB gamma
    m = _RGB_TO_XYZ.to(x) / _WHITE.to(x)[:, None]  # XYZ relative to the white point
    xyz = torch.einsum("ij,...jhw->...ihw", m, x) if x.dim() >= 3 else m @ x
    f = torch.where(xyz > _EPS, xyz.clamp_min(_EPS) ** (1 / 3), 7.787 * xyz + 16 / 116)
    fx, fy, fz = f.unbind(-3 if x.dim() >= 3 else 0)
    lab = torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=-3 if x.dim() >= 3 else 0)
    return lab.to(dtype)


@_full_precision
def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """CIE Lab -> sRGB in [0, 1] (clipped: colours outside the gamut cannot be shown).
    Shape: (..., 3, H, W) -> (..., 3, H, W)."""
    _as_channels_first(lab, "lab")
    dim = -3 if lab.dim() >= 3 else 0
    x = lab.double() if lab.dtype == torch.float64 else lab.float()
    L, a, b = x.unbind(dim)
    fy = (L + 16) / 116
    f = torch.stack([fy + a / 500, fy, (fy - b / 200).clamp_min(0)], dim=dim)  # as skimage: z never negative
    xyz = torch.where(f > 0.2068966, f**3, (f - 16 / 116) / 7.787) * _WHITE.to(x).view(3, *([1] * (-dim - 1)))
    m = _XYZ_TO_RGB.to(x)
    rgb = torch.einsum("ij,...jhw->...ihw", m, xyz) if x.dim() >= 3 else m @ xyz
    rgb = torch.where(rgb > 0.0031308, 1.055 * rgb.clamp_min(0.0031308) ** (1 / 2.4) - 0.055, 12.92 * rgb)
    return (rgb.clamp(0, 1) if clip else rgb).to(lab.dtype)


def lightness(rgb: torch.Tensor) -> torch.Tensor:
    """L of CIE Lab in [0, 100]. Shape: (B, 3, H, W) -> (B, 1, H, W)."""
    return rgb_to_lab(rgb)[:, :1]


# --------------------------------------------------------------------------- the bins
def _rgb_cube_surface(levels: int) -> torch.Tensor:
    """The colours on the six faces of the RGB cube, `levels` per axis. Shape: () -> (3, 6 * levels^2)."""
    v = torch.linspace(0, 1, levels, dtype=torch.float64)
    grid = torch.cartesian_prod(v, v).T  # (2, levels^2)
    faces = []
    for channel in range(3):
        for value in (0.0, 1.0):
            face = torch.full((3, grid.shape[1]), value, dtype=torch.float64)
            face[[c for c in range(3) if c != channel]] = grid
            faces.append(face)
    return torch.cat(faces, dim=1)


@lru_cache(maxsize=4)
def _gamut_bins(grid: int, levels: int) -> tuple[tuple[float, float], ...]:
    # Lab is a continuous one-to-one map, so the gamut's boundary is the image of the cube's surface, and the
    # ab shadow of the solid is the shadow of its boundary: the six faces are enough (and 50x cheaper).
    rgb = _rgb_cube_surface(levels)
    ab = rgb_to_lab(rgb[:, :, None])[1:, :, 0]  # (2, 6 * levels^2)
    cells = torch.unique(torch.round(ab / grid).long(), dim=1)  # the grid cell each colour falls in
    return tuple((float(a * grid), float(b * grid)) for a, b in cells.T.tolist())


def in_gamut_bins(grid: int = GRID, levels: int = 256) -> torch.Tensor:
    """Centres of the ab cells (grid x grid, centred on multiples of `grid`) that hold at least one sRGB
    colour of any lightness, found by converting the surface of the RGB cube (`levels` per axis; 256: every
    8-bit colour on it) to Lab.

    Shape: () -> (Q, 2), sorted by a then b. With grid 10, Q = 261, not the paper's 313 (notebook 02 and
    `experiments.colorization.gamut_counts` compare conventions)."""
    if grid <= 0 or levels < 2:
        raise ValueError(f"grid ({grid}) must be positive and levels ({levels}) at least 2")
    return torch.tensor(_gamut_bins(int(grid), int(levels)), dtype=torch.float32)


def nearest_bin(ab: torch.Tensor, centers: torch.Tensor, chunk: int = 1 << 18) -> torch.Tensor:
    """Index of the nearest bin centre, `chunk` colours at a time (memory: chunk x Q distances).
    Shape: (N, 2), (Q, 2) -> (N,) int64."""
    centers = centers.float().to(ab.device)
    return torch.cat([torch.cdist(part.float(), centers).argmin(dim=1) for part in ab.split(chunk)])


def ab_histogram(images: torch.Tensor, centers: torch.Tensor, batch_size: int = 2048) -> torch.Tensor:
    """How many pixels of `images` fall nearest to each bin. Shape: uint8 (N, 3, H, W) -> (Q,) float64."""
    counts = torch.zeros(len(centers), dtype=torch.float64)
    for batch in images.split(batch_size):
        ab = rgb_to_lab(batch.float() / 255)[:, 1:].permute(0, 2, 3, 1).reshape(-1, 2)  # (B*H*W, 2)
        counts += torch.bincount(nearest_bin(ab, centers), minlength=len(centers)).double()
    return counts


def smooth_prior(counts: torch.Tensor, centers: torch.Tensor, sigma: float = 5.0) -> torch.Tensor:
    """The bin frequencies smoothed by a Gaussian of `sigma` ab units across bins, renormalised to sum 1.
    Each bin's mass is spread over its neighbours; as the bins are on a grid this is the paper's smoothing of
    the empirical distribution. Shape: (Q,), (Q, 2) -> (Q,)."""
    p = counts.double() / counts.sum()
    d2 = torch.cdist(centers.double(), centers.double()) ** 2  # (Q, Q)
    kernel = torch.exp(-d2 / (2 * sigma**2))
    kernel = kernel / kernel.sum(dim=0, keepdim=True)  # each source bin gives away exactly its mass
    smoothed = kernel @ p
    return (smoothed / smoothed.sum()).float()

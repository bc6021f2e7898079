"""Deterministic noise on a fixed world grid: integer hashing and separable value noise.

Every value is a pure function of absolute coordinates (integer lattice indices in the CRS
units) and a seed, so any chunking of an output grid gives bit-identical results.
"""
from __future__ import annotations

import numpy as np

_M1 = np.uint32(0x8DA6B343)
_M2 = np.uint32(0xD8163841)
_M3 = np.uint32(0xCB1AB31F)
_M4 = np.uint32(0x5BD1E995)
_M5 = np.uint32(0x27D4EB2F)


def _u32(a: np.ndarray | int) -> np.ndarray:
    """Wrap integers (possibly negative int64) into uint32."""
    return np.asarray(a, dtype=np.int64).astype(np.uint32)


def hash2(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """uint32 hash of integer lattice coordinates (broadcasting) and a seed."""
    with np.errstate(over="ignore"):
        h = (_u32(ix) * _M1) ^ (_u32(iy) * _M2) ^ (np.uint32(seed & 0xFFFFFFFF) * _M3)
        h ^= h >> np.uint32(15)
        h *= _M4
        h ^= h >> np.uint32(13)
        h *= _M5
        h ^= h >> np.uint32(16)
    return h


def hash01(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """Uniform float32 in [0, 1) from a lattice hash."""
    return (hash2(ix, iy, seed) >> np.uint32(8)).astype(np.float32) * np.float32(1.0 / (1 << 24))


def hash_seed(*parts: int | str) -> int:
    """Combine integers/strings into one 32-bit seed (stable across runs and machines)."""
    h = 0x811C9DC5
    for part in parts:
        data = str(part).encode()
        for byte in data:
            h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
        h = ((h ^ 0xFF) * 0x01000193) & 0xFFFFFFFF
    return h


def _axis_weights(coords: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Lattice cell index and smoothstep weight of 1-D coordinates for a lattice spacing."""
    g = coords / spacing
    i0 = np.floor(g)
    f = (g - i0).astype(np.float32)
    f = f * f * (np.float32(3.0) - np.float32(2.0) * f)
    return i0.astype(np.int64), f


def _lattice_rows(xs: np.ndarray, ys: np.ndarray, spacing: float, seed: int):
    """Lattice values interpolated along x, plus the y cell indices and weights."""
    ix, fx = _axis_weights(xs, spacing)
    iy, fy = _axis_weights(ys, spacing)
    x_lo, y_lo = int(ix.min()), int(iy.min())
    lat_x = np.arange(x_lo, int(ix.max()) + 2)
    lat_y = np.arange(y_lo, int(iy.max()) + 2)
    lattice = hash01(lat_x[None, :], lat_y[:, None], seed)  # (Ly, Lx)
    jx = ix - x_lo
    rows = lattice[:, jx] * (np.float32(1.0) - fx) + lattice[:, jx + 1] * fx  # (Ly, nx)
    return rows, iy - y_lo, fy


def _accumulate(total: np.ndarray, work: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                spacing: float, seed: int, weight: float) -> None:
    """total += weight * value_noise(...), in place (no full-size temporaries)."""
    rows, jy, fy = _lattice_rows(xs, ys, spacing, seed)
    w = np.float32(weight)
    np.take(rows, jy, axis=0, out=work)
    work *= ((np.float32(1.0) - fy) * w)[:, None]
    total += work
    np.take(rows, jy + 1, axis=0, out=work)
    work *= (fy * w)[:, None]
    total += work


def value_noise(xs: np.ndarray, ys: np.ndarray, spacing: float, seed: int) -> np.ndarray:
    """Smooth value noise in [0, 1) on the grid ``ys x xs`` (1-D coordinate axes, CRS units).

    Lattice values are hashed from absolute lattice indices; interpolation is separable
    (first along x for the few lattice rows, then along y), all elementwise float32.
    """
    total = np.zeros((len(ys), len(xs)), dtype=np.float32)
    _accumulate(total, np.empty_like(total), xs, ys, spacing, seed, 1.0)
    return total


def fbm(xs: np.ndarray, ys: np.ndarray, spacings: tuple[float, ...], seed: int,
        min_spacing: float = 0.0, gain: float = 0.5, out: np.ndarray | None = None,
        work: np.ndarray | None = None) -> np.ndarray:
    """Fractal sum of value-noise octaves (largest spacing first), normalised to mean 0.5.

    Octaves with spacing below ``min_spacing`` (finer than the pixels can show) contribute
    their mean instead, which keeps coarse previews free of aliasing. ``out``/``work`` are
    optional float32 buffers of the output shape (avoids page faults of fresh allocations).
    """
    shape = (len(ys), len(xs))
    total = out if out is not None else np.empty(shape, dtype=np.float32)
    work = work if work is not None else np.empty(shape, dtype=np.float32)
    amps = [gain ** k for k in range(len(spacings))]
    norm = sum(amps)
    const = sum(a * 0.5 for a, sp in zip(amps, spacings) if sp < min_spacing) / norm
    total.fill(np.float32(const))
    for k, (spacing, amp) in enumerate(zip(spacings, amps)):
        if spacing >= min_spacing:
            _accumulate(total, work, xs, ys, spacing, seed + 7919 * k, amp / norm)
    return total


def pixel_hash01(gx: np.ndarray, gy: np.ndarray, seed: int) -> np.ndarray:
    """Per-pixel uniform noise from global integer pixel indices (1-D axes -> 2-D grid)."""
    return hash01(gx[None, :], gy[:, None], seed)

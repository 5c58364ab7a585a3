"""Data augmentation: new training digits from old ones, made on the fly for each mini-batch.

Every transform moves pixels. Output pixel (r, c) takes the input's value at a source point
(r', c'), read by bilinear interpolation between the four pixels around it (zero outside the
image). The transforms differ only in where the source points lie:

    (r', c') = A (r - m, c - m) + m + t + alpha * (smooth(u_r), smooth(u_c))(r, c)
               \\_____ affine: A, t ______/   \\______________ elastic _______________/

with m = 13.5 the image's centre. Per image, drawn at random:

    shift     t: whole pixels, at most `shift` each way; A = I
    affine    A: rotation, horizontal shear and scaling (each axis on its own) about the centre
    elastic   u_r, u_c uniform in [-1, 1] per pixel, smoothed by a Gaussian of width sigma and
              scaled by alpha (Simard, Steinkraus & Platt 2003)
    ciresan   affine and elastic together (Ciresan, Meier, Gambardella & Schmidhuber 2010)

All of it is vectorised over the batch and written against the batch's array namespace, so it
runs wherever training runs, the GPU included: the smoothing is two matrix products with a
Gaussian matrix, the interpolation four gathers. The random numbers come from a NumPy generator
the caller seeds, so a seed gives the same digits every time; the elastic noise, a number per
pixel, is drawn on the batch's device from a seed that generator gives (backend.random_generator),
so on a GPU the same seed gives other digits than on the CPU, as it does for dropout.
"""
from dataclasses import asdict, dataclass

import numpy as np

from . import accel
from .backend import namespace, random_generator, to_device
from .checks import real, whole
from .errors import DigitnetError

SIDE = 28
CENTRE = (SIDE - 1) / 2
KINDS = ("none", "shift", "affine", "elastic", "ciresan")
USED = {"none": (), "shift": ("shift",), "affine": ("rotate", "shear", "scale"), "elastic": ("sigma", "alpha")}
USED["ciresan"] = USED["affine"] + USED["elastic"]          # the strengths each kind uses


@dataclass(frozen=True)
class Augment:
    """Augmentation of kind `kind` with its strengths. augment(x, rng): x (batch, 784) in [0, 1],
    rng a NumPy generator -> a new (batch, 784) array in x's namespace, dtype and device."""

    kind: str = "none"
    shift: int = 2              # pixels each way (shift)
    rotate: float = 15.0        # degrees each way (affine, ciresan)
    shear: float = 15.0         # degrees each way
    scale: float = 0.15         # relative, each way: 0.15 scales each axis by 85% to 115%
    sigma: float = 6.0          # width of the Gaussian that smooths the elastic field, in pixels
    alpha: float = 36.0         # strength of the elastic field

    def __post_init__(self):
        if self.kind not in KINDS:
            raise DigitnetError(f"unknown augmentation {self.kind!r}: choose one of {', '.join(KINDS)}")
        if not whole(self.shift, 0) or not self.shift < SIDE:
            raise DigitnetError(f"augmentation shift {self.shift} must be a whole number of pixels, 0 to 27")
        for name, top in (("rotate", 180), ("shear", 60), ("scale", 0.9), ("alpha", 1000)):
            value = getattr(self, name)
            if not (real(value) and 0 <= value <= top):
                raise DigitnetError(f"augmentation {name} {value} must be between 0 and {top}")
        if not (real(self.sigma) and 0.5 <= self.sigma <= 50):
            raise DigitnetError(f"augmentation sigma {self.sigma} must be between 0.5 and 50 pixels")

    def settings(self):
        """The parameters that matter for this kind, for messages and model metadata."""
        return {"kind": self.kind, **{k: int(v) if k == "shift" else float(v) for k, v in asdict(self).items()
                                      if k in USED[self.kind]}}

    def __call__(self, x, rng):
        if self.kind == "none":
            return x
        if x.ndim != 2 or x.shape[1] != 784:
            raise DigitnetError(f"augmentation moves the pixels of 28x28 digits, rows of 784: not a batch of "
                                f"shape {tuple(x.shape)}")
        xp, batch = namespace(x), x.shape[0]
        a, t = self.affine_maps(batch, rng)
        dr = dc = None
        if self.kind in ("elastic", "ciresan"):
            dr, dc = elastic_field(batch, rng, self.sigma, self.alpha, xp, x.dtype)
        move = accel.fused_warp(x) or warp                   # the same warp, as one loop where it can be
        return move(x, to_device(a, xp), to_device(t, xp), dr, dc)

    def affine_maps(self, batch, rng):
        """A (batch, 2, 2) and t (batch, 2): each image's affine map, float32 NumPy arrays."""
        a = np.broadcast_to(np.eye(2), (batch, 2, 2)).copy()
        t = np.zeros((batch, 2))
        if self.kind == "shift":
            t = rng.integers(-self.shift, self.shift + 1, (batch, 2)).astype(np.float64)
        if self.kind in ("affine", "ciresan"):
            angle, skew = (np.radians(rng.uniform(-v, v, batch)) for v in (self.rotate, self.shear))
            zoom = rng.uniform(1 - self.scale, 1 + self.scale, (batch, 2))
            cos, sin = np.cos(angle), np.sin(angle)
            rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
            shear = a.copy()
            shear[:, 1, 0] = np.tan(skew)                    # c' = c + tan(skew) * r
            a = rotation @ shear / zoom[:, :, None]          # source = A (output - centre): undoes a zoom
        return a.astype(np.float32), t.astype(np.float32)


def warp(x, a, t, dr=None, dc=None):
    """x (batch, 784) moved by the affine maps a (batch, 2, 2), t (batch, 2) and the displacement
    field dr, dc (batch, 28, 28) if given: each output pixel read at its source point by bilinear
    interpolation -> (batch, 784). The reference for accel.fused_warp."""
    xp = namespace(x)
    grid = xp.astype(xp.arange(SIDE), x.dtype) - CENTRE
    r, c = xp.reshape(grid, (1, SIDE, 1)), xp.reshape(grid, (1, 1, SIDE))
    rows = a[:, 0, 0, None, None] * r + a[:, 0, 1, None, None] * c + (t[:, 0, None, None] + CENTRE)
    cols = a[:, 1, 0, None, None] * r + a[:, 1, 1, None, None] * c + (t[:, 1, None, None] + CENTRE)
    if dr is not None:
        rows, cols = rows + dr, cols + dc
    return bilinear(x, rows, cols)


def gaussian_matrix(sigma, size=SIDE):
    """G (size, size) with G @ f the Gaussian smoothing of f along its first axis (width sigma);
    each row sums to 1, so the kernel is renormalised where it runs off the image."""
    d = np.arange(size)[:, None] - np.arange(size)[None, :]
    g = np.exp(-0.5 * (d / sigma) ** 2)
    return g / g.sum(axis=1, keepdims=True)


def elastic_field(batch, rng, sigma, alpha, xp, dtype=np.float32):
    """(dr, dc), each (batch, 28, 28) in namespace xp: uniform noise in [-1, 1] smoothed along the
    rows and along the columns by a Gaussian of width sigma, times alpha (Simard et al. 2003).

    The noise is drawn as (28, 2 * batch, 28), row index first, so that both smoothings are one
    matrix product each over the whole batch (G u for every image, then u G^T); the fields are
    views of the result, with the row index moved back."""
    noise = random_generator(int(rng.integers(2**63)), xp)        # drawn where the batch is: no copy to a GPU
    u = noise.random((SIDE, 2 * batch, SIDE), dtype=xp.float32)                     # uniform in [0, 1)
    # alpha * G (2u - 1) G^T = (2 alpha G) u G^T - alpha, as every row of G sums to 1: two passes fewer
    g = to_device(gaussian_matrix(sigma).astype(np.float32), xp)
    down = xp.matmul((2 * alpha) * g, xp.reshape(u, (SIDE, 2 * batch * SIDE)))           # along the rows
    both = xp.matmul(xp.reshape(down, (SIDE * 2 * batch, SIDE)), xp.matrix_transpose(g))   # and the columns
    both -= alpha
    field = xp.astype(xp.permute_dims(xp.reshape(both, (SIDE, 2 * batch, SIDE)), (1, 0, 2)), dtype, copy=False)
    return field[:batch, ...], field[batch:, ...]


def bilinear(x, rows, cols):
    """x (batch, 784) read at source points rows, cols (batch, 28, 28) by bilinear interpolation,
    with zeros outside the image -> (batch, 784)."""
    xp, batch, side = namespace(x), x.shape[0], SIDE + 2                   # the image with a zero border
    image = xp.reshape(x, (batch, SIDE, SIDE))
    rim = xp.zeros((batch, 1, SIDE), dtype=x.dtype)
    image = xp.concat([rim, image, rim], axis=1)
    rim = xp.zeros((batch, side, 1), dtype=x.dtype)
    flat = xp.reshape(xp.concat([rim, image, rim], axis=2), (batch * side * side,))
    rows, cols = xp.clip(rows + 1, 0, side - 1), xp.clip(cols + 1, 0, side - 1)   # beyond: the border
    r0, c0 = xp.clip(xp.floor(rows), 0, side - 2), xp.clip(xp.floor(cols), 0, side - 2)
    fr, fc = rows - r0, cols - c0                                           # weights of the far pixels
    first = xp.reshape(xp.arange(batch, dtype=xp.int64) * side * side, (batch, 1, 1))
    index = xp.reshape(first + xp.astype(r0, xp.int64) * side + xp.astype(c0, xp.int64), (-1,))

    def at(offset):
        return xp.reshape(xp.take(flat, index + offset), (batch, SIDE, SIDE))

    top = at(0) * (1 - fc) + at(1) * fc
    bottom = at(side) * (1 - fc) + at(side + 1) * fc
    return xp.reshape(top * (1 - fr) + bottom * fr, (batch, SIDE * SIDE))

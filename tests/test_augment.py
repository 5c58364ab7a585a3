"""Data augmentation (augment.py): shapes, value range, determinism, identity at zero strength,
the geometry of each transform, the fused loop against the reference, and the same digits on
every array namespace."""
import math

import numpy as np
import pytest

from digitnet import accel, load_mnist
from digitnet.augment import KINDS, Augment, elastic_field, gaussian_matrix, warp
from digitnet.backend import to_numpy
from digitnet.errors import DigitnetError

MOVING = [kind for kind in KINDS if kind != "none"]
ZERO = {"shift": dict(shift=0), "affine": dict(rotate=0, shear=0, scale=0), "elastic": dict(alpha=0),
        "ciresan": dict(rotate=0, shear=0, scale=0, alpha=0)}


@pytest.fixture(scope="module")
def digits(mnist_dir):
    return load_mnist(mnist_dir, progress=False).x_train[:64]


@pytest.fixture(params=[True, False], ids=["fused", "reference"])
def loop(request, monkeypatch):
    """Run each test through the numba loop and through the plain array code."""
    monkeypatch.setattr(accel, "enabled", request.param)
    return request.param


@pytest.mark.parametrize("kind", KINDS)
def test_shape_dtype_and_range(kind, digits, loop):
    out = Augment(kind)(digits, np.random.default_rng(0))
    assert out.shape == digits.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1 + 1e-6            # a weighted mean of pixels and zeros
    assert (kind == "none") == np.array_equal(out, digits)


@pytest.mark.parametrize("kind", MOVING)
def test_same_seed_same_digits_other_seed_others(kind, digits, loop):
    first, again = (Augment(kind)(digits, np.random.default_rng(7)) for _ in range(2))
    other = Augment(kind)(digits, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("kind", MOVING)
def test_zero_strength_is_the_identity(kind, digits, loop):
    np.testing.assert_array_equal(Augment(kind, **ZERO[kind])(digits, np.random.default_rng(0)), digits)


def test_the_input_is_left_alone(digits, loop):
    kept = digits.copy()
    Augment("ciresan")(digits, np.random.default_rng(0))
    np.testing.assert_array_equal(digits, kept)


def test_a_shift_moves_whole_pixels_and_brings_in_zeros(digits, loop):
    image = digits[:1].reshape(1, 28, 28)
    out = warp(digits[:1], np.eye(2, dtype=np.float32)[None], np.array([[2, -3]], np.float32))
    want = np.zeros_like(image)
    want[:, :26, 3:] = image[:, 2:, :25]             # output (r, c) reads input (r + 2, c - 3)
    np.testing.assert_array_equal(out.reshape(1, 28, 28), want)


def test_a_quarter_turn_about_the_centre_is_exact(digits, loop):
    quarter = np.array([[[0, -1], [1, 0]]], np.float32)     # source (r', c') = (27 - c, r)
    out = warp(digits[:1], quarter, np.zeros((1, 2), np.float32)).reshape(28, 28)
    np.testing.assert_array_equal(out, np.rot90(digits[0].reshape(28, 28), k=-1))


def test_half_a_pixel_averages_neighbours(loop):
    x = np.zeros((1, 784), np.float32)
    x[0, 14 * 28 + 10] = 1.0
    out = warp(x, np.eye(2, dtype=np.float32)[None], np.array([[0, 0.5]], np.float32)).reshape(28, 28)
    assert out[14, 9] == out[14, 10] == 0.5 and out.sum() == 1.0


def test_scaling_up_spreads_the_digit(digits, loop):
    bigger = Augment("affine", rotate=0, shear=0, scale=0.5)
    rng = np.random.default_rng(0)
    a, _ = bigger.affine_maps(len(digits), rng)
    zoom = 1 / np.diagonal(a, axis1=1, axis2=2).mean(axis=1)      # how much each image was scaled
    out = bigger(digits, np.random.default_rng(0))
    ink = (out > 0.5).sum(axis=1) / np.maximum((digits > 0.5).sum(axis=1), 1)
    assert np.corrcoef(zoom, ink)[0, 1] > 0.8                        # more zoom, more ink


def test_the_elastic_field_is_smooth_and_alpha_scales_it():
    dr, dc = elastic_field(16, np.random.default_rng(0), sigma=6, alpha=36, xp=np)
    assert dr.shape == dc.shape == (16, 28, 28)
    step = np.abs(np.diff(dr, axis=1)).mean()                    # neighbouring pixels move together
    assert step < 0.2 * dr.std() and 0.3 < dr.std() < 3       # about a pixel either way
    double, _ = elastic_field(16, np.random.default_rng(0), sigma=6, alpha=72, xp=np)
    np.testing.assert_allclose(double, 2 * dr, rtol=1e-5)
    g = gaussian_matrix(6)
    np.testing.assert_allclose(g.sum(axis=1), 1)
    assert np.argmax(g[14]) == 14 and g[14, 14] == pytest.approx(1 / (6 * math.sqrt(2 * math.pi)), rel=0.05)


@pytest.mark.parametrize("kind", MOVING)
def test_the_fused_loop_matches_the_reference(kind, digits, monkeypatch):
    fused = Augment(kind)(digits, np.random.default_rng(3))
    monkeypatch.setattr(accel, "enabled", False)
    reference = Augment(kind)(digits, np.random.default_rng(3))
    np.testing.assert_allclose(fused, reference, atol=1e-5)


@pytest.mark.parametrize("kind", MOVING)
def test_every_namespace_makes_the_same_digits(kind, digits, xp, monkeypatch):
    monkeypatch.setattr(accel, "enabled", False)
    there = Augment(kind)(xp.asarray(digits), np.random.default_rng(5))
    assert type(there) is type(xp.asarray(digits))
    np.testing.assert_array_equal(to_numpy(there), Augment(kind)(digits, np.random.default_rng(5)))


@pytest.mark.parametrize("settings, message", [
    (dict(kind="rotate"), "unknown augmentation 'rotate': choose one of none, shift, affine, elastic, ciresan"),
    (dict(kind="shift", shift=2.5), "augmentation shift 2.5 must be a whole number of pixels, 0 to 27"),
    (dict(kind="affine", rotate=-5), "augmentation rotate -5 must be between 0 and 180"),
    (dict(kind="affine", rotate=True), "augmentation rotate True must be between 0 and 180"),
    (dict(kind="shift", shift=True), "augmentation shift True must be a whole number of pixels, 0 to 27"),
    (dict(kind="affine", scale=1.0), "augmentation scale 1.0 must be between 0 and 0.9"),
    (dict(kind="elastic", alpha=float("nan")), "augmentation alpha nan must be between 0 and 1000"),
    (dict(kind="elastic", sigma=0), "augmentation sigma 0 must be between 0.5 and 50 pixels"),
])
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(DigitnetError, match=f"^{message}$"):
        Augment(**settings)


@pytest.mark.parametrize("shape", [(2, 1024), (2, 64), (2, 28, 28)])
def test_only_rows_of_784_pixels_are_augmented(shape):
    with pytest.raises(DigitnetError, match="augmentation moves the pixels of 28x28 digits, rows of 784"):
        Augment("elastic")(np.zeros(shape, np.float32), np.random.default_rng(0))

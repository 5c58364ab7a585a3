"""The same core on CuPy: run with `pytest -m gpu` on a machine with an NVIDIA GPU and CuPy
(`pip install -e ".[gpu,test]"`). Deselected by default (pyproject.toml); where they are asked for
and CuPy or the GPU is missing, they fail saying so."""
import subprocess
import sys

import numpy as np
import pytest

from digitnet import MLP, Adam, Dense, Tanh, fit, load_mnist, load_model, save_model
from digitnet.accel import fused_adam
from digitnet.backend import array_module, to_numpy
from digitnet.budget import epochs_within
from digitnet.errors import DigitnetError
from digitnet.gradcheck import check_network
from digitnet.optimizers import adam_update

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cp():
    """CuPy's Array API namespace, on a working GPU."""
    try:
        return array_module("gpu")
    except DigitnetError as e:
        pytest.fail(f"the GPU tests need CuPy and an NVIDIA GPU: {e}")


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return load_mnist(mnist_dir, progress=False)


def test_fused_cuda_kernel_matches_the_reference(cp):
    rng = np.random.default_rng(0)
    start = rng.standard_normal(100_003).astype(np.float32)
    grads = [(rng.standard_normal(start.size) * 10.0 ** (t % 5 - 3)).astype(np.float32) for t in range(20)]
    runs = []
    for xp, update in ((cp, fused_adam(cp.asarray(start))), (np, adam_update)):
        assert update is not None
        p = xp.asarray(start.copy())
        m, v = xp.zeros(start.shape, dtype=xp.float32), xp.zeros(start.shape, dtype=xp.float32)
        for t, g in enumerate(grads, start=1):
            update(p, xp.asarray(g), m, v, 1e-3, 0.9, 0.999, 1e-8, t)
        runs.append([to_numpy(a) for a in (p - xp.asarray(start), m, v)])
    for got, want in zip(*runs):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-6)


def test_whole_network_gradient_on_the_gpu(cp):
    rng = np.random.default_rng(0)
    layers = [Dense(6, 5, init="glorot", rng=rng, dtype=np.float64), Tanh(),
              Dense(5, 3, init="glorot", rng=rng, dtype=np.float64)]
    model = MLP(layers=layers).to("gpu")
    x, y = cp.asarray(rng.standard_normal((4, 6))), cp.asarray(rng.integers(0, 3, 4))
    assert max(check.error for check in check_network(model, x, y)) < 1e-6


def test_two_epochs_on_the_gpu_reach_97_percent_and_the_cpu_reads_the_model(cp, mnist, tmp_path):
    model = MLP(sizes=(784, 256, 128, 10), random_state=0, device="gpu")
    fit(model, mnist.x_train, mnist.y_train, x_val=mnist.x_val, y_val=mnist.y_val, epochs=2,
        learning_rate=2e-3, batch_size=128, schedule="cosine", verbose=0)
    assert model.device == "gpu"
    gpu_p, gpu_digits = model.predict_proba(mnist.x_test), model.predict(mnist.x_test)
    assert np.mean(gpu_digits == mnist.y_test) >= 0.97
    save_model(model, tmp_path / "gpu.npz")
    cpu_model = load_model(tmp_path / "gpu.npz")
    assert cpu_model.device == "cpu"
    cpu_p = cpu_model.predict_proba(mnist.x_test)
    assert np.mean(cpu_p.argmax(axis=1) == gpu_digits) >= 0.999
    np.testing.assert_allclose(cpu_p, gpu_p, atol=1e-4)


def test_same_seed_same_weights_on_the_gpu(cp, mnist):
    runs = []
    for _ in range(2):
        model = MLP(sizes=(784, 64, 10), dropout=0.2, random_state=4, device="gpu")
        fit(model, mnist.x_train[:5000], mnist.y_train[:5000], optimizer=Adam(1e-3), epochs=2, batch_size=100,
            random_state=4, verbose=0)
        runs.append(to_numpy(model.params))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_a_run_resumed_mid_epoch_gives_the_unbroken_weights_on_the_gpu(cp, mnist, tmp_path, monkeypatch):
    """CuPy's generators cannot be saved: fit seeds each epoch's dropout masks, and a resumed epoch
    draws again the masks of the batches it trained on before it stopped."""
    from digitnet import training

    def run(**settings):
        model = MLP(sizes=(784, 64, 10), dropout=0.2, input_dropout=0.1, random_state=4, device="gpu")
        fit(model, mnist.x_train[:3000], mnist.y_train[:3000], epochs=2, batch_size=100, random_state=4,
            verbose=0, **settings)
        return to_numpy(model.params)

    unbroken, step, calls = run(), training.train_step, []

    def crash_at(*args, **kwargs):
        calls.append(1)
        if len(calls) == 45:                                    # batch 15 of epoch 2
            raise RuntimeError("the machine went down")
        return step(*args, **kwargs)

    monkeypatch.setattr(training, "train_step", crash_at)
    with pytest.raises(RuntimeError):
        run(checkpoint_dir=tmp_path, checkpoint_every=1e-9)     # a checkpoint after every step
    monkeypatch.setattr(training, "train_step", step)
    np.testing.assert_array_equal(run(checkpoint_dir=tmp_path, resume=tmp_path), unbroken)


def test_the_cli_trains_and_predicts_on_the_gpu(cp, mnist_dir, tmp_path):
    out = tmp_path / "m.npz"
    trained = subprocess.run([sys.executable, "-m", "digitnet", "train", "--device", "gpu", "--data", str(mnist_dir),
                              "--epochs", "1", "--quiet", "--out", str(out)], capture_output=True, text=True)
    assert trained.returncode == 0, trained.stderr
    assert "on the GPU" in trained.stdout
    evaluated = subprocess.run([sys.executable, "-m", "digitnet", "evaluate", str(out), "--device", "gpu",
                                "--data", str(mnist_dir), "--json"], capture_output=True, text=True)
    assert evaluated.returncode == 0, evaluated.stderr


@pytest.mark.parametrize("kind", ["shift", "affine", "elastic", "ciresan"])
def test_augmentation_on_the_gpu_warps_as_on_the_cpu(cp, mnist, kind):
    """The same maps and fields give the same digits; the elastic noise is the GPU's own draw."""
    from digitnet.augment import Augment, elastic_field, warp
    x = mnist.x_train[:256]
    a, t = Augment(kind).affine_maps(len(x), np.random.default_rng(0))
    dr, dc = elastic_field(len(x), np.random.default_rng(1), 6, 36, cp)
    there = warp(cp.asarray(x), cp.asarray(a), cp.asarray(t), dr, dc)
    here = warp(x, a, t, to_numpy(dr), to_numpy(dc))
    np.testing.assert_allclose(to_numpy(there), here, atol=1e-5)
    out = Augment(kind)(cp.asarray(x), np.random.default_rng(2))
    assert out.shape == x.shape and 0 <= float(cp.min(out)) and float(cp.max(out)) <= 1 + 1e-6
    assert float(to_numpy(dr).std()) == pytest.approx(float(elastic_field(256, np.random.default_rng(1), 6, 36,
                                                                          np)[0].std()), rel=0.2)


def test_an_augmented_gpu_run_is_reproducible(cp, mnist):
    runs = []
    for _ in range(2):
        model = MLP(sizes=(784, 64, 10), device="gpu")
        fit(model, mnist.x_train[:4096], mnist.y_train[:4096], epochs=2, batch_size=256, augment="ciresan",
            max_norm=3.0, verbose=0)
        runs.append(to_numpy(model.params))
    np.testing.assert_array_equal(*runs)


def test_a_time_budget_on_the_gpu_leaves_the_run_as_it_was(cp, mnist):
    """Timing steps for a budget trains the model itself and puts it back; CuPy's dropout generators,
    which cannot be copied or saved, come back too, and the run after the plan is the run without it."""
    x, y = mnist.x_train[:6000], mnist.y_train[:6000]
    settings = dict(learning_rate=6e-3, batch_size=256, schedule="cosine", random_state=5, augment="elastic")
    planned = MLP(sizes=(784, 128, 10), dropout=0.2, random_state=5, device="gpu")
    unplanned = MLP(sizes=(784, 128, 10), dropout=0.2, random_state=5, device="gpu")
    plan = epochs_within(60, planned, x, y, x_val=mnist.x_val, y_val=mnist.y_val, **settings)
    np.testing.assert_array_equal(to_numpy(planned.params), to_numpy(unplanned.params))
    for model in (planned, unplanned):
        fit(model, x, y, epochs=min(plan.epochs, 2), verbose=0, **settings)
    np.testing.assert_array_equal(to_numpy(planned.params), to_numpy(unplanned.params))

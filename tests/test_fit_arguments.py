"""fit's arguments: each bad one is refused, named, before any training (nothing changed, nothing
written); the unusual good ones (NumPy numbers, a generator of callbacks, an optimizer object) work."""
import numpy as np
import pytest

from digitnet import MLP, SGD, fit
from digitnet.errors import DigitnetError

from test_training import blobs


@pytest.mark.parametrize("kwargs, message", [
    (dict(epochs=0), "epochs 0 must be a whole number of at least 1"),
    (dict(batch_size=0), "batch size 0 must be a whole number of at least 1"),
    (dict(l2=-1.0), "l2 -1.0 must be zero or a small positive number"),
    (dict(schedule="steps"), "unknown schedule 'steps': choose one of constant, step, exponential, linear, cosine, "
                             "one-cycle"),
    (dict(max_norm=0), "max-norm 0 must be a positive length, e.g. 3"),
    (dict(max_norm=True), "max-norm True must be a positive length"),               # a bool is no length
    (dict(l2=True), "l2 True must be zero or a small positive number"),
    (dict(patience=0), "patience 0 must be a whole number of epochs, at least 1"),
    (dict(augment="rotate"), "unknown augmentation 'rotate': choose one of none, shift, affine, elastic, ciresan"),
    (dict(learning_rate=0.0), "learning rate 0.0 must be a positive number"),
])
def test_bad_settings(kwargs, message):
    x, y = blobs()
    with pytest.raises(DigitnetError, match=message):
        fit(MLP(sizes=(4, 3)), x, y, verbose=0, **kwargs)


def test_labels_outside_the_classes_are_refused():
    x, y = blobs()
    y[7] = 3
    with pytest.raises(DigitnetError, match="label 3 is not a class of this network: labels must be 0 to 2"):
        fit(MLP(sizes=(4, 3)), x, y, verbose=0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(y_val=np.zeros(10, np.int64)), "60 validation images but 10 labels"),
    (dict(y_val=np.full(60, 7)), "label 7 is not a class of this network: labels must be 0 to 2"),
    (dict(y_val=None), "validation images without labels: give the labels too"),
    (dict(y_val=np.full(60, 0.5)), "validation labels must be class numbers 0 to 2, not float64 values"),
    (dict(y_val=np.zeros((60, 3))), r"validation labels of shape \(60, 3\): expected one class number per image"),
])
def test_bad_validation_labels_are_named_before_training(kwargs, message):
    x, y = blobs()
    with pytest.raises(DigitnetError, match=message):
        fit(MLP(sizes=(4, 3)), x, y, x_val=x[:60], verbose=0, **kwargs)


def test_an_empty_validation_set_means_no_validation():
    x, y = blobs()
    history = fit(MLP(sizes=(4, 3)), x, y, x_val=x[:0], y_val=y[:0], epochs=1, verbose=0)
    assert history["val_loss"] == [None]


def test_an_optimizer_object_keeps_its_own_rate_unless_told():
    x, y = blobs()
    opt = SGD(0.25)
    fit(MLP(sizes=(4, 3)), x, y, optimizer=opt, epochs=1, verbose=0)
    assert opt.learning_rate == 0.25
    fit(MLP(sizes=(4, 3)), x, y, optimizer=opt, learning_rate=0.5, epochs=1, verbose=0)
    assert opt.learning_rate == 0.5


class PlainOptimizer:
    """An optimizer of the user's own: `step` and `learning_rate`, nothing else."""
    learning_rate = 0.1

    def step(self, params, grads):
        params -= self.learning_rate * grads


@pytest.mark.parametrize("settings, message", [
    (dict(optimizer=SGD(0.1), learning_rate=-0.01), "learning rate -0.01 must be a positive number"),
    (dict(optimizer=SGD(0.0)), "learning rate 0.0 must be a positive number"),
    (dict(optimizer=None), "optimizer None: give a name .* or an object with step"),
    (dict(optimizer=SGD), "optimizer <class .*SGD'>: give a name"),
    (dict(augment=True), "augment True: give a kind"),
    (dict(callbacks=print), "callbacks must be a list of functions"),
    (dict(random_state=np.random.default_rng(0)), "random_state Generator.* must be None or a whole number"),
    (dict(checkpoint_every="5", checkpoint_dir="c"), "checkpoint every '5' minutes: give a positive number"),
    (dict(optimizer=object()), "optimizer <object .*>: give a name"),
    (dict(y_val=np.zeros(10)), "y_val without x_val: give the validation images too"),
    (dict(optimizer=PlainOptimizer(), checkpoint_dir="c"), "checkpoints need one of digitnet's optimizers"),
    (dict(augment="shift"), "augment 'shift' moves the pixels of 28x28 digits: this network reads 4 inputs"),
])
def test_fit_refuses_a_bad_argument_before_training(settings, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x, y = blobs()
    model = MLP(sizes=(4, 8, 3), random_state=0)
    before = model.params.copy()
    with pytest.raises(DigitnetError, match=message):
        fit(model, x, y, epochs=2, verbose=0, **settings)
    np.testing.assert_array_equal(model.params, before)
    assert list(tmp_path.iterdir()) == []


def test_fit_takes_callbacks_from_a_generator_and_false_for_no_augmentation():
    seen = []
    fit(MLP(sizes=(4, 8, 3)), *blobs(), epochs=2, verbose=0, augment=False, callbacks=(f for f in [seen.append]))
    assert [record["epoch"] for record in seen] == [1, 2]


def test_fit_takes_numpy_numbers_and_checkpoints_them(tmp_path):
    x, y = blobs()
    settings = dict(epochs=np.int64(2), batch_size=np.int64(32), learning_rate=np.float32(0.01), l2=np.float32(1e-4),
                    random_state=np.int64(3), verbose=0)
    model = MLP(sizes=(4, 8, 3), random_state=0)
    fit(model, x, y, checkpoint_dir=tmp_path, **settings)
    plain = MLP(sizes=(4, 8, 3), random_state=0)
    fit(plain, x, y, **{k: v.item() if isinstance(v, np.generic) else v for k, v in settings.items()})
    np.testing.assert_array_equal(model.params, plain.params)


def test_a_checkpoint_folder_that_is_a_file_is_refused_before_training(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(DigitnetError, match="checkpoint_dir .*taken is a file, not a folder"):
        fit(MLP(sizes=(4, 8, 3)), *blobs(), epochs=1, verbose=0, checkpoint_dir=tmp_path / "taken")

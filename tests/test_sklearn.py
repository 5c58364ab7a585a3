"""DigitnetClassifier: scikit-learn's own estimator checks, pipelines, searches and cross-validation."""
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from digitnet.sklearn import DigitnetClassifier

# short fits on tiny data: that they stop at max_iter, as MLPClassifier's do, is expected here
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@parametrize_with_checks([DigitnetClassifier(hidden_layer_sizes=(32,), max_iter=50, random_state=0),
                          DigitnetClassifier(hidden_layer_sizes=(32,), max_iter=20, batch_size=1, early_stopping=True,
                                             random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


import numpy as np                                                             # noqa: E402
from sklearn.datasets import load_digits, load_iris                            # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split   # noqa: E402
from sklearn.pipeline import make_pipeline                                     # noqa: E402
from sklearn.preprocessing import StandardScaler                               # noqa: E402

from digitnet import MLP, fit, load_mnist                                      # noqa: E402
from digitnet.errors import TrainingDiverged                                   # noqa: E402


def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def test_pipeline_on_scikit_learns_digits():
    X_train, X_test, y_train, y_test = digits()
    pipe = make_pipeline(StandardScaler(), DigitnetClassifier(hidden_layer_sizes=(64,), random_state=0))
    assert pipe.fit(X_train, y_train).score(X_test, y_test) > 0.95
    assert pipe[-1].n_features_in_ == 64 and list(pipe[-1].classes_) == list(range(10))


def test_grid_search():
    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(make_pipeline(StandardScaler(), DigitnetClassifier(max_iter=100, random_state=0)),
                          {"digitnetclassifier__hidden_layer_sizes": [(8,), (32,)],
                           "digitnetclassifier__learning_rate": [1e-3, 1e-2]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.9 and set(search.best_params_) == {"digitnetclassifier__hidden_layer_sizes",
                                                                    "digitnetclassifier__learning_rate"}


def test_cross_val_score():
    X, y = load_iris(return_X_y=True)
    scores = cross_val_score(make_pipeline(StandardScaler(), DigitnetClassifier(max_iter=150, random_state=0)),
                             X, y, cv=5)
    assert len(scores) == 5 and scores.mean() > 0.9


def test_any_labels_any_dtype_any_width():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 5, (150, 7)).astype(np.int16)
    y = np.array(["cat", "dog", "eel"])[np.digitize(X[:, 0], [1.5, 3.5])]       # by the first column
    clf = DigitnetClassifier(hidden_layer_sizes=(16,), max_iter=300, learning_rate=1e-2, random_state=0).fit(X, y)
    assert clf.model_.params.dtype == np.float32 and clf.n_features_in_ == 7
    assert set(clf.predict(X)) <= {"cat", "dog", "eel"} and clf.score(X, y) > 0.9
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X[:5])), clf.predict_proba(X[:5]), rtol=1e-6)


def test_curves_determinism_and_stopping():
    X_train, _, y_train, _ = digits()
    a = DigitnetClassifier(hidden_layer_sizes=(32,), max_iter=30, early_stopping=True, random_state=3,
                           learning_rate=1e-2).fit(X_train / 16, y_train)
    b = DigitnetClassifier(hidden_layer_sizes=(32,), max_iter=30, early_stopping=True, random_state=3,
                           learning_rate=1e-2).fit(X_train / 16, y_train)
    np.testing.assert_array_equal(a.model_.params, b.model_.params)
    assert len(a.loss_curve_) == len(a.validation_scores_) == a.n_iter_
    assert a.best_validation_score_ == max(a.validation_scores_) > 0.9 and a.best_loss_ is None
    tolerant = DigitnetClassifier(hidden_layer_sizes=(32,), max_iter=500, tol=1e-2, n_iter_no_change=2,
                                  random_state=3).fit(X_train / 16, y_train)
    assert tolerant.n_iter_ < 500 and tolerant.loss_curve_[-1] < tolerant.loss_curve_[0]


def test_partial_fit_learns_epoch_by_epoch():
    X_train, X_test, y_train, y_test = digits()
    clf = DigitnetClassifier(hidden_layer_sizes=(64,), random_state=0)
    with pytest.raises(ValueError, match="the first call of partial_fit needs classes="):
        clf.partial_fit(X_train / 16, y_train)
    for _ in range(30):
        clf.partial_fit(X_train / 16, y_train, classes=np.arange(10))
    assert clf.n_iter_ == 30 and clf.score(X_test / 16, y_test) > 0.9
    with pytest.raises(ValueError, match=r"labels \[11\] are not among the classes"):
        clf.partial_fit(X_train[:5] / 16, np.full(5, 11))


def test_partial_fit_keeps_its_classes_and_a_refused_first_call_fits_nothing():
    """As scikit-learn's partial_fit: classes= may be repeated, not changed; a first call whose labels
    are not among its classes leaves the estimator unfitted."""
    from sklearn.exceptions import NotFittedError
    X_train, _, y_train, _ = digits()
    clf = DigitnetClassifier(hidden_layer_sizes=(16,), random_state=0)
    with pytest.raises(ValueError, match=r"labels \[2, 3, 4, 5, 6, 7, 8, 9\] are not among the classes \[0, 1\]"):
        clf.partial_fit(X_train / 16, y_train, classes=[0, 1])
    with pytest.raises(NotFittedError):
        clf.predict(X_train[:1] / 16)
    clf.partial_fit(X_train / 16, y_train, classes=np.arange(10)).partial_fit(X_train / 16, y_train,
                                                                              classes=np.arange(10))
    with pytest.raises(ValueError, match=r"classes=\[0, 1, .*, 19\] differs from the classes of the first call of "
                                         r"partial_fit, \[0, 1, .*, 9\]: fit afresh to change them"):
        clf.partial_fit(X_train / 16, y_train, classes=np.arange(20))
    assert clf.n_iter_ == 2


def test_a_loss_that_falls_is_no_divergence_and_a_real_one_leaves_nothing_fitted():
    """Unscaled features give large losses that fall epoch after epoch: training goes on, as
    MLPClassifier's does (each epoch was once a fit of its own, measured against its own first batch,
    and a batch of loss 400 after one of 0 counted as divergence). A rate that does diverge is a
    ValueError in the estimator's words, and leaves no half-trained model behind."""
    from sklearn.datasets import make_classification
    from sklearn.exceptions import NotFittedError
    X, y = make_classification(n_samples=1000, n_features=10, random_state=0)
    clf = DigitnetClassifier(max_iter=20, batch_size=32, random_state=0).fit(X * 1e4, y)
    assert clf.n_iter_ == 20 and clf.loss_curve_[-1] < clf.loss_curve_[0] / 10 and clf.score(X * 1e4, y) > 0.9
    with pytest.raises(TrainingDiverged, match=r"^training diverged: .* by epoch \d+, batch \d+; .*rate") as error:
        clf.set_params(learning_rate=1e6, optimizer="sgd").fit(X, y)
    assert "--lr" not in str(error.value)
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_early_stopping_on_little_data_and_for_one_epoch():
    """90 digits, 10 classes, 10% held out: 9 examples cannot hold every class, so the split is not
    stratified (scikit-learn's split refused, naming a test_size nobody set). max_iter=1 still holds
    out, scores, and warns that it did not converge, as MLPClassifier does."""
    from sklearn.exceptions import ConvergenceWarning
    X_train, _, y_train, _ = digits()
    for n, fraction in ((90, 0.1), (500, 0.01)):
        clf = DigitnetClassifier(hidden_layer_sizes=(16,), early_stopping=True, validation_fraction=fraction,
                                 random_state=0).fit(X_train[:n] / 16, y_train[:n])
        assert len(clf.validation_scores_) == clf.n_iter_ > 0
    with pytest.warns(ConvergenceWarning, match="stopped after max_iter=1 epochs without converging"):
        one = DigitnetClassifier(hidden_layer_sizes=(16,), early_stopping=True, max_iter=1,
                                 random_state=0).fit(X_train / 16, y_train)
    assert len(one.validation_scores_) == 1 and one.best_validation_score_ == one.validation_scores_[0]


def test_a_value_beyond_float32_is_refused_as_scikit_learn_refuses_infinity():
    X = np.random.default_rng(0).random((100, 4))
    X[0, 0] = 1e39
    with pytest.raises(ValueError, match=r"Input X contains infinity or a value too large for dtype\('float32'\)"):
        DigitnetClassifier(max_iter=2).fit(X, np.arange(100) % 2)
    clf = DigitnetClassifier(max_iter=2).fit(X[1:], np.arange(99) % 2)
    with pytest.raises(ValueError, match=r"Input X contains infinity or a value too large for dtype\('float32'\)"):
        clf.predict(X[:1])


def test_partial_fit_after_early_stopping_reports_a_loss_not_a_score():
    X_train, _, y_train, _ = digits()
    clf = DigitnetClassifier(hidden_layer_sizes=(32,), max_iter=3, early_stopping=True, random_state=0)
    clf.fit(X_train / 16, y_train).partial_fit(X_train / 16, y_train)
    assert clf.best_loss_ == clf.loss_curve_[-1] > 0 and clf.best_validation_score_ is None      # not the old one


@pytest.mark.parametrize("setting, message", [
    ({"batch_size": 0}, r"'batch_size' parameter of DigitnetClassifier must be an int in the range \[1, inf\)"),
    ({"max_iter": 0}, r"'max_iter' parameter .* must be an int in the range \[1, inf\)\. Got 0"),
    ({"learning_rate": float("nan")}, r"'learning_rate' parameter .* must be a float in the range \(0\.0, inf\)"),
    ({"validation_fraction": 1.0}, r"'validation_fraction' parameter .* range \(0\.0, 1\.0\)\. Got 1\.0"),
    ({"activation": "gelu"}, r"'activation' parameter .* must be a str among .*'relu'.*Got 'gelu'"),
    ({"schedule": "warm"}, r"'schedule' parameter .* must be a str among .*'one-cycle'"),
    ({"hidden_layer_sizes": (0,)}, r"hidden_layer_sizes=\(0,\): each layer's size must be a whole number of at "
                                   r"least 1"),
    ({"hidden_layer_sizes": (1.5,)}, r"hidden_layer_sizes=\(1\.5,\): each layer's size must be a whole number"),
    ({"hidden_layer_sizes": (True,)}, r"hidden_layer_sizes=\(True,\): each layer's size"),
    ({"hidden_layer_sizes": [[3, 3]]}, r"hidden_layer_sizes=\[\[3, 3\]\]: each layer's size"),
])
def test_a_parameter_out_of_range_is_refused_as_scikit_learn_refuses_it(setting, message):
    with pytest.raises(ValueError, match=message):                  # InvalidParameterError is a ValueError
        DigitnetClassifier(**setting).fit(np.eye(4), [0, 1, 0, 1])


@pytest.mark.skipif(__import__("importlib").util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_gpu_without_cupy_is_a_clear_error():
    with pytest.raises(Exception, match="--device gpu needs CuPy, which is not installed"):
        DigitnetClassifier(device="gpu").fit(np.eye(4), [0, 1, 0, 1])


def test_on_mnist_it_matches_digitnet_train(mnist_dir):
    """The same settings, the same accuracy: 784-256-128-10, Adam, batch 512, 8 epochs (within the
    difference of a per-epoch schedule and other seeds)."""
    data = load_mnist(mnist_dir, progress=False)
    clf = DigitnetClassifier(hidden_layer_sizes=(256, 128), learning_rate=6e-3, batch_size=512, max_iter=8,
                             schedule="cosine", tol=None, l2=0.0, random_state=0)
    ours = clf.fit(data.x_train, data.y_train).score(data.x_test, data.y_test)
    model = MLP(sizes=(784, 256, 128, 10), random_state=0)
    fit(model, data.x_train, data.y_train, learning_rate=6e-3, batch_size=512, epochs=8, schedule="cosine", verbose=0)
    assert abs(ours - model.score(data.x_test, data.y_test)) < 0.005 and ours > 0.975


def test_without_scikit_learn_the_import_says_what_to_install():
    import subprocess
    import sys
    code = "import sys\nsys.modules['sklearn'] = None\nimport digitnet.sklearn"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr.strip().splitlines()[-1] == (
        "ImportError: digitnet.sklearn needs scikit-learn: pip install 'digitnet[sklearn]' (in a checkout of "
        "digitnet: pip install -e '.[sklearn]')")

"""`DigitnetClassifier`: digitnet's network as a scikit-learn estimator.

    from digitnet.sklearn import DigitnetClassifier
    clf = DigitnetClassifier(hidden_layer_sizes=(256, 128), max_iter=20, random_state=0)
    clf.fit(X, y).score(X_test, y_test)            # any tabular X, any labels

It drops into Pipeline, GridSearchCV and cross_val_score, and passes scikit-learn's own estimator
checks (tests/test_sklearn.py). The constructor only stores its arguments; the layer sizes come
from the data in `fit` (n_features_in_ inputs, one output per class of `classes_`, which may be
any labels, strings too). `fit` is one call of `training.fit` (the same training as `digitnet
train`), whose callback after each epoch stops training when the loss no longer improves, as
scikit-learn's MLPClassifier does (`tol`, `n_iter_no_change`), or when the validation score no
longer does (`early_stopping`). scikit-learn is an optional extra: `pip install -e .[sklearn]`.
"""
import importlib.util
import math
import re
import warnings
from numbers import Integral, Real

import numpy as np

if importlib.util.find_spec("sklearn") is None:     # what to install, not a bare "No module named 'sklearn'"
    raise ImportError("digitnet.sklearn needs scikit-learn: pip install 'digitnet[sklearn]' (in a checkout of "
                      "digitnet: pip install -e '.[sklearn]')")
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from .backend import DEVICES
from .checks import whole
from .errors import TrainingDiverged
from .layers import ACTIVATIONS
from .losses import LOSSES
from .network import MLP
from .optimizers import OPTIMIZERS, make_optimizer
from .schedules import SCHEDULES
from .training import fit


class DigitnetClassifier(ClassifierMixin, BaseEstimator):
    """A multilayer perceptron classifier trained by digitnet.

    hidden_layer_sizes, activation ("relu", "leaky_relu", "tanh", "sigmoid"), loss ("ce", "mse"),
    optimizer ("adam", "sgd", "momentum", "nesterov"), learning_rate, batch_size (at most the
    number of examples), max_iter (epochs), l2 (weight decay: l2 * W is added to the gradient of
    the batch's mean loss, so l2 is MLPClassifier's alpha / batch_size), dropout, schedule (the
    learning rate of each step over max_iter epochs: "constant", "step", "exponential", "linear",
    "cosine" or "one-cycle", as `digitnet train --schedule`), tol and
    n_iter_no_change (stop once the training loss has not improved by tol for that many epochs;
    tol=None trains every epoch), early_stopping and validation_fraction (stop on the score of a
    held-out part instead, and keep the best weights), random_state, device ("cpu", "gpu").

    After `fit`: model_ (the digitnet MLP), classes_, n_features_in_, loss_curve_, n_iter_, and
    best_loss_, or with early_stopping validation_scores_ and best_validation_score_ (the other one None).

    A parameter out of its range is refused when `fit` starts, by scikit-learn's own checks of
    `_parameter_constraints`, as its estimators' are (InvalidParameterError, a ValueError).
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))], "loss": [StrOptions(set(LOSSES))],
        "optimizer": [StrOptions(set(OPTIMIZERS))], "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")], "l2": [Interval(Real, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")], "schedule": [StrOptions(set(SCHEDULES))],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")], "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")], "random_state": ["random_state"],
        "device": [StrOptions(set(DEVICES))],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", loss="ce", optimizer="adam",
                 learning_rate=1e-3, batch_size=200, max_iter=200, l2=1e-4, dropout=0.0, schedule="constant",
                 tol=1e-4, n_iter_no_change=10, early_stopping=False, validation_fraction=0.1,
                 random_state=None, device="cpu"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.l2 = l2
        self.dropout = dropout
        self.schedule = schedule
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.device = device

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train a fresh network on X (n, n_features), y (n,); returns self."""
        X, y = validate_data(self, X, y, dtype=np.float32, reset=True)   # a value beyond float32: refused here
        check_classification_targets(y)
        classes, y = np.unique(y, return_inverse=True)
        self._start(classes, X.shape[1])
        return self._train(X, y, whole=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """One more epoch on X, y, at learning_rate (no schedule, no early stopping); the first call
        needs `classes`, every label there will be, and a later one may repeat them, not change them."""
        first = not hasattr(self, "model_")
        X, y = validate_data(self, X, y, dtype=np.float32, reset=first)
        check_classification_targets(y)
        if first and classes is None:
            raise ValueError("the first call of partial_fit needs classes=, every label there will be")
        known = np.unique(classes) if first else self.classes_
        if not first and classes is not None and not np.array_equal(np.unique(classes), known):
            raise ValueError(f"classes={np.unique(classes).tolist()} differs from the classes of the first call "
                             f"of partial_fit, {known.tolist()}: fit afresh to change them")
        unknown = np.setdiff1d(y, known)
        if unknown.size:
            raise ValueError(f"labels {unknown.tolist()} are not among the classes {known.tolist()}")
        if first:
            self._start(known, X.shape[1])
        return self._train(X, np.searchsorted(self.classes_, y), whole=False)
    def predict_proba(self, X):
        """Class probabilities (n, n_classes), in the order of classes_."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        p = self.model_.predict_proba(X).astype(np.float64)[:, :len(self.classes_)]
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each row, one of classes_."""
        p = self.predict_proba(X)
        return self.classes_[np.argmax(p, axis=1)]

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = False
        tags.non_deterministic = self.random_state is None
        return tags

    # -- training ------------------------------------------------------------------
    def _start(self, classes, n_features):
        """A fresh network for n_features inputs and one output per class, its optimizer, and the
        generator of every later seed (from random_state)."""
        rng = np.random.default_rng(check_random_state(self.random_state).randint(2**31))
        n_out = max(len(classes), 2)                      # one class: two outputs, the second never right
        sizes = (n_features, *_sizes(self.hidden_layer_sizes), n_out)
        self.model_ = MLP(sizes=sizes, activation=self.activation, loss=self.loss, dropout=self.dropout,
                          random_state=int(rng.integers(2**31)), device=self.device)
        self.classes_ = classes
        self._optimizer = make_optimizer(self.optimizer, self.learning_rate)
        self._rng = rng
        self.loss_curve_, self.validation_scores_, self.n_iter_ = [], [], 0
        self._best, self._stale, self._validating = math.inf, 0, None

    def _train(self, X, y, whole):
        """The `whole` run of `fit` (max_iter epochs, the schedule, early_stopping), or one epoch of
        `partial_fit`, in one call of digitnet's `fit`, which `_epoch_done` ends when tol says so;
        returns self. When a whole run diverges, the estimator is left unfitted; one epoch of
        partial_fit, as it was."""
        epochs, schedule = (self.max_iter, self.schedule) if whole else (1, "constant")
        validating = self.early_stopping and whole
        if validating != self._validating:               # a score and a loss are not compared: start afresh
            self._best, self._stale, self._validating = math.inf, 0, validating
        X, y, X_val, y_val = self._split(X, y) if validating else (X, y, None, None)
        try:
            history = fit(self.model_, X, y, x_val=X_val, y_val=y_val, optimizer=self._optimizer,
                          learning_rate=self.learning_rate, epochs=epochs, l2=self.l2, schedule=schedule,
                          batch_size=max(1, min(self.batch_size, len(X))), verbose=0,
                          random_state=int(self._rng.integers(2**31)),
                          callbacks=[lambda record: self._epoch_done(record, validating)])
        except TrainingDiverged as e:
            for name in FITTED if whole else ():
                vars(self).pop(name, None)
            raise TrainingDiverged(re.sub(r"\(--lr (\S+)\)", r"(learning_rate=\1)", str(e))) from None
        if whole and self.tol is not None and len(history["epoch"]) == epochs:
            warnings.warn(f"stopped after max_iter={self.max_iter} epochs without converging", ConvergenceWarning)
        if validating:
            self.model_.params[...] = self._best_params           # the weights of the best validation score
        self.best_validation_score_ = -self._best if validating else None     # one or the other, as scikit-learn's
        self.best_loss_ = None if validating else self._best                   # MLPClassifier has them
        return self

    def _epoch_done(self, record, validating):
        """After each epoch (fit's callback): the curves and the best so far; False once tol says stop."""
        self.n_iter_ += 1
        self.loss_curve_.append(record["train_loss"])
        if validating:
            self.validation_scores_.append(record["val_accuracy"])
        worse = -self.validation_scores_[-1] if validating else self.loss_curve_[-1]     # lower is better
        if worse < self._best - (self.tol or 0):
            self._best, self._stale = worse, 0
            self._best_params = self.model_.params.copy() if validating else None
        else:
            self._stale += 1
        return self.tol is None or self._stale < self.n_iter_no_change

    def _split(self, X, y):
        """(X, y, X_val, y_val): validation_fraction of the examples held out, with each class in the
        same proportion in both parts where both parts can hold every class."""
        n_val, classes = math.ceil(self.validation_fraction * len(y)), len(np.unique(y))
        fits = np.bincount(y).min() > 1 and classes <= n_val <= len(y) - classes
        stratify = y if fits else None
        X, X_val, y, y_val = train_test_split(X, y, test_size=self.validation_fraction, stratify=stratify,
                                              random_state=int(self._rng.integers(2**31)))
        return X, y, X_val, y_val


FITTED = ("model_", "classes_", "n_iter_", "loss_curve_", "validation_scores_", "best_loss_",
          "best_validation_score_")


def _sizes(hidden):
    """hidden_layer_sizes as a tuple of ints: 100 -> (100,); ValueError unless each is a whole number >= 1."""
    hidden = hidden.item() if isinstance(hidden, np.ndarray) and hidden.ndim == 0 else hidden
    sizes = (hidden,) if np.isscalar(hidden) else tuple(hidden)
    if not all(whole(h, 1) for h in sizes):
        raise ValueError(f"hidden_layer_sizes={hidden!r}: each layer's size must be a whole number of at least 1, "
                         f"as in (100,) or (256, 128)")
    return tuple(int(h) for h in sizes)

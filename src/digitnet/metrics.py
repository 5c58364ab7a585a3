"""How good are the predictions: accuracy, confusion matrix, precision, recall.

confusion_matrix[t, p] counts the images of true digit t predicted as p:
the diagonal holds the correct answers. For digit k,
    precision[k] = cm[k, k] / cm[:, k].sum()   (of the images called k, how many are k)
    recall[k]    = cm[k, k] / cm[k, :].sum()   (of the images of k, how many were found)
"""
import numpy as np

from .errors import DigitnetError


def confusion_matrix(y_true, y_pred, n_classes=10):
    """cm (n_classes, n_classes) of int64 counts; rows are true labels, columns predictions."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    for name, y in (("true", y_true), ("predicted", y_pred)):
        whole = y.dtype.kind in "iu" or y.dtype.kind == "f" and np.all(y == np.round(y))
        if y.ndim != 1 or not whole or y.size and not 0 <= y.min() <= y.max() < n_classes:
            raise DigitnetError(f"{name} labels must be one class number 0 to {n_classes - 1} per example")
    if y_true.shape != y_pred.shape:
        raise DigitnetError(f"{y_true.size} true labels but {y_pred.size} predicted")
    y_true, y_pred = y_true.astype(np.int64), y_pred.astype(np.int64)
    counts = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)


def _ratio(numerator, denominator):
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def classification_report(y_true, y_pred, n_classes=10):
    """A JSON-able dict: accuracy (a fraction), n, correct, confusion_matrix, precision, recall."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    correct = int(np.trace(cm))
    n = int(cm.sum())
    return {
        "accuracy": correct / n if n else 0.0,
        "n": n,
        "correct": correct,
        "confusion_matrix": cm.tolist(),
        "precision": _ratio(np.diag(cm), cm.sum(axis=0)).tolist(),
        "recall": _ratio(np.diag(cm), cm.sum(axis=1)).tolist(),
    }


def percent(fraction):
    """0.9823 -> '98.23%': how every command and the report write an accuracy."""
    return f"{100 * fraction:.2f}%"

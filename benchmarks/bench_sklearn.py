"""DigitnetClassifier beside scikit-learn's MLPClassifier, on scikit-learn's bundled data sets.

The same split, the same pipeline (StandardScaler, then the classifier), the same architecture,
optimizer and stopping rule, in one run; reports each one's test accuracy and fit time (the median
of --repeats fits, alternated).

    python benchmarks/bench_sklearn.py [--repeats 5] [--json]
"""
import argparse
import json
import statistics
import time
import warnings

from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from digitnet.sklearn import DigitnetClassifier

SETTINGS = dict(hidden_layer_sizes=(100,), learning_rate=1e-3, batch_size=200, max_iter=200, tol=1e-4,
                n_iter_no_change=10, random_state=0)


def classifiers():
    s = SETTINGS
    return {"digitnet": DigitnetClassifier(**s),
            "MLPClassifier": MLPClassifier(hidden_layer_sizes=s["hidden_layer_sizes"], alpha=1e-4,
                                           learning_rate_init=s["learning_rate"], batch_size=s["batch_size"],
                                           max_iter=s["max_iter"], tol=s["tol"], n_iter_no_change=s["n_iter_no_change"],
                                           random_state=s["random_state"])}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    report = {}
    for name, load in (("digits (8x8)", load_digits), ("iris", load_iris)):
        X, y = load(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
        times = {system: [] for system in classifiers()}
        scores = {}
        for _ in range(args.repeats):
            for system, clf in classifiers().items():
                pipe = make_pipeline(StandardScaler(), clf)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    warnings.simplefilter("ignore", UserWarning)        # MLPClassifier: batch_size clipped to iris
                    start = time.perf_counter()
                    pipe.fit(X_train, y_train)
                    times[system].append(time.perf_counter() - start)
                scores[system] = (pipe.score(X_test, y_test), pipe[-1].n_iter_)
        report[name] = {system: {"test_accuracy": scores[system][0], "epochs": scores[system][1],
                                 "fit_s": statistics.median(times[system])} for system in times}
    if args.json:
        print(json.dumps(report))
        return
    for name, systems in report.items():
        for system, r in systems.items():
            print(f"{name:<13} {system:<14} test accuracy {100 * r['test_accuracy']:.2f}%  {r['epochs']:>3} epochs  "
                  f"fit {1000 * r['fit_s']:.0f} ms")


if __name__ == "__main__":
    main()

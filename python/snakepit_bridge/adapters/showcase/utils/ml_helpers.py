"""Data sets and a small softmax-regression model for the ML workflow demo.

Pure functions on plain lists: numpy is used for the maths when it is
installed, else plain Python does it (the data sets are small). The real iris
data set comes from scikit-learn when it is installed (Debian's
python3-sklearn); otherwise ``load_dataset`` raises DataNotFoundError and the
caller may fall back to ``synthetic_iris``.
"""

import importlib.util
import math
import random

try:
    import numpy as _np
except ImportError:  # pragma: no cover - depends on the machine
    _np = None

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
CLASSES = ["setosa", "versicolor", "virginica"]
# Per-class means and spreads of the real iris measurements (cm).
_IRIS_MEANS = ((5.01, 3.43, 1.46, 0.25), (5.94, 2.77, 4.26, 1.33), (6.59, 2.97, 5.55, 2.03))
_IRIS_SPREADS = ((0.35, 0.38, 0.17, 0.11), (0.52, 0.31, 0.47, 0.20), (0.64, 0.32, 0.55, 0.27))


class DataNotFoundError(Exception):
    """The data set asked for is not available on this machine."""


def numpy_available() -> bool:
    return _np is not None


def sklearn_available() -> bool:
    return importlib.util.find_spec("sklearn") is not None


def load_dataset(name: str):
    """(rows, labels, source) of a real data set; DataNotFoundError if absent."""
    if name != "iris":
        raise DataNotFoundError(f"no data set named {name!r} (known: iris)")
    if not sklearn_available():
        raise DataNotFoundError("the iris data set needs scikit-learn (python3-sklearn)")
    from sklearn.datasets import load_iris  # noqa: PLC0415 - optional dependency

    iris = load_iris()
    rows = [[float(v) for v in row] for row in iris.data]
    return rows, [int(v) for v in iris.target], "iris (scikit-learn)"


def synthetic_iris(samples: int = 150, seed: int = 7):
    """(rows, labels, source): iris-like measurements drawn per class."""
    rng = random.Random(seed)
    rows, labels = [], []
    for i in range(samples):
        label = i % len(CLASSES)
        means, spreads = _IRIS_MEANS[label], _IRIS_SPREADS[label]
        rows.append([round(rng.gauss(m, s), 2) for m, s in zip(means, spreads)])
        labels.append(label)
    return rows, labels, "synthetic (iris-like)"


def split(rows, labels, train_fraction: float, seed: int = 7):
    """Shuffled (train_rows, train_labels, test_rows, test_labels)."""
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    cut = max(1, min(len(order) - 1, round(len(order) * train_fraction)))
    pick = lambda idx, seq: [seq[i] for i in idx]  # noqa: E731
    return (pick(order[:cut], rows), pick(order[:cut], labels),
            pick(order[cut:], rows), pick(order[cut:], labels))


# --- tensors as the session stores them: {"shape": [...], "data": [...]} ---------

def to_tensor(values) -> dict:
    if values and isinstance(values[0], list):
        return {"shape": [len(values), len(values[0])], "data": [float(v) for r in values for v in r]}
    return {"shape": [len(values)], "data": [float(v) for v in values]}


def from_tensor(tensor):
    shape, data = tensor["shape"], tensor["data"]
    if len(shape) == 1:
        return list(data)
    width = shape[1]
    return [list(data[i * width:(i + 1) * width]) for i in range(shape[0])]


# --- softmax regression -----------------------------------------------------------

def new_model(rows, n_classes: int = len(CLASSES)) -> dict:
    """Zero weights, and the feature scaling learned from the training rows."""
    n_features = len(rows[0])
    means = [sum(r[j] for r in rows) / len(rows) for j in range(n_features)]
    scales = [math.sqrt(sum((r[j] - means[j]) ** 2 for r in rows) / len(rows)) or 1.0
              for j in range(n_features)]
    return {"weights": [[0.0] * n_classes for _ in range(n_features)],
            "bias": [0.0] * n_classes, "means": means, "scales": scales}


def _scaled(model, rows):
    return [[(v - m) / s for v, m, s in zip(r, model["means"], model["scales"])] for r in rows]


def _softmax(scores):
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def _probabilities(model, rows):
    x = _scaled(model, rows)
    if _np is not None:
        scores = _np.asarray(x) @ _np.asarray(model["weights"]) + _np.asarray(model["bias"])
        scores -= scores.max(axis=1, keepdims=True)
        exps = _np.exp(scores)
        return (exps / exps.sum(axis=1, keepdims=True)).tolist()
    w, b = model["weights"], model["bias"]
    return [_softmax([sum(xi * w[j][k] for j, xi in enumerate(r)) + b[k] for k in range(len(b))])
            for r in x]


def train_epoch(model, rows, labels, learning_rate: float) -> tuple:
    """One full-batch gradient step; (new model, loss before the step)."""
    probs = _probabilities(model, rows)
    n, n_classes = len(rows), len(model["bias"])
    loss = -sum(math.log(max(p[y], 1e-12)) for p, y in zip(probs, labels)) / n
    grad = [[p[k] - (1.0 if k == y else 0.0) for k in range(n_classes)]
            for p, y in zip(probs, labels)]
    x = _scaled(model, rows)
    if _np is not None:
        gw = (_np.asarray(x).T @ _np.asarray(grad)) / n
        weights = (_np.asarray(model["weights"]) - learning_rate * gw).tolist()
        bias = (_np.asarray(model["bias"]) - learning_rate * _np.asarray(grad).mean(axis=0)).tolist()
    else:
        weights = [[model["weights"][j][k] - learning_rate * sum(x[i][j] * grad[i][k] for i in range(n)) / n
                    for k in range(n_classes)] for j in range(len(x[0]))]
        bias = [model["bias"][k] - learning_rate * sum(g[k] for g in grad) / n for k in range(n_classes)]
    return dict(model, weights=weights, bias=bias), loss


def predict(model, rows) -> list:
    return [max(range(len(p)), key=p.__getitem__) for p in _probabilities(model, rows)]


def accuracy(model, rows, labels) -> float:
    if not rows:
        return 0.0
    return sum(1 for p, y in zip(predict(model, rows), labels) if p == y) / len(rows)


def confusion(model, rows, labels, n_classes: int = len(CLASSES)) -> list:
    matrix = [[0] * n_classes for _ in range(n_classes)]
    for p, y in zip(predict(model, rows), labels):
        matrix[y][p] += 1
    return matrix

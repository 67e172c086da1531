"""An ML workflow whose every piece of state lives in the host's session:
the data set as tensors, then the model (weights, bias, feature scaling) as
tensors, written after every epoch. A training run cut short by its deadline
leaves the last finished epoch's model in the session: a partial model."""

import time

from ....session_errors import VariableExistsError
from ..utils import ml_helpers as ml

DATA_VARIABLES = ("ml_X_train", "ml_y_train", "ml_X_test", "ml_y_test", "ml_source", "ml_features")
MODEL_VARIABLES = ("ml_weights", "ml_bias", "ml_means", "ml_scales", "ml_epochs_done")


def _put(ctx, name, type_, value):
    try:
        ctx.register_variable(name, type_, value)
    except VariableExistsError:
        ctx.set(name, value)


def _store(ctx, rows, labels, source, split, seed) -> dict:
    x_train, y_train, x_test, y_test = ml.split(rows, labels, split, seed)
    _put(ctx, "ml_X_train", "tensor", ml.to_tensor(x_train))
    _put(ctx, "ml_y_train", "tensor", ml.to_tensor(y_train))
    _put(ctx, "ml_X_test", "tensor", ml.to_tensor(x_test))
    _put(ctx, "ml_y_test", "tensor", ml.to_tensor(y_test))
    _put(ctx, "ml_source", "string", source)
    _put(ctx, "ml_features", "any", list(ml.FEATURES))
    return {
        "source": source,
        "total_samples": len(rows),
        "train_samples": len(x_train),
        "test_samples": len(x_test),
        "features": list(ml.FEATURES),
        "variables": list(DATA_VARIABLES),
        "numpy": ml.numpy_available(),
    }


def load_dataset(ctx, dataset: str = "iris", split: float = 0.8, seed: int = 7) -> dict:
    """Loads a real data set into the session; DataNotFoundError if this
    machine does not have it."""
    rows, labels, source = ml.load_dataset(dataset)
    return _store(ctx, rows, labels, source, split, seed)


def synthetic_dataset(ctx, samples: int = 150, split: float = 0.8, seed: int = 7) -> dict:
    """Generates an iris-like data set into the session."""
    rows, labels, source = ml.synthetic_iris(samples, seed)
    return _store(ctx, rows, labels, source, split, seed)


def _save_model(ctx, model, epochs_done):
    _put(ctx, "ml_weights", "tensor", ml.to_tensor(model["weights"]))
    _put(ctx, "ml_bias", "tensor", ml.to_tensor(model["bias"]))
    _put(ctx, "ml_means", "tensor", ml.to_tensor(model["means"]))
    _put(ctx, "ml_scales", "tensor", ml.to_tensor(model["scales"]))
    _put(ctx, "ml_epochs_done", "integer", epochs_done)


def _load_model(ctx) -> tuple:
    v = ctx.get_many(MODEL_VARIABLES)
    model = {
        "weights": ml.from_tensor(v["ml_weights"]),
        "bias": ml.from_tensor(v["ml_bias"]),
        "means": ml.from_tensor(v["ml_means"]),
        "scales": ml.from_tensor(v["ml_scales"]),
    }
    return model, v["ml_epochs_done"]


def train(ctx, epochs: int = 20, learning_rate: float = 0.5, epoch_ms: int = 0):
    """Streams {"type": "progress", epoch, total_epochs, loss, accuracy} per
    epoch, then {"type": "completed", ...}. The model is written to the
    session after every epoch; `epoch_ms` stretches each epoch (to show a
    deadline cutting training short)."""
    data = ctx.get_many(["ml_X_train", "ml_y_train"])
    rows = ml.from_tensor(data["ml_X_train"])
    labels = [int(v) for v in ml.from_tensor(data["ml_y_train"])]
    model = ml.new_model(rows)
    _save_model(ctx, model, 0)
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        if ctx.cancelled():
            return
        model, loss = ml.train_epoch(model, rows, labels, learning_rate)
        if epoch_ms:
            time.sleep(epoch_ms / 1000.0)
        _save_model(ctx, model, epoch)
        yield {"type": "progress", "epoch": epoch, "total_epochs": epochs, "loss": loss,
               "accuracy": ml.accuracy(model, rows, labels)}
    yield {"type": "completed", "epochs": epochs,
           "final_accuracy": ml.accuracy(model, rows, labels),
           "ms": (time.perf_counter() - started) * 1000.0}


def evaluate(ctx) -> dict:
    """Accuracy and confusion matrix of the session's model on its test set."""
    model, epochs_done = _load_model(ctx)
    data = ctx.get_many(["ml_X_test", "ml_y_test"])
    rows = ml.from_tensor(data["ml_X_test"])
    labels = [int(v) for v in ml.from_tensor(data["ml_y_test"])]
    return {
        "epochs_done": epochs_done,
        "test_samples": len(rows),
        "accuracy": ml.accuracy(model, rows, labels),
        "confusion": ml.confusion(model, rows, labels),
        "classes": list(ml.CLASSES),
    }

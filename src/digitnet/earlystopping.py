"""Early stopping: stop when the validation loss stops improving, and keep the best weights.

After every epoch `fit` hands the epoch's record to `update`: a validation loss lower than any
before makes those weights the best, copied aside. Once `patience` epochs have gone by without a
lower one, `exhausted` says so and training ends; `restore` then puts the best weights back, so
the model that is saved is the one that did best on data it never trained on.
"""
import math

from .backend import to_device, to_numpy


class EarlyStopping:
    """The best epoch so far (by validation loss) and its weights; patience None watches nothing."""

    def __init__(self, patience, model, position, best_params=None):
        self.patience, self.model = patience, model
        self.epoch, self.loss = position.best_epoch, position.best_loss          # as a checkpoint left them
        self.params = None if best_params is None else to_device(best_params, model.xp)

    def update(self, record):
        """Take note of an epoch's record; its weights are the model's live ones, just after it."""
        loss = record["val_loss"]
        if self.patience is None or loss is None or not math.isfinite(loss):
            return
        if self.loss is None or loss < self.loss:
            self.epoch, self.loss = record["epoch"], loss
            self.params = self.model.xp.asarray(self.model.params, copy=True)

    def exhausted(self, epoch):
        """Whether `patience` epochs up to `epoch` have passed without a lower validation loss."""
        return self.patience is not None and self.epoch is not None and epoch - self.epoch >= self.patience

    def arrays(self):
        """The best weights, for the checkpoint (empty when there are none)."""
        return {} if self.params is None else {"best_params": to_numpy(self.params)}

    def restore(self, history, shown):
        """Put the best weights back (if a later epoch was worse), and say so when `shown`."""
        last = history["epoch"][-1] if history["epoch"] else None
        if self.params is None or self.epoch == last:
            return
        self.model.params[...] = self.params
        if shown:
            after = "the epoch after" if self.patience == 1 else f"the {self.patience} epochs after"
            why = (f"no lower validation loss in {after}" if self.exhausted(last)
                   else "the validation loss was lowest after")
            print(f"early stopping: {why} epoch {self.epoch} ({self.loss:.4f}); its weights are restored",
                  flush=True)

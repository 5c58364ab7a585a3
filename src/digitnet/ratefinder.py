"""After a divergence: find a smaller learning rate that is seen to train.

`training.fit` keeps a RateFinder with the network's starting weights; when the
loss explodes, `advice(rate)` tries rate / 10, rate / 100, ... for a few steps
each and names the first that brings the loss down, for the error message.
"""
import copy
import math

import numpy as np

EXPLODED = 100          # a loss this many times the first one has exploded (training.DIVERGED)


class RateFinder:
    """After a divergence: a smaller learning rate that is seen to train.

    It keeps the network's starting weights and the optimizer as they were.
    `advice(rate)` tries rate / 10, rate / 100, ... down to LOWEST: each
    trains PROBE_STEPS steps (with `step`, training.train_step) from the
    starting weights, and the first whose loss stays finite and ends a quarter
    below where it started is the answer. The network is left with its
    starting weights, and the optimizer with its starting state (no momentum
    or moments of the steps that diverged), ready to train again."""

    LOWEST, PROBE_STEPS = 1e-6, 20

    def __init__(self, step, model, opt, x, y, batch_size, l2):
        self.step, self.model, self.x, self.y, self.batch_size, self.l2 = step, model, x, y, batch_size, l2
        self.params, self.given = model.xp.asarray(model.params, copy=True), opt
        try:
            self.opt = copy.deepcopy(opt)
        except Exception:                        # an optimizer object that cannot be copied: no probing
            self.opt = None

    def advice(self, rate):
        tried = [rate / 10 ** k for k in range(1, 40) if rate / 10 ** k >= self.LOWEST] or [rate / 10]
        found = next((r for r in tried if self.opt is not None and self._trains(r)), None)
        self.model.params[...] = self.params
        if self.opt is not None:
            vars(self.given).update(copy.deepcopy(vars(self.opt)))
        if found is None:
            penalty = f", and that l2 {self.l2:g} is small (1e-4, say)" if self.l2 else ""
            return (f"the learning rate {rate:g} is too large for this network, and no rate down to {tried[-1]:g} "
                    f"trained {self.PROBE_STEPS} steps: check that the inputs are scaled to [0, 1]{penalty}")
        return (f"the learning rate {rate:g} is too large for this network; {found:g} trained "
                f"{self.PROBE_STEPS} steps without diverging: try learning rate {found:g} (--lr {found:g})")

    def _trains(self, rate):
        """Whether PROBE_STEPS steps at `rate` from the starting weights bring the loss down by a quarter."""
        self.model.params[...] = self.params
        opt = copy.deepcopy(self.opt)
        opt.learning_rate = rate
        n = self.x.shape[0]
        losses = []
        for b in range(self.PROBE_STEPS):
            rows = slice(b * self.batch_size % n, min(b * self.batch_size % n + self.batch_size, n))
            losses.append(float(self.step(self.model, opt, self.x[rows, ...], self.y[rows], self.l2)[0]))
            if not math.isfinite(losses[-1]) or losses[-1] > EXPLODED * losses[0]:
                return False
        return bool(np.mean(losses[-5:]) < 0.75 * losses[0])

"""Learning-rate schedules: how the step size changes over training.

Each schedule is the factor the peak learning rate is multiplied by at a step, as a function of
`progress` (the share of all steps done, from 0 to just below 1) and `done` (the share of whole
epochs done, which changes only between epochs). Rates that are large early and small late let
the weights cross the loss surface quickly and then settle into a minimum instead of circling it.
"""
import math

SCHEDULES = {
    "constant": lambda progress, done: 1.0,
    "step": lambda progress, done: 0.1 ** ((done >= 0.5) + (done >= 0.75)),     # /10 at 1/2, again at 3/4
    "exponential": lambda progress, done: 0.01 ** done,        # the same factor every epoch: 1% one epoch past the end
    "linear": lambda progress, done: 1 - progress,
    "cosine": lambda progress, done: 0.5 * (1 + math.cos(math.pi * progress)),
    "one-cycle": lambda progress, done: one_cycle(progress),
}


def one_cycle(progress, warmup=0.3, start=1 / 25, end=1e-4):
    """Smith's one-cycle policy: up from start to 1 along half a cosine over the first `warmup` of
    training, then down to `end` along another (the shape of PyTorch's OneCycleLR, which ends lower, at 4e-6)."""
    if progress < warmup:
        return start + (1 - start) * 0.5 * (1 - math.cos(math.pi * progress / warmup))
    return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * (progress - warmup) / (1 - warmup)))

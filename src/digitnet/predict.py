"""Read the user's own digit images: preprocessing (preprocess.py) + the network's prediction."""
from dataclasses import dataclass

import numpy as np

from .checks import whole
from .errors import DigitnetError
from .preprocess import preprocess


@dataclass
class Prediction:
    """What the network read: the digit, its probability, all ten, and the 28x28 input it saw."""

    digit: int
    probability: float
    probabilities: np.ndarray      # (10,), sums to one
    input: np.ndarray              # (28, 28) float32, white ink on black

    def __repr__(self):                          # not the 28x28 input: one line
        shown = ", ".join(f"({d}, {p:.3f})" for d, p in self.top(3))
        return f"Prediction(digit={self.digit}, probability={self.probability:.3f}, top=[{shown}])"

    def top(self, k=3):
        """The k most probable digits as (digit, probability) pairs, most probable first."""
        if not whole(k, 1):
            raise DigitnetError(f"top {k!r}: ask for at least 1 digit")
        order = np.argsort(self.probabilities)[::-1][:k]
        return [(int(d), float(self.probabilities[d])) for d in order]


def predict_image(model, image):
    """Prediction for one image: a path, a PIL image or a NumPy array (any size, any polarity)."""
    x = preprocess(image)
    p = model.predict_proba(x.reshape(1, -1))[0]
    digit = int(p.argmax())
    return Prediction(digit, float(p[digit]), p, x)

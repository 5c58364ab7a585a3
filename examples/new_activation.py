"""Add an activation function in a few lines, and let gradient checking prove its backward right.

    python examples/new_activation.py

Softplus, y = log(1 + exp(z)), is a smooth ReLU; its derivative is the sigmoid. A layer needs a
forward pass and a backward pass (docs/math.md §3-4); registering it in ACTIVATIONS lets
`MLP(activation="softplus")` use it. `check_network` then compares its backward pass with
finite differences, and catches a plausible mistake. A few seconds.
"""
import numpy as np

from digitnet import MLP, fit, load_mnist
from digitnet.backend import namespace
from digitnet.gradcheck import check_network, float64_network
from digitnet.layers import ACTIVATIONS, Layer


class Softplus(Layer):
    """y = log(1 + exp(z));  dz = dy * sigmoid(z)."""

    def forward(self, z, training=False):
        self.z = z
        return namespace(z).logaddexp(z, 0.0)          # log(exp(z) + exp(0)), without overflow

    def backward(self, dy):
        return dy / (1 + namespace(dy).exp(-self.z))


class WrongSoftplus(Softplus):
    """The same forward pass, and a backward pass with a classic slip: exp(z) for its derivative."""

    def backward(self, dy):
        return dy * namespace(dy).exp(self.z)


rng = np.random.default_rng(0)
x, y = rng.standard_normal((8, 20)), rng.integers(0, 10, 8)
for name, layer in (("softplus", Softplus), ("wrong_softplus", WrongSoftplus)):
    ACTIVATIONS[name] = layer                          # now MLP(activation=name) builds it
    checks = check_network(float64_network([20, 12, 10], activation=name), x, y)
    worst = max(check.error for check in checks)
    print(f"{name:<15} largest relative error {worst:.1e}: {'right' if worst < 1e-6 else 'WRONG'}")

data = load_mnist()
model = MLP(sizes=(784, 64, 10), activation="softplus", random_state=0)
fit(model, data.x_train[:20_000], data.y_train[:20_000], learning_rate=2e-3, epochs=2, verbose=0)
print(f"784-64-10 softplus, 2 epochs on 20,000 images: test accuracy {model.score(data.x_test, data.y_test):.2%}")

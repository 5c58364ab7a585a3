"""The same network with each activation function: how fast it learns, how well it ends.

    python examples/compare_activations.py

784-64-10 with ReLU, leaky ReLU, tanh and sigmoid (each with its default initialisation), two
epochs of Adam on 20,000 training images, a few seconds in all. ReLU and its leaky cousin learn
fastest; the sigmoid's gradient is at most 1/4 per layer (docs/math.md §4), and it shows.
"""
import time

from digitnet import MLP, fit, load_mnist

data = load_mnist()
x, y = data.x_train[:20_000], data.y_train[:20_000]

print(f"{'activation':<12} {'loss after epoch 1':>19} {'validation':>11} {'seconds':>8}")
for activation in ("relu", "leaky_relu", "tanh", "sigmoid"):
    model = MLP(sizes=(784, 64, 10), activation=activation, random_state=0)
    start = time.perf_counter()
    history = fit(model, x, y, x_val=data.x_val, y_val=data.y_val, learning_rate=2e-3, batch_size=128,
                  epochs=2, verbose=0)
    print(f"{activation:<12} {history['train_loss'][0]:>19.4f} {history['val_accuracy'][-1]:>11.2%} "
          f"{time.perf_counter() - start:>8.1f}")

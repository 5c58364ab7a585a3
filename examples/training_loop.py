"""A training loop written out: forward, loss, backward, update, one call each.

    python examples/training_loop.py

This is what `digitnet.fit` does for you (and `digitnet.training.train_step` in four lines):
shuffle, cut into mini-batches, and for each batch run the network forward, measure the loss,
backpropagate, and let the optimizer move the weights. MNIST comes from the download cache
(`digitnet download`, or set DIGITNET_DATA to a folder with the four files). A few seconds.
"""
import numpy as np

from digitnet import MLP, SGD, load_mnist

data = load_mnist()
model = MLP(sizes=(784, 100, 10), activation="relu", random_state=0)
optimizer = SGD(learning_rate=0.1)
rng = np.random.default_rng(0)
batch_size = 64

for epoch in range(1, 4):
    order = rng.permutation(len(data.x_train))             # a fresh order every epoch
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        x, y = data.x_train[rows], data.y_train[rows]       # x (64, 784), y (64,)
        a = model.forward(x, training=True)                 # forward: the scores z2 (64, 10)
        loss, da = model.loss.value_and_gradient(a, y)      # loss, and dL/dz2 = (p - Y) / 64
        model.backward(da)                                  # backward: every dW, db into model.grads
        optimizer.step(model.params, model.grads)           # update: params -= 0.1 * grads
    print(f"epoch {epoch}: loss of the last batch {float(loss):.3f}, "
          f"validation accuracy {model.score(data.x_val, data.y_val):.2%}")

print(f"test accuracy: {model.score(data.x_test, data.y_test):.2%}")

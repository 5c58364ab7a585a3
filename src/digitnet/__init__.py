"""digitnet: a neural network written from scratch in NumPy that reads handwritten digits.

    from digitnet import MLP, fit, load_mnist
    data = load_mnist()                       # downloads MNIST once, then reads the cache
    model = MLP(sizes=(784, 256, 128, 10), activation="relu", random_state=0)
    history = fit(model, data.x_train, data.y_train, x_val=data.x_val, y_val=data.y_val, epochs=5)
    model.score(data.x_test, data.y_test)     # about 0.98
"""
from .data import load_mnist
from .errors import DigitnetError
from .io import load_model, save_model
from .layers import Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Tanh
from .losses import MeanSquaredError, SoftmaxCrossEntropy
from .network import MLP
from .optimizers import SGD, Adam
from .training import fit


__version__ = "0.1.0"
__all__ = ["MLP", "Dense", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Dropout", "SoftmaxCrossEntropy",
           "MeanSquaredError", "SGD", "Adam", "fit", "load_model", "save_model", "load_mnist",
           "DigitnetError"]

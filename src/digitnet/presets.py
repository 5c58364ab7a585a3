"""Named configurations: the classic from-scratch MNIST networks and published MLP results.

Each preset is a set of `digitnet train` settings plus where it comes from and the figure its
source reports, so that `digitnet train --preset NAME` reruns the network a learner read about.
Flags given on the command line override the preset's values. The measured figures are in
docs/experiments.md.

A batch size of FULL_BATCH is full-batch gradient descent: each "epoch" is then one step on
the whole training set, so `epochs` counts iterations. The augmented presets train for as many
epochs as fit the time each is meant for (docs/experiments.md).
"""
from dataclasses import dataclass, field

from .errors import DigitnetError

FULL_BATCH = 60_000


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    source: str
    reported: str                      # the figure the source reports, in its own words
    settings: dict = field(default_factory=dict)   # `digitnet train` settings (see cli.train_settings.DEFAULTS)


PRESETS = {p.name: p for p in [
    Preset("seed-64-28", "784-64-28-10 ReLU, softmax cross-entropy, mini-batch SGD reshuffled every epoch",
           "from-scratch NumPy tutorials (the project's seed network)",
           "no figure published",
           dict(hidden="64,28", activation="relu", loss="ce", optimizer="sgd", lr=0.1, batch_size=64,
                epochs=10, schedule="constant")),
    Preset("nielsen-sigmoid", "784-30-10 sigmoid, quadratic cost, SGD batch 10, lr 3.0, N(0,1) weights and biases",
           "M. Nielsen, Neural Networks and Deep Learning, chapter 1 (network.py)",
           "about 95% after 10 epochs; 95.42% best of 30 epochs",
           dict(hidden="30", activation="sigmoid", loss="mse", optimizer="sgd", lr=3.0, batch_size=10,
                epochs=10, init="normal", schedule="constant", validation_size=10_000)),
    Preset("full-batch-10", "784-10-10 ReLU/softmax, He init (digitnet's default for ReLU; the tutorials' "
           "U(-0.5, 0.5) is --init uniform), full-batch gradient descent, lr 0.10, 500 iterations",
           "from-scratch NumPy tutorials (full-batch gradient descent)",
           "no figure published",
           dict(hidden="10", activation="relu", loss="ce", optimizer="sgd", lr=0.10, batch_size=FULL_BATCH,
                epochs=500, schedule="constant")),
    Preset("full-batch-1500", "the full-batch-10 network, 1500 full-batch iterations at lr 0.15",
           "from-scratch NumPy tutorials (full-batch gradient descent)",
           "92.83% test accuracy",
           dict(hidden="10", activation="relu", loss="ce", optimizer="sgd", lr=0.15, batch_size=FULL_BATCH,
                epochs=1500, schedule="constant")),
    Preset("cross-entropy-94", "784-64-10 ReLU, softmax cross-entropy, a few epochs of mini-batch SGD",
           "from-scratch NumPy tutorials (cross-entropy MLP)",
           "94% on both the training and the test set",
           dict(hidden="64", activation="relu", loss="ce", optimizer="sgd", lr=0.05, batch_size=32,
                epochs=2, schedule="constant")),
    Preset("lecun-300-100", "784-300-100-10, trained with Adam and a cosine schedule",
           "LeCun, Bottou, Bengio, Haffner 1998, Gradient-based learning applied to document recognition "
           "(table of results: 2-layer NN, 300+100 hidden units)",
           "3.05% test error",
           dict(hidden="300,100", activation="relu", loss="ce", optimizer="adam", lr=2e-3,
                batch_size=128, epochs=10, schedule="cosine")),
    Preset("lecun-1000", "784-1000-10, trained with Adam and a cosine schedule",
           "LeCun et al. 1998 (table of results: 2-layer NN, 1000 hidden units)",
           "4.5% test error",
           dict(hidden="1000", activation="relu", loss="ce", optimizer="adam", lr=2e-3,
                batch_size=128, epochs=10, schedule="cosine")),
    Preset("hinton-500-300", "784-500-300-10, softmax cross-entropy, weight decay (plus dropout 0.3)",
           "Hinton's 784-500-300-10 net with softmax, cross-entropy and weight decay, as listed on "
           "LeCun's MNIST page (2005)",
           "1.53% test error",
           dict(hidden="500,300", activation="relu", loss="ce", optimizer="adam", lr=1e-3,
                batch_size=128, epochs=30, l2=1e-5, dropout=0.3, schedule="cosine")),
    Preset("simard-800", "784-800-10, softmax cross-entropy, no distortions (dropout 0.3)",
           "Simard, Steinkraus, Platt 2003, Best practices for convolutional neural networks applied to "
           "visual document analysis (2-layer MLP, cross-entropy, no distortion)",
           "1.6% test error",
           dict(hidden="800", activation="relu", loss="ce", optimizer="adam", lr=1e-3,
                batch_size=128, epochs=20, dropout=0.3, schedule="cosine")),
    Preset("simard-800-elastic", "784-800-10, softmax cross-entropy, elastic distortions (sigma 4, alpha 34)",
           "Simard, Steinkraus, Platt 2003 (2-layer MLP, cross-entropy, elastic distortions)",
           "0.7% test error",
           dict(hidden="800", activation="relu", loss="ce", optimizer="adam", lr=1e-3, batch_size=128,
                epochs=150, schedule="cosine", augment="elastic", elastic_sigma=4.0, elastic_alpha=34.0)),
    Preset("dropout-3x1024-maxnorm", "784-1024-1024-1024-10 ReLU, dropout 0.2 on the pixels and 0.5 on the hidden "
           "layers, max-norm 3.5, no augmentation",
           "Srivastava, Hinton, Krizhevsky, Sutskever, Salakhutdinov 2014, Dropout: a simple way to prevent "
           "neural networks from overfitting (table 2: 3 layers of 1024 ReLUs, dropout and max-norm)",
           "1.06% test error",
           dict(hidden="1024,1024,1024", activation="relu", loss="ce", optimizer="adam", lr=1e-3, batch_size=128,
                epochs=60, schedule="cosine", dropout=0.5, input_dropout=0.2, max_norm=3.5)),
    Preset("ciresan-6layer", "784-2500-2000-1500-1000-500-10 ReLU, rotation and shear within 15 degrees, scaling "
           "by up to 17.5%, elastic sigma 6 alpha 36, on every batch; meant for a GPU",
           "Ciresan, Meier, Gambardella, Schmidhuber 2010, Deep, big, simple neural nets for handwritten digit "
           "recognition (the 6-layer MLP)",
           "0.35% test error",
           dict(hidden="2500,2000,1500,1000,500", activation="relu", loss="ce", optimizer="adam", lr=1e-3,
                batch_size=256, epochs=100, schedule="cosine", augment="ciresan", rotate=15.0,
                shear=15.0, scale=0.175, elastic_sigma=6.0, elastic_alpha=36.0)),
    Preset("cpu-10-minutes", "784-800-800-10 ReLU, affine and elastic distortions: the best MLP digitnet trains in "
           "10 minutes on a 2-core CPU",
           "digitnet's own recipe (docs/experiments.md), after Ciresan et al. 2010 and Simard et al. 2003",
           "no figure published; the goal was 99.3% in 10 minutes",
           dict(hidden="800,800", activation="relu", loss="ce", optimizer="adam", lr=1e-3, batch_size=128,
                epochs=80, schedule="cosine", augment="ciresan")),
]}


def get_preset(name):
    if name not in PRESETS:
        raise DigitnetError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)} "
                            "(`digitnet presets` lists them)")
    return PRESETS[name]

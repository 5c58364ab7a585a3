"""Load a model and read one image of a digit.

    python examples/predict_one_image.py [MODEL.npz] [IMAGE]

Without a model file it uses the one `digitnet train` saves without --out, and if there is none it trains
a small one first (a few seconds). The image defaults to a serif 3 from docs/examples. Any photo,
scan or drawing works: `predict_image` prepares it the way MNIST was made.
"""
import sys
from pathlib import Path

from digitnet import MLP, fit, load_mnist, load_model
from digitnet.io import default_model_path
from digitnet.predict import predict_image

model_file = Path(sys.argv[1]) if len(sys.argv) > 1 else default_model_path()
image = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).parents[1] / "docs/examples/three-serif.webp"

if model_file.exists():
    model = load_model(model_file)                 # an MLP, ready to predict
else:
    print(f"no model at {model_file}: training a small one")
    data = load_mnist()
    model = MLP(sizes=(784, 100, 10), random_state=0)
    fit(model, data.x_train, data.y_train, learning_rate=6e-3, batch_size=512, epochs=3, schedule="cosine",
        verbose=0)
prediction = predict_image(model, image)           # a path, a PIL image or a NumPy array
print(f"{image.name}: {prediction.digit} with probability {prediction.probability:.1%}")
print("the three most probable digits:", ", ".join(f"{d} ({p:.1%})" for d, p in prediction.top(3)))

"""The web application: the drawing page and its JSON API.

    GET  /                  the page (static/: index.html, app.js, pad.js, view.js, style.css; no build step, no CDN)
    POST /api/predict       an image (JSON data URL or a multipart upload) or 28x28 pixels -> the
                            prediction, ten probabilities, the 28x28 input it saw, the hidden
                            activations and the time taken
    GET  /api/model         the architecture, training settings and metrics
    GET  /api/weights/K/U   the incoming weights of unit U of Dense layer K (28x28 for K = 1)
    POST /api/collect       save a drawing and its true label into the --collect folder
    GET  /api/health        {"status": "ok"}
    GET  /docs              the OpenAPI documentation (served from here, works offline)

Every bad request gets a JSON {"error": "..."} that says what is wrong (refusals.py): 400 for a
malformed body, 403 for a request addressed to another name than this machine's when the server
listens on this machine only, 404 for a path with no route, 405 for a method a route does not take,
413 for a body over 2 MB. Images go through `preprocess.preprocess`, the same code as `predict`.
POST /api/predict, the route a drawing page calls while the user draws, goes to its endpoint past
FastAPI's middleware stack (`DigitApp`); every other request goes through it.
"""
import base64
import binascii
import itertools
import json
import logging
import math
import os
import time
import uuid
from importlib import resources
from pathlib import Path

import anyio
import numpy as np
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from ..atomic import atomic_write
from ..images import declared_pixels
from ..backend import to_numpy
from ..errors import DigitnetError
from ..preprocess import preprocess
from .docs import add_docs
from .refusals import BadRequest, BodyLimit, LocalOnly, add_refusals, refusal

PREDICT = "/api/predict"
IMAGE_URL = ("data:image/png;base64,", "data:image/jpeg;base64,")
SAVED_AS = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg"}     # a collected file's name, by its first bytes
STATIC = resources.files("digitnet.web") / "static"


def create_app(model, metadata=None, collect=None, local_only=False):
    """The application serving `model` (with the model file's `metadata`); drawings and labels sent to
    /api/collect are saved under `collect`, a folder (off when None). `local_only`, for a server that
    listens on this machine only: requests addressed to another name than this machine's are refused."""
    app = DigitApp(title="digitnet", version="1", docs_url=None, redoc_url=None,
                   description="Read handwritten digits with a network trained from scratch (see README).")
    app.add_middleware(BodyLimit)
    if local_only:
        app.add_middleware(LocalOnly)                     # outside BodyLimit: refused before any body is read
    add_refusals(app)
    logging.getLogger("python_multipart").setLevel(logging.ERROR)   # its warning of a malformed upload: we answer 400

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html")

    @app.get("/api/health", summary="Is the server up?")
    async def health():
        return {"status": "ok"}

    @app.get("/api/model", summary="The network's architecture, training settings and metrics")
    async def describe():
        return model_description(model, metadata or {}, collect)

    @app.get("/api/weights/{layer}/{unit}", summary="The incoming weights of one unit",
             responses={404: {"description": "no such layer or unit: {\"error\": \"...\"}"}})
    async def weights(layer: int, unit: int):
        return unit_weights(model, layer, unit)

    predict = Predict(model)                              # listed in /docs by docs.add_docs
    app.add_route(PREDICT, predict, methods=["POST"], include_in_schema=False)
    app.shortcut = BodyLimit(predict)                     # POST /api/predict, past the stack (DigitApp)
    if local_only:
        app.shortcut = LocalOnly(app.shortcut)

    @app.post("/api/collect", summary="Save a drawing and its true label (digitnet serve --collect DIR)")
    async def collect_one(request: Request):
        if not request.headers.get("content-type", "").startswith("application/json"):   # not a page elsewhere:
            raise BadRequest("send the drawing as JSON (Content-Type: application/json)", 415)  # it cannot, unasked
        return save_drawing(collect, await json_body(request))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    add_docs(app)
    return app


class DigitApp(FastAPI):
    """FastAPI, except that POST /api/predict goes straight to its endpoint, `shortcut` (set by
    create_app), past the middleware stack: that endpoint limits its own body and answers its own
    errors, and the stack's layers, which it does not need, are a measured part of a pixel request's
    time (benchmarks/README.md). Any other method on /api/predict goes through the stack (405).
    Skipped with the stack: FastAPI's OpenTelemetry hooks, which digitnet does not configure, and
    Starlette's 500 page, which uvicorn sends alike (and logs the error) when an endpoint raises."""

    shortcut = None

    async def __call__(self, scope, receive, send):
        if (self.shortcut is not None and scope["type"] == "http" and scope["path"] == PREDICT
                and scope["method"] == "POST"):
            return await self.shortcut(scope, receive, send)
        await super().__call__(scope, receive, send)


class Predict:
    """POST /api/predict as an ASGI app: what `model` reads in the request's image or pixels."""

    def __init__(self, model):
        self.model = model

    async def __call__(self, scope, receive, send):
        start = time.perf_counter()
        try:
            x = await digit_input(Request(scope, receive))
        except DigitnetError as error:
            return await refusal(error)(scope, receive, send)
        answer = {**reading(self.model, x), "milliseconds": round(1000 * (time.perf_counter() - start), 3)}
        body = orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)
        await Response(body, media_type="application/json")(scope, receive, send)


def app_from_environment():
    """The app for `digitnet serve` (each of its worker processes): the model in $DIGITNET_SERVE_MODEL,
    answering to this machine's names only when $DIGITNET_SERVE_LOCAL is 1."""
    from ..io import load_model
    model = load_model(os.environ["DIGITNET_SERVE_MODEL"], device=os.environ.get("DIGITNET_SERVE_DEVICE", "cpu"))
    return create_app(model, model.metadata, os.environ.get("DIGITNET_SERVE_COLLECT") or None,
                      local_only=os.environ.get("DIGITNET_SERVE_LOCAL") == "1")


async def json_body(request):
    """The request's JSON object; BadRequest when it is not one."""
    body = await request.body()
    try:
        body = orjson.loads(body)                      # orjson: parsed in C
    except orjson.JSONDecodeError:                     # json words the problem more plainly, and takes
        try:                                           # what orjson refuses (UTF-16, 1e400, lone surrogates)
            body = json.loads(body, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            if "int_max_str_digits" in str(e):        # Python's advice would be to raise its limit
                raise BadRequest("malformed JSON: a number of more than 4,300 digits") from None
            raise BadRequest(f"malformed JSON: {e}") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object such as {\"image\": \"data:image/png;base64,...\"}")
    return body


DECODER = anyio.CapacityLimiter(1)     # one large image decoded at a time, beside the event loop
INLINE_PIXELS = 1_000_000              # a drawing, or any picture up to this size, is read in the loop


async def decoded(data):
    """preprocess(data): a large picture in a thread, one at a time, so that the event loop answers the
    other requests meanwhile (a 6300x6300 TIFF takes seconds); a drawing of the page, in the loop, where
    it takes a millisecond or two (in a thread it cost a fifth of the drawings a second)."""
    if declared_pixels(data) <= INLINE_PIXELS:
        return preprocess(data)
    return await anyio.to_thread.run_sync(preprocess, data, limiter=DECODER)


async def digit_input(request):
    """The 28x28 input (float32 in [0, 1]) a predict request asks about."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        return await decoded(await uploaded_file(request))
    body = await json_body(request)
    if "pixels" in body:
        return pixels(body["pixels"])
    if "image" in body:
        return await decoded(image_bytes(body["image"]))
    raise BadRequest("send {\"image\": \"data:image/png;base64,...\"}, {\"pixels\": 28 rows of 28 numbers in "
                     "[0, 1]}, or a multipart upload of a file")


async def uploaded_file(request):
    """The bytes of the file a multipart request sends in its field 'file'. Starlette's form parser
    refuses a malformed body with a MultiPartException, or with an HTTPException when the request
    came through the middleware stack (the scope names the app), and before starlette 1.7 let
    python-multipart's own parse errors (ValueErrors) through: each is a BadRequest."""
    try:
        async with request.form() as form:                  # closes the form's files afterwards
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise BadRequest("a multipart upload must send the image in a field named 'file'")
            return await upload.read()
    except (MultiPartException, HTTPException, ValueError) as e:
        reason = e.detail if isinstance(e, HTTPException) else getattr(e, "message", str(e))
        raise BadRequest(f"malformed multipart upload: {reason}") from None


def image_bytes(url):
    """The bytes of a PNG or JPEG data URL."""
    if not isinstance(url, str) or not url.startswith(IMAGE_URL):
        raise BadRequest("\"image\" must be a data URL of a PNG or JPEG: data:image/png;base64,...")
    try:
        return base64.b64decode(url.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("\"image\" is not valid base64 after its data:image/...;base64, prefix") from None


def pixels(rows):
    """28 rows of 28 numbers in [0, 1] as a float32 (28, 28) array."""
    if not (isinstance(rows, list) and len(rows) == 28 and all(isinstance(r, list) and len(r) == 28 for r in rows)):
        raise BadRequest("\"pixels\" must be 28 rows of 28 numbers in [0, 1]")
    if not set(map(type, itertools.chain.from_iterable(rows))) <= {int, float}:    # JSON's true is no number
        raise BadRequest("\"pixels\" must hold numbers only")
    try:
        x = np.array(rows, dtype=np.float64)             # checked before float32, which turns 1e300 into inf
    except OverflowError:                                # a whole number beyond float64's range
        raise BadRequest("pixel values must lie in [0, 1], found a number too large for a float") from None
    if not (0 <= x.min() and x.max() <= 1):
        raise BadRequest(f"pixel values must lie in [0, 1], found {x.min():g} to {x.max():g}")
    return x.astype(np.float32)


def reading(model, x):
    """What the network makes of the 28x28 input x: prediction, probabilities, input, activations
    (NumPy arrays, which orjson writes as JSON lists)."""
    hidden, a = model.activations(model.xp.asarray(x.reshape(1, -1)))
    probabilities = to_numpy(model.loss.probabilities(a))[0]
    return {"prediction": int(probabilities.argmax()), "probabilities": np.round(probabilities, 6),
            "input": np.round(x, 3), "hidden": [np.round(to_numpy(h)[0], 4) for h in hidden]}


def model_description(model, metadata, collect=None):
    training = {key: value for key, value in (metadata.get("training") or {}).items() if key != "data"}   # a path
    return {"sizes": model.sizes, "layers": model.config()["layers"], "loss": model.loss.name,
            "parameters": model.n_parameters, "metrics": metadata.get("metrics") or {},
            "training": training, "collecting": collect is not None}


def unit_weights(model, layer, unit):
    """Unit `unit`'s incoming weights in Dense layer `layer` (from 1): a 28x28 image for the first."""
    if not 1 <= layer <= len(model.dense):
        raise BadRequest(f"no Dense layer {layer}: this network has layers 1 to {len(model.dense)}", 404)
    dense = model.dense[layer - 1]
    if not 0 <= unit < dense.n_out:
        raise BadRequest(f"layer {layer} has units 0 to {dense.n_out - 1}, not {unit}", 404)
    w = to_numpy(dense.W[:, unit])
    side = math.isqrt(w.size)
    shape = [side, side] if layer == 1 and side * side == w.size else [w.size]      # pixels: an image
    return {"layer": layer, "unit": unit, "shape": shape, "weights": np.round(w.astype(np.float64), 5).tolist()}


def save_drawing(folder, body):
    """Save the drawing in `body` as folder/LABEL/DATE-TIME-ID.png (or .jpg, what the bytes are); its path."""
    if folder is None:
        raise BadRequest("collecting is off: start the server with `digitnet serve --collect DIR`", 404)
    label = body.get("label")
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label <= 9:
        raise BadRequest("\"label\" must be the true digit, 0 to 9")
    data = image_bytes(body.get("image"))
    suffix = next((kind for magic, kind in SAVED_AS.items() if data.startswith(magic)), None)
    if suffix is None:
        raise BadRequest("\"image\" must hold a PNG or JPEG file, as its data URL says")
    preprocess(data)                                     # only readable drawings are kept
    name = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.{suffix}"   # unique across --workers too
    path = Path(folder) / str(label) / name
    try:
        with atomic_write(path) as f:                    # makes the label's folder if need be
            f.write(data)
    except OSError as e:                                 # the folder was removed, the disk is full, ...
        raise BadRequest(f"the server could not save the drawing in {folder} ({e.strerror or e})", 500) from None
    return {"saved": f"{label}/{name}", "label": label}           # within the folder: its place is the server's


def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")

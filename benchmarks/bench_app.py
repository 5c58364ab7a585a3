"""The web app's own time for one /api/predict pixel request, without HTTP or a server.

Calls the ASGI app of `digitnet serve` in-process, and beside it, as the reference measured in the
same run, a bare ASGI function that does only the request's work (parse the JSON, check the pixels,
the forward pass, write the answer). What is left between the two is the framework's part: the
request and response objects, the body limit, and (for routes other than /api/predict) FastAPI's
middleware stack. Best of 7 rounds of 1,500 calls each.

    python benchmarks/bench_app.py --model m.npz
"""
import argparse
import asyncio
import json
import time

import orjson

from bench_serve import pixels
from digitnet import load_model
from digitnet.web.app import create_app, reading
from digitnet.web.app import pixels as checked_pixels


def request(body):
    """An ASGI scope and receive for a POST /api/predict of `body`."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/predict", "raw_path": b"/api/predict", "root_path": "", "query_string": b"",
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000)}

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}
    return scope, receive


def bare(model):
    """The reference: the request's work as one ASGI function, with nothing around it."""
    async def app(scope, receive, send):
        x = checked_pixels(orjson.loads((await receive())["body"])["pixels"])
        answer = orjson.dumps({**reading(model, x), "milliseconds": 0.0}, option=orjson.OPT_SERIALIZE_NUMPY)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})
    return app


async def best_us(app, body, calls=1500, rounds=7):
    """Best time per call in µs; checks that the app answered 200."""
    sent = []

    async def send(message):
        sent.append(message)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            scope, receive = request(body)
            sent.clear()
            await app(scope, receive, send)
        best = min(best, (time.perf_counter() - start) / calls)
    assert sent[0]["status"] == 200, sent[0]
    return best * 1e6


async def main(model_file):
    model = load_model(model_file)
    body = json.dumps(pixels()).encode()
    app, reference = create_app(model, model.metadata), bare(model)
    await best_us(app, body, calls=200, rounds=1)                       # warm up
    app_us, bare_us = await best_us(app, body), await best_us(reference, body)
    print(f"pixel request in-process: the app {app_us:.0f} µs, a bare ASGI function {bare_us:.0f} µs "
          f"(the app takes {app_us / bare_us:.2f}x)")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a model file, e.g. from `digitnet train --out m.npz`")
    asyncio.run(main(p.parse_args().model))

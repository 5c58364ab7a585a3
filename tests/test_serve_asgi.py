"""The web app called in-process, without a server: /api/predict past FastAPI's middleware stack
answers as through it, a client that leaves mid-body, a drawing the server cannot save, drawings
saved at once, and the framework's own refusals in the API's words."""
import asyncio

import httpx
from fastapi import FastAPI, HTTPException
from python_multipart.exceptions import MultipartParseError
from starlette.formparsers import MultiPartParser

from digitnet import load_mnist, load_model
from digitnet.web.app import create_app, save_drawing
from digitnet.web.refusals import add_refusals
from test_serve import data_url, drawn_one, png


def test_predict_past_the_middleware_answers_as_through_it(small_model_file, mnist_dir):
    """POST /api/predict skips FastAPI's middleware stack (DigitApp); through the stack, as any other
    route goes, every answer must be the same."""
    model = load_model(small_model_file)
    app = create_app(model, model.metadata)
    x = load_mnist(mnist_dir, progress=False).x_test[:1].reshape(28, 28)

    async def megabytes(n):                              # a body with no Content-Length: counted as it comes
        for _ in range(n):
            yield b"x" * (1024 * 1024)

    def requests():
        return [{"json": {"pixels": x.tolist()}}, {"json": {"image": data_url(drawn_one())}},
                {"files": {"file": ("one.png", png(drawn_one()), "image/png")}}, {"files": {"f": ("a.png", b"x")}},
                {"content": b"{not json"}, {"json": {"pixels": [[2.0] * 28] * 28}},
                {"content": b"x", "headers": {"content-type": "multipart/form-data"}},
                {"content": b"x" * (2 * 1024 * 1024 + 1)},
                {"content": megabytes(3), "headers": {"content-type": "application/json"}}]

    async def answers(asgi):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://digitnet") as client:
            return [await client.post("/api/predict", **request) for request in requests()]

    past = asyncio.run(answers(app))
    assert app.middleware_stack is None                  # built on the first request that goes through it
    through = asyncio.run(answers(lambda scope, receive, send: FastAPI.__call__(app, scope, receive, send)))
    assert [r.status_code for r in past] == [200, 200, 200, 400, 400, 400, 400, 413, 413]
    for a, b in zip(past, through):
        assert a.status_code == b.status_code and a.headers["content-type"] == b.headers["content-type"]
        assert {**a.json(), "milliseconds": 0} == {**b.json(), "milliseconds": 0}


def test_a_client_that_leaves_mid_body_ends_the_request_quietly(small_model_file):
    """A phone that loses its connection halfway through an upload: no answer, and no error raised
    to the server (which would log a traceback), past the middleware stack or through it."""
    model = load_model(small_model_file)
    app = create_app(model, model.metadata)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"1000")]
    for path in ("/api/predict", "/api/collect"):
        arriving = iter([{"type": "http.request", "body": b'{"pix', "more_body": True}, {"type": "http.disconnect"}])
        sent = []

        async def receive():
            return next(arriving)

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "root_path": "",
                 "query_string": b"", "headers": headers, "http_version": "1.1", "scheme": "http",
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000)}
        asyncio.run(app(scope, receive, send))
        assert sent == [], path


def test_a_drawing_the_server_cannot_save_gets_500_and_a_reason(small_model_file, tmp_path):
    model = load_model(small_model_file)
    folder = tmp_path / "collected"
    app = create_app(model, model.metadata, folder)
    folder.write_text("")                                  # the folder went away, and a file took its name

    async def collect():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://digitnet") as client:
            return await client.post("/api/collect", json={"image": data_url(drawn_one()), "label": 1})

    response = asyncio.run(collect())
    assert response.status_code == 500
    assert response.json()["error"] == f"the server could not save the drawing in {folder} (Not a directory)"


def test_the_frameworks_refusals_keep_what_they_say():
    """A 404 with a detail of its own keeps it; a 405 that names no allowed method still answers."""
    app = FastAPI()
    add_refusals(app)

    @app.get("/gone")
    async def gone():
        raise HTTPException(404, "this unit was pruned")

    @app.get("/closed")
    async def closed():
        raise HTTPException(405)

    async def ask(path):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://digitnet") as client:
            return await client.get(path)

    pruned, refused = asyncio.run(ask("/gone")), asyncio.run(ask("/closed"))
    assert (pruned.status_code, pruned.json()) == (404, {"error": "this unit was pruned"})
    assert (refused.status_code, refused.json()) == (405, {"error": "GET is not allowed on /closed"})


def test_drawings_saved_in_the_same_second_are_all_kept(tmp_path):
    """Corrections arrive together (several users, --workers N): each gets a file of its own."""
    body = {"image": data_url(drawn_one()), "label": 4}
    saved = {save_drawing(tmp_path, body)["saved"] for _ in range(50)}
    assert len(saved) == 50 and len(list((tmp_path / "4").iterdir())) == 50


def test_a_parse_error_that_older_starlette_lets_through_is_a_400(small_model_file, monkeypatch):
    """Before starlette 1.7 python-multipart's MultipartParseError came out of request.form() as it is."""
    def parse(self):
        raise MultipartParseError("Did not find boundary character 103 at index 2")
    monkeypatch.setattr(MultiPartParser, "parse", parse)
    model = load_model(small_model_file)

    async def answer():
        transport = httpx.ASGITransport(app=create_app(model, model.metadata))
        async with httpx.AsyncClient(transport=transport, base_url="http://digitnet") as client:
            return await client.post("/api/predict", content=b"garbage",
                                     headers={"content-type": "multipart/form-data; boundary=x"})
    response = asyncio.run(answer())
    assert response.status_code == 400
    assert response.json()["error"] == "malformed multipart upload: Did not find boundary character 103 at index 2"


def test_the_model_description_keeps_the_training_machines_paths_to_itself(small_model_file):
    from digitnet.web.app import model_description
    model = load_model(small_model_file)
    described = model_description(model, {"training": {"data": "/home/teacher/mnist", "epochs": 8}})
    assert described["training"] == {"epochs": 8}


def test_decoding_an_image_leaves_the_server_answering_others(small_model_file, monkeypatch):
    """A large image takes the decoder a while (seconds for a 6300x6300 float TIFF): meanwhile the
    event loop answers the other requests, pixels and health checks."""
    import threading
    import time

    import digitnet.web.app as web_app
    from test_serve import Server
    decode = web_app.preprocess

    def slow(data):
        time.sleep(1.5)
        return decode(data)
    monkeypatch.setattr(web_app, "preprocess", slow)
    model = load_model(small_model_file)
    photo = drawn_one().resize((1100, 1100))                # over INLINE_PIXELS: decoded beside the loop
    with Server(create_app(model, model.metadata)) as url:
        image = threading.Thread(target=httpx.post, args=(f"{url}/api/predict",),
                                 kwargs={"json": {"image": data_url(photo)}, "timeout": 30})
        image.start()
        time.sleep(0.3)                                   # the image is being decoded now
        start = time.perf_counter()
        assert httpx.get(f"{url}/api/health").json() == {"status": "ok"}
        assert time.perf_counter() - start < 0.5
        image.join()


def test_a_server_on_this_machine_only_answers_to_its_names_only(small_model_file, tmp_path):
    """DNS rebinding: a web page the user visits points a name of its own at 127.0.0.1 and asks the
    local server through it. With local_only (digitnet serve on 127.0.0.1) any name but this machine's
    is refused, before any body is read; this machine's names and a request without Host are answered."""
    model = load_model(small_model_file)
    app = create_app(model, model.metadata, tmp_path, local_only=True)
    drawing = {"image": data_url(drawn_one()), "label": 1}

    async def answers(host):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x:8000") as client:
            headers = {"host": host}
            return [await client.get("/api/model", headers=headers), await client.get("/", headers=headers),
                    await client.post("/api/predict", json=drawing, headers=headers),
                    await client.post("/api/collect", json=drawing, headers=headers)]

    for host in ("localhost:8000", "LOCALHOST", "127.0.0.1:8000", "127.1.2.3", "[::1]:8000", "app.localhost:8000",
                 "localhost.:8000"):
        assert [r.status_code for r in asyncio.run(answers(host))] == [200, 200, 200, 200], host
    assert len(list((tmp_path / "1").iterdir())) == 7
    for host in ("evil.example:8000", "127.0.0.1.evil.example", "localhost.evil.example", "[::2]:8000", "",
                 "0.0.0.0:8000", "192.168.1.20:8000"):
        refused = asyncio.run(answers(host))
        assert [r.status_code for r in refused] == [403] * 4, host
        assert refused[0].json() == {"error": f"Host {host!r} is not this machine: this server listens on this "
                                              "machine only and answers at http://localhost:8000/"}
    assert len(list((tmp_path / "1").iterdir())) == 7

    async def without_host():                              # HTTP/1.0, not a browser: answered
        sent = []

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)
        await app({"type": "http", "method": "GET", "path": "/api/health", "raw_path": b"/api/health",
                   "query_string": b"", "headers": [], "http_version": "1.0", "scheme": "http",
                   "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000), "root_path": ""}, receive, send)
        return sent[0]["status"]
    assert asyncio.run(without_host()) == 200

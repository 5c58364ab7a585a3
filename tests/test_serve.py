"""`digitnet serve`: the JSON API (every route, every refusal) and the page itself in headless
Chromium, drawing a digit stroke by stroke. The command and its processes: test_serve_command.py."""
import base64
import io
import json
import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from PIL import Image, ImageDraw

from digitnet import load_mnist, load_model
from digitnet.web.app import create_app
from digitnet.web.server import UVICORN_SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The app on a real uvicorn server, in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app):
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error",
                                                    **UVICORN_SETTINGS))                      # as serve runs it
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


def png(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def drawn_one():
    """A vertical stroke, dark on white: a 1."""
    image = Image.new("L", (140, 140), 255)
    ImageDraw.Draw(image).line([(70, 20), (72, 120)], fill=0, width=12)
    return image


def data_url(image, kind="png"):
    buffer = io.BytesIO()
    image.save(buffer, "PNG" if kind == "png" else "JPEG")
    return f"data:image/{kind};base64,{base64.b64encode(buffer.getvalue()).decode()}"


def test_health_and_model(url):
    assert httpx.get(f"{url}/api/health").json() == {"status": "ok"}
    model = httpx.get(f"{url}/api/model").json()
    assert model["sizes"] == [784, 64, 10] and model["parameters"] == 50_890 and model["collecting"] is True
    assert 0.9 < model["metrics"]["test_accuracy"] <= 1


@pytest.mark.parametrize("send", [
    lambda url: httpx.post(f"{url}/api/predict", json={"image": data_url(drawn_one())}),
    lambda url: httpx.post(f"{url}/api/predict", json={"image": data_url(drawn_one().convert("RGB"), "jpeg")}),
    lambda url: httpx.post(f"{url}/api/predict", files={"file": ("one.png", png(drawn_one()), "image/png")}),
])
def test_predict_a_drawing_three_ways(url, send):
    answer = send(url).json()
    assert answer["prediction"] == 1 and len(answer["probabilities"]) == 10
    assert abs(sum(answer["probabilities"]) - 1) < 1e-4
    x = np.array(answer["input"])
    assert x.shape == (28, 28) and 0 <= x.min() and x.max() <= 1 and x.max() > 0.5
    assert [len(h) for h in answer["hidden"]] == [64] and answer["milliseconds"] > 0


def test_predict_pixels_is_the_network_on_those_pixels(url, small_model_file, mnist_dir):
    x = load_mnist(mnist_dir, progress=False).x_test[:1].reshape(28, 28)
    answer = httpx.post(f"{url}/api/predict", json={"pixels": x.tolist()}).json()
    model = load_model(small_model_file)
    np.testing.assert_allclose(answer["probabilities"], model.predict_proba(x.reshape(1, -1))[0], atol=1e-5)
    W, b = model.dense[0].W, model.dense[0].b                          # the hidden layer: relu(x W + b)
    np.testing.assert_allclose(answer["hidden"][0], np.maximum(x.reshape(1, -1) @ W + b, 0)[0], atol=1e-4)
    np.testing.assert_allclose(answer["input"], x, atol=5e-4)


@pytest.mark.parametrize("body, message", [
    (b"{not json", "malformed JSON"),
    (b"[" * 100_000, "malformed JSON: maximum recursion depth exceeded"),
    (b"[1, 2]", "the body must be a JSON object"),
    (b"{}", "send {\"image\": \"data:image/png;base64,...\"}"),
    (b'{"pixels": [[0.5]]}', "\"pixels\" must be 28 rows of 28 numbers in \\[0, 1\\]"),
    (b'{"pixels": ' + str([[2.0] * 28] * 28).encode() + b"}", "pixel values must lie in \\[0, 1\\], found 2 to 2"),
    (b'{"pixels": ' + str([[1e300] * 28] * 28).encode() + b"}", "must lie in \\[0, 1\\], found 1e\\+300 to 1e\\+300"),
    (b'{"pixels": ' + str([[10 ** 400] * 28] * 28).encode() + b"}", "must lie in \\[0, 1\\], found a number too large"),
    (b'{"pixels": [[' + b"1" * 5000 + b"]]}", "malformed JSON: a number of more than 4,300 digits"),
    (b'{"pixels": ' + str([["a"] * 28] * 28).replace("'", '"').encode() + b"}", "must hold numbers only"),
    (b'{"pixels": ' + str([[0.5] * 27 + [True]] * 28).lower().encode() + b"}", "must hold numbers only"),
    (b'{"pixels": [[NaN]]}', "NaN is not a number JSON allows"),
    (b'{"image": "http://example.com/x.png"}', "must be a data URL of a PNG or JPEG"),
    (b'{"image": "data:image/png;base64,@@@"}', "is not valid base64"),
    (b'{"image": "data:image/png;base64,' + base64.b64encode(b"hello") + b'"}', "^not an image file"),
    (b'{"image": "' + data_url(Image.new("L", (50, 50), 255)).encode() + b'"}', "no digit found"),
])
def test_bad_predict_bodies_get_400_and_a_reason(url, body, message):
    response = httpx.post(f"{url}/api/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert pytest.importorskip("re").search(message, response.json()["error"]), response.json()


def test_a_multipart_without_a_file_and_a_file_that_is_not_an_image(url):
    response = httpx.post(f"{url}/api/predict", data={"other": "x"}, files={"other2": ("a.txt", b"x")})
    assert response.status_code == 400 and "a field named 'file'" in response.json()["error"]
    response = httpx.post(f"{url}/api/predict", files={"file": ("a.png", b"not a png")})
    assert response.status_code == 400 and "not an image file" in response.json()["error"]


def test_bodies_over_2_mb_get_413(url):
    big = b"x" * (2 * 1024 * 1024 + 1)
    response = httpx.post(f"{url}/api/predict", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "the body is over 2 MB: send a smaller image"

    def chunks():                                         # no Content-Length: counted as it arrives
        for _ in range(3):
            yield b"x" * (1024 * 1024)

    response = httpx.post(f"{url}/api/predict", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "the body is over 2 MB: send a smaller image"


def test_a_malformed_multipart_gets_400_and_a_reason(url, caplog):
    for kind, body in (("multipart/form-data", b"x"), ("multipart/form-data; boundary=abc", b"garbage")):
        with caplog.at_level("DEBUG"):
            response = httpx.post(f"{url}/api/predict", content=body, headers={"content-type": kind})
        assert response.status_code == 400 and "malformed multipart upload" in response.json()["error"]
    assert not [r for r in caplog.records if r.name.startswith("python_multipart")]    # no stray server log line


def test_weights_of_a_unit(url, small_model_file):
    answer = httpx.get(f"{url}/api/weights/1/5").json()
    assert answer["shape"] == [28, 28] and max(len(str(w)) for w in answer["weights"]) <= 8     # 5 decimals
    np.testing.assert_allclose(answer["weights"], load_model(small_model_file).dense[0].W[:, 5], atol=1e-5)
    assert httpx.get(f"{url}/api/weights/2/9").json()["shape"] == [64]
    assert httpx.get(f"{url}/api/weights/3/0").status_code == 404
    assert httpx.get(f"{url}/api/weights/1/64").status_code == 404


def test_collect_saves_the_drawing_under_its_label(url, collected):
    answer = httpx.post(f"{url}/api/collect", json={"image": data_url(drawn_one()), "label": 7}).json()
    saved = collected / answer["saved"]                 # within the folder: the server's own path is its business
    assert saved.parent == collected / "7" and Image.open(saved).size == (140, 140) and saved.suffix == ".png"
    photo = collected / httpx.post(f"{url}/api/collect", json={"image": data_url(drawn_one(), "jpeg"),
                                                               "label": 1}).json()["saved"]
    assert photo.suffix == ".jpg" and Image.open(photo).format == "JPEG"
    gif = io.BytesIO()
    drawn_one().save(gif, "GIF")
    response = httpx.post(f"{url}/api/collect", json={"image": "data:image/png;base64," +
                                                      base64.b64encode(gif.getvalue()).decode(), "label": 1})
    assert response.status_code == 400 and response.json()["error"] == ("\"image\" must hold a PNG or JPEG file, "
                                                                         "as its data URL says")
    for body in ({"image": data_url(drawn_one()), "label": 10}, {"image": data_url(drawn_one())},
                 {"image": "nope", "label": 3}):
        assert httpx.post(f"{url}/api/collect", json=body).status_code == 400
    body = json.dumps({"image": data_url(drawn_one()), "label": 7})       # as a form on another site could send it
    response = httpx.post(f"{url}/api/collect", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 415 and response.json()["error"] == ("send the drawing as JSON (Content-Type: "
                                                                         "application/json)")
    assert len(list((collected / "7").iterdir())) == 1


def test_collect_is_off_without_a_folder(small_model_file):
    model = load_model(small_model_file)
    with Server(create_app(model, model.metadata, None)) as address:
        response = httpx.post(f"{address}/api/collect", json={"image": data_url(drawn_one()), "label": 1})
    assert response.status_code == 404 and "--collect DIR" in response.json()["error"]


def test_the_page_and_the_docs_are_served_without_any_other_site(url):
    page = httpx.get(url).text
    assert '<canvas id="pad"' in page and "http" not in page.replace("http://", "")
    for asset in ("/static/app.js", "/static/pad.js", "/static/view.js", "/static/style.css", "/docs", "/openapi.json",
                  "/docs-files/swagger-ui-bundle.js"):
        response = httpx.get(url + asset)
        assert response.status_code == 200, asset
        assert "cdn." not in response.text[:20000] or asset.endswith(".js"), asset
    spec = httpx.get(f"{url}/openapi.json").json()
    assert {"/api/predict", "/api/model", "/api/health", "/api/collect"} <= set(spec["paths"])
    predict = spec["paths"]["/api/predict"]              # a plain route, documented by hand
    assert set(predict) == {"post"} and predict["post"]["summary"] == "Read a digit"
    assert set(predict["post"]["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    collect = spec["paths"]["/api/collect"]["post"]      # its body read by hand too: documented by hand
    assert collect["requestBody"]["content"]["application/json"]["schema"]["required"] == ["image", "label"]
    assert {"200", "400", "404", "413", "500"} <= set(collect["responses"])
    weights = spec["paths"]["/api/weights/{layer}/{unit}"]["get"]["responses"]    # as refusals.py answers
    assert {"400", "404"} <= set(weights) and "422" not in str(spec) and "HTTPValidationError" not in str(spec)
    assert httpx.get(f"{url}/api/predict").status_code == 405


@pytest.mark.parametrize("method, path, status, message", [
    ("GET", "/nope", 404, "/nope: no such page or API route (the API's routes are listed at /docs)"),
    ("GET", "/static/nope.js", 404, "/static/nope.js: no such page or API route"),
    ("GET", "/api/predict", 405, "GET is not allowed on /api/predict: use POST"),
    ("DELETE", "/api/health", 405, "DELETE is not allowed on /api/health: use GET"),
    ("GET", "/api/weights/abc/1", 400, "layer 'abc': Input should be a valid integer"),
])
def test_the_frameworks_refusals_speak_as_ours_do(url, method, path, status, message):
    response = httpx.request(method, url + path)
    assert response.status_code == status and response.json()["error"].startswith(message), response.text


CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = __import__("os").environ.get("DIGITNET_SCREENSHOT")       # to keep a copy of the page, e.g. for docs
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def chromium(p):
    """Debian's Chromium, headless, through Playwright `p`; the test fails saying how to install it."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), as .ci/run does")
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)


def opened(browser, url):
    """A page of the app at `url`, in a 1000x900 window, once it has described the model."""
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(url)
    page.wait_for_function("document.getElementById('model').textContent.includes('784-64-10')")
    return page


def test_drawing_a_digit_in_chromium(url, tmp_path):
    """Mouse strokes on the canvas, a live prediction, the 28x28 input and the hidden layer drawn."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        errors = []
        page.on("pageerror", lambda error: errors.append(error))     # an exception in the page's scripts
        page.goto(url)
        page.wait_for_function("document.getElementById('model').textContent.includes('784-64-10')")
        box = page.locator("#pad").bounding_box()
        for stroke in ([(0.50, 0.15), (0.52, 0.50), (0.53, 0.85)],):      # a 1, stroke by stroke
            page.mouse.move(box["x"] + stroke[0][0] * box["width"], box["y"] + stroke[0][1] * box["height"])
            page.mouse.down()
            for x, y in stroke[1:]:
                page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=12)
            page.mouse.up()
        page.wait_for_function("document.getElementById('prediction').textContent === '1'", timeout=10_000)
        assert page.locator("#bars li").count() == 10
        assert page.locator("#layers canvas").count() == 1
        page.locator("#layers canvas").hover()
        page.wait_for_function("!document.getElementById('weights').hidden")
        page.screenshot(path=str(tmp_path / "serve.png"), full_page=True)
        if SCREENSHOT:
            page.screenshot(path=SCREENSHOT, full_page=True)
        page.click("#clear")
        page.wait_for_function("document.getElementById('prediction').textContent === '?'")
        browser.close()
    assert (tmp_path / "serve.png").stat().st_size > 10_000
    assert errors == []


def paper_photo(size, digit="7", noise=0.0):
    """A photo-like JPEG: a dark digit on gray paper, of `size` (not square), with Gaussian grain."""
    from fontdigits import fonts
    from PIL import ImageFont
    image = Image.new("L", size, 165)
    font = ImageFont.truetype(str(fonts()[0]), int(size[1] * 0.7))
    ImageDraw.Draw(image).text((size[0] * 0.4, size[1] * 0.1), digit, font=font, fill=40)
    grain = np.random.default_rng(0).normal(0, noise, (size[1], size[0]))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(np.asarray(image) + grain, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=98)
    return buffer.getvalue()


def test_an_uploaded_photo_is_read_and_saved_as_it_is_even_large(url, collected, small_model_file, tmp_path):
    """A 4:3 photo is read whole, "wrong?" saves that same picture (no pad around it), and a photo
    over the server's 2 MB is sent as a picture of 512 pixels instead of being refused."""
    from digitnet.predict import predict_image
    playwright = pytest.importorskip("playwright.sync_api")
    (tmp_path / "photo.jpg").write_bytes(paper_photo((400, 300)))
    (tmp_path / "big.jpg").write_bytes(paper_photo((3000, 2250), noise=12.0))
    assert (tmp_path / "big.jpg").stat().st_size > 2 * 1024 * 1024
    model = load_model(small_model_file)
    with playwright.sync_playwright() as p:
        browser = chromium(p)
        page = opened(browser, url)
        page.set_input_files("#upload", str(tmp_path / "photo.jpg"))
        page.wait_for_function("document.getElementById('prediction').textContent !== '?'", timeout=10_000)
        read = page.locator("#prediction").text_content()
        assert read == str(predict_image(model, tmp_path / "photo.jpg").digit)
        page.click("#wrong")
        page.keyboard.press("Escape")                   # closes the row of digits again
        assert page.locator("#labels").is_hidden()
        page.click("#wrong")
        page.click("#labels button[aria-label='it is a 3']")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('saved as a 3')")
        saved = sorted((collected / "3").iterdir())[-1]
        assert Image.open(saved).size == (400, 300) and str(predict_image(model, saved).digit) == read
        page.set_input_files("#upload", str(tmp_path / "big.jpg"))
        page.wait_for_function("document.getElementById('timing').textContent.startsWith('read in')",
                               timeout=10_000)
        assert page.locator("#prediction").text_content() == "7"
        browser.close()


SLOW_NETWORK = """const fetchNow = window.fetch;
window.fetch = (...args) => fetchNow(...args).then((r) => new Promise((ok) => setTimeout(() => ok(r), 700)));"""


def test_a_slow_answer_never_lands_on_a_cleared_pad_and_the_docs_render(url):
    """Answers about a pad that was cleared since are dropped; Swagger UI lists every operation."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        page.add_init_script(SLOW_NETWORK)
        page.goto(url)
        page.wait_for_function("document.getElementById('model').textContent.includes('784-64-10')")
        box = page.locator("#pad").bounding_box()
        page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.2 * box["height"])
        page.mouse.down()
        page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.8 * box["height"], steps=2)
        page.mouse.up()                                 # its request is on its way ...
        page.click("#clear")                            # ... and the pad is cleared before the answer comes
        page.wait_for_timeout(1500)
        assert page.locator("#prediction").text_content() == "?" and page.locator("#wrong").is_disabled()
        failures = []
        page.on("requestfailed", lambda request: failures.append(request.url))
        page.on("response", lambda response: failures.append(response.url) if response.status >= 400 else None)
        page.goto(f"{url}/docs")
        page.wait_for_selector(".opblock", timeout=10_000)
        assert failures == []                           # nothing fetched in vain, not even a favicon
        assert page.locator(".opblock").count() >= 5 and "Unable to render" not in page.content()
        browser.close()

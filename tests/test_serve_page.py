"""The drawing page as people meet it, in headless Chromium: read out to a screen reader once per
answer, back by itself after the server went away, a huge picture scaled down before it is sent,
a correction saved once, the layer maps by keyboard, and a dark page for a dark desktop."""
import pytest
from PIL import Image, ImageDraw

from test_serve import chromium, opened


def draw_a_one(page):
    box = page.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.15 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.52 * box["width"], box["y"] + 0.85 * box["height"], steps=12)
    page.mouse.up()


def test_the_answer_is_read_out_once_and_a_correction_saved_once(url, collected):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = chromium(p)
        page = opened(browser, url)
        draw_a_one(page)
        page.wait_for_function("document.getElementById('timing').textContent.startsWith('read in')")
        digit = page.locator("#prediction").text_content()
        assert page.locator(".prediction").text_content().startswith(f"{digit} ")        # not "799.7% sure"
        assert page.locator("#announce").text_content().startswith(f"reads {digit}, ")
        assert page.locator("#status").text_content() == ""                               # no timings read out
        assert page.locator("canvas[role=img]").count() == 4        # the pad, the input, a layer, the weights
        page.click("#wrong")
        page.click("#labels button[aria-label='it is a 4']")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('saved as a 4')")
        assert page.locator("#wrong").is_disabled()                 # until the pad changes
        page.evaluate("timing(''); predict()")                      # asked again (a retry): the same drawing
        page.wait_for_function("document.getElementById('timing').textContent.startsWith('read in')")
        assert page.locator("#wrong").is_disabled()
        assert len(list((collected / "4").iterdir())) == 1
        draw_a_one(page)                                            # a second stroke: a new drawing
        page.wait_for_function("!document.getElementById('wrong').disabled")
        browser.close()


def test_the_page_asks_again_by_itself_once_the_server_is_back(url):
    """One retry at a time, 1, 2, 4 ... 16 s apart, however many requests failed (five strokes here),
    until the server answers; the header's description too. The page's clock is Playwright's."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        page.clock.install()
        asked = []
        page.route("**/api/model", lambda route: route.abort())
        page.route("**/api/predict", lambda route: (asked.append(route.request.url), route.abort()))
        page.goto(url)
        page.clock.run_for(1500)
        page.wait_for_function("document.getElementById('model').textContent.includes('asking again')")
        for _ in range(5):
            draw_a_one(page)
        page.wait_for_function("document.getElementById('status').textContent.startsWith("
                               "'the server does not answer; asking again in')")
        during = len(asked)
        for _ in range(8):                              # 40 s on the page's clock, each request seen through
            page.clock.run_for(5000)
            page.wait_for_timeout(200)
        assert len(asked) - during <= 6                 # one chain, 1, 2, 4 ... 16 s apart: not one per failure
        page.unroute("**/api/model")
        page.unroute("**/api/predict")
        for _ in range(40):                             # the next retry on the page's clock, its answer on ours
            page.clock.run_for(1000)
            page.wait_for_timeout(100)
            model = page.locator("#model").text_content()
            if page.locator("#prediction").text_content() != "?" and "784-64-10" in model:
                break
        assert page.locator("#prediction").text_content() != "?" and page.locator("#status").text_content() == ""
        assert "784-64-10" in page.locator("#model").text_content()
        browser.close()


def test_a_picture_of_too_many_pixels_is_sent_scaled_down(url, tmp_path):
    """8000 x 8000 pixels in a small file: more than the server reads (40 megapixels), so the page
    sends it at 512 pixels, as it does a file of many bytes."""
    playwright = pytest.importorskip("playwright.sync_api")
    image = Image.new("L", (8000, 8000), 255)
    ImageDraw.Draw(image).line([(4000, 1200), (4100, 6800)], fill=0, width=700)
    image.save(tmp_path / "huge.png")
    assert (tmp_path / "huge.png").stat().st_size < 1_500_000
    with playwright.sync_playwright() as p:
        browser = chromium(p)
        page = opened(browser, url)
        page.set_input_files("#upload", str(tmp_path / "huge.png"))
        page.wait_for_function("document.getElementById('timing').textContent.startsWith('read in')",
                               timeout=20_000)
        assert page.locator("#status").text_content() == "" and page.locator("#prediction").text_content() == "1"
        browser.close()


def test_the_layer_maps_answer_the_keyboard_and_keep_its_focus(url):
    """A unit's weights by keyboard: Tab to a layer's map, arrow keys through its units; a new answer
    paints the same maps, so the focus stays where it was. And a dark page for a dark desktop."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = chromium(p)
        page = opened(browser, url)
        draw_a_one(page)
        page.wait_for_function("document.getElementById('timing').textContent.startsWith('read in')")
        for _ in range(12):                                          # the controls, then the first map
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.closest('.layer') !== null"):
                break
        title = page.locator("#weights-title")
        page.keyboard.press("ArrowRight")
        page.wait_for_function("document.getElementById('weights-title').textContent.startsWith('unit 0 ')")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowDown")                             # 64 units: 8 a row
        page.wait_for_function("document.getElementById('weights-title').textContent.startsWith('unit 9 ')")
        assert title.text_content() == "unit 9 of layer 1: its 784 incoming weights"
        page.evaluate("timing(''); predict()")                       # a new answer, painted in the same maps
        page.wait_for_function("document.getElementById('timing').textContent.startsWith('read in')")
        assert page.evaluate("document.activeElement.closest('.layer') !== null")
        page.keyboard.press("ArrowLeft")
        page.wait_for_function("document.getElementById('weights-title').textContent.startsWith('unit 8 ')")
        page.emulate_media(color_scheme="dark")
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(22, 22, 22)"
        assert page.evaluate("getComputedStyle(document.getElementById('pad')).backgroundColor") == \
            "rgb(255, 255, 255)"
        browser.close()

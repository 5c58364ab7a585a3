"""Reading users' own images: MNIST-style preprocessing, predict_image, and `digitnet predict`."""
import io
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from digitnet import MLP, fit, load_mnist
from digitnet.errors import DigitnetError
from digitnet.io import save_model
from digitnet.predict import predict_image
from digitnet.images import MAX_PIXELS
from digitnet.preprocess import naive, preprocess
from fontdigits import font_digits, fonts


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return load_mnist(mnist_dir, progress=False)


@pytest.fixture(scope="module")
def model(mnist):
    """Trained with `digitnet train`'s defaults (784-256-128-10, Adam 0.006 cosine, batch 512, 8 epochs)."""
    net = MLP(random_state=0)
    fit(net, mnist.x_train, mnist.y_train, learning_rate=6e-3, schedule="cosine", batch_size=512, epochs=8,
        verbose=0)
    return net


@pytest.fixture(scope="module")
def model_file(model, tmp_path_factory):
    return save_model(model, tmp_path_factory.mktemp("predict") / "m.npz")


def as_paper_png(x, path):
    """An MNIST test image as a user might have it: enlarged 4x, dark ink on light paper, PNG."""
    image = Image.fromarray(np.round(255 - x.reshape(28, 28) * 255).astype(np.uint8))
    image.resize((112, 112), Image.Resampling.LANCZOS).save(path)
    return path


def test_mnist_images_as_png_files_read_like_the_raw_arrays(model, mnist, tmp_path):
    """About 99% of the 10,000 read the same (docs/preprocessing.md); a sample of 1,000 varies by
    about 0.3 points from model to model, hence 98.5% here."""
    n = 1000
    raw = model.predict(mnist.x_test[:n])
    read = [predict_image(model, as_paper_png(mnist.x_test[i], tmp_path / f"{i}.png")).digit for i in range(n)]
    assert np.mean(np.array(read) == raw) >= 0.985


def test_digits_in_other_fonts_read_at_90_percent_and_beat_naive_resizing(model):
    data = font_digits(per_font=3, seed=0)
    ours = np.mean([model.predict(preprocess(image).reshape(1, -1))[0] == y for image, y in data])
    plain = np.mean([model.predict(naive(image).reshape(1, -1))[0] == y for image, y in data])
    assert ours >= 0.90 and plain < ours - 0.3


def test_output_is_mnist_like(mnist):
    x = preprocess(Image.fromarray(np.round(mnist.x_test[0].reshape(28, 28) * 255).astype(np.uint8)))
    assert x.shape == (28, 28) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    rows, cols = np.nonzero(x.sum(axis=1))[0], np.nonzero(x.sum(axis=0))[0]
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == 20               # longer side 20 px
    ys, xs = np.indices(x.shape)
    assert abs((ys * x).sum() / x.sum() - 14) <= 0.5 and abs((xs * x).sum() / x.sum() - 14) <= 0.5


def drawn_digit(digit=7, size=(160, 120), ink=(20, 20, 20, 255), paper=(255, 255, 255, 255)):
    image = Image.new("RGBA", size, paper)
    font = ImageFont.truetype(str(fonts()[0]), 90)
    ImageDraw.Draw(image).text((30, 5), str(digit), font=font, fill=ink)
    return image


def test_any_kind_of_input(model, tmp_path):
    image = drawn_digit(7)
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    for source in (image, image.convert("L"), np.asarray(image.convert("L")), gray < 128,     # a mask: ink where True
                   np.asarray(image.convert("RGB")).astype(np.float32) / 255, tmp_path / "seven.png",
                   Image.fromarray(gray / 255), Image.fromarray(gray)):     # floating-point gray (mode F, as TIFF)
        if not isinstance(source, (Image.Image, np.ndarray)):
            image.convert("RGB").save(source)
        assert predict_image(model, source).digit == 7


def test_a_phone_photo_is_turned_upright_by_its_exif_orientation(model, tmp_path):
    sideways = drawn_digit(7).convert("RGB").rotate(90, expand=True)          # as the sensor stored it
    exif = Image.Exif()
    exif[0x0112] = 6                                                            # Orientation: rotate 90° clockwise
    sideways.save(tmp_path / "photo.jpg", exif=exif)
    assert predict_image(model, tmp_path / "photo.jpg").digit == 7
    data = bytearray((tmp_path / "photo.jpg").read_bytes())
    start = data.find(b"Exif")
    data[start + 10:start + 14] = b"\xff" * 4                # the EXIF directory's offset damaged: read as stored
    with warnings.catch_warnings():
        warnings.simplefilter("error")                        # and without Pillow's "Corrupt EXIF data" warning
        assert predict_image(model, bytes(data)).digit in range(10)


def test_16_bit_gray_is_scaled_to_8_bits(model, tmp_path):
    gray = np.asarray(drawn_digit(3).convert("L")).astype(np.uint16) * 257
    Image.fromarray(gray).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    assert predict_image(model, tmp_path / "deep.png").digit == 3


def test_light_ink_on_dark_and_transparent_background(model):
    assert predict_image(model, drawn_digit(3, ink=(250, 250, 250, 255), paper=(0, 0, 0, 255))).digit == 3
    # black ink on a fully transparent (black RGB) background: only alpha tells ink from paper
    assert predict_image(model, drawn_digit(5, ink=(0, 0, 0, 255), paper=(0, 0, 0, 0))).digit == 5


def test_prediction_fields(model):
    p = predict_image(model, drawn_digit(2))
    assert p.probabilities.shape == (10,) and abs(float(p.probabilities.sum()) - 1) < 1e-5
    assert p.top(3)[0] == (p.digit, p.probability) and len(p.top(3)) == 3
    assert p.input.shape == (28, 28)
    with pytest.raises(DigitnetError, match="top -1: ask for at least 1 digit"):
        p.top(-1)


def bad_files(tmp_path):
    (tmp_path / "notes.png").write_text("not an image at all")
    good = tmp_path / "good.png"
    drawn_digit(4).convert("RGB").save(good)
    data = good.read_bytes()
    (tmp_path / "truncated.png").write_bytes(data[: len(data) // 2])
    Image.new("L", (80, 60), 230).save(tmp_path / "blank.png")
    Image.new("1", (8000, 6000), 1).save(tmp_path / "huge.png")          # 48 megapixels
    return good


@pytest.mark.parametrize("name, message", [
    ("notes.png", r"notes.png: not an image file"),
    ("truncated.png", r"truncated.png: the image file is corrupt or truncated"),
    ("blank.png", r"no digit found"),
    ("huge.png", rf"huge.png: image is 8000x6000 pixels, more than the {MAX_PIXELS // 1_000_000} megapixel limit"),
    ("missing.png", r"missing.png: no such file"),
])
def test_bad_images(model, tmp_path, name, message):
    bad_files(tmp_path)
    with pytest.raises(DigitnetError, match=message):
        predict_image(model, tmp_path / name)


@pytest.mark.parametrize("array", [np.ones((28, 28), complex), np.full((28, 28), np.nan), np.full((28, 28), "7")])
def test_an_array_of_anything_but_finite_real_numbers_is_refused(model, array):
    with pytest.raises(DigitnetError, match=r"^an image array must hold finite real numbers$"):
        predict_image(model, array)


def test_an_empty_pil_image_is_refused(model):
    with pytest.raises(DigitnetError, match=r"^the image is empty \(0x0 pixels\)$"):
        predict_image(model, Image.new("L", (0, 0)))


def digitnet(*args):
    return subprocess.run([sys.executable, "-m", "digitnet", *map(str, args)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def test_cli_predicts_the_good_files_and_reports_each_bad_one(model_file, tmp_path):
    good = bad_files(tmp_path)
    (tmp_path / "._good.png").write_bytes(b"\x00\x05\x16\x07")   # macOS's resource fork beside good.png: skipped
    (tmp_path / "empty").mkdir()                          # a folder without images: reported, and the rest read
    result = digitnet("predict", model_file, tmp_path / "empty", tmp_path, good, "--json", "--show-input",
                      tmp_path / "seen.png")
    assert result.returncode == 2
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in rows] == [str(good)] * 2 and rows[0]["prediction"] == 4
    assert len(rows[0]["probabilities"]) == 10
    errors = [line for line in result.stderr.splitlines() if line.startswith("digitnet: error:")]
    assert len(errors) == 5 and "Traceback" not in result.stderr
    assert errors[0].endswith("empty: no image files in this directory")
    assert Image.open(tmp_path / "seen.png").size[0] >= 224


def test_show_input_draws_at_most_200_rows(model_file, tmp_path, monkeypatch, capsys):
    from digitnet.cli import main, predict
    monkeypatch.setattr(predict, "SHOWN_AT_MOST", 2)                      # 200 in earnest
    drawn_digit(4).convert("RGB").save(tmp_path / "four.png")
    for copy in ("a.png", "b.png"):
        (tmp_path / copy).write_bytes((tmp_path / "four.png").read_bytes())
    assert main(["predict", str(model_file), str(tmp_path), "--show-input", str(tmp_path / "out.png")]) == 0
    assert Image.open(tmp_path / "out.png").size[1] == 2 * 112
    assert capsys.readouterr().out.endswith(f"to {tmp_path / 'out.png'} (the first 2 of 3 images)\n")


def test_cli_text_output_and_top_k(model_file, tmp_path):
    path = tmp_path / "eight.png"
    drawn_digit(8).save(path)
    result = digitnet("predict", model_file, path, "--top", 2)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{path}: 8 (") and "top 2: 8 " in result.stdout


def test_a_prediction_prints_in_one_line(model):
    prediction = predict_image(model, np.zeros((28, 28)) + np.eye(28))
    assert "\n" not in repr(prediction)
    assert repr(prediction).startswith(f"Prediction(digit={prediction.digit}, probability=")


def test_a_single_dot_does_not_hang_the_preprocessing():
    """Scaled up, a one-pixel dot is solid ink whose "stroke" is as wide as the image: the thinning
    filter is capped (it asked for thousands of pixels, and took hours; Hypothesis found it)."""
    code = ("import numpy as np; from digitnet.preprocess import preprocess\n"
            "image = np.full((5, 5), 255, np.uint8); image[2, 2] = 0\n"
            "print(preprocess(image).shape)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "(28, 28)", result.stderr


def test_a_gray_array_with_its_channel_axis_reads_as_without_it(model):
    image = np.zeros((28, 28), np.float32)
    image[6:22, 13:16] = 1.0                                           # a stroke: a one
    with_channel, without = predict_image(model, image[:, :, None]), predict_image(model, image)
    assert with_channel.digit == without.digit
    np.testing.assert_array_equal(with_channel.input, without.input)


def test_formats_beyond_the_common_pictures_are_not_opened():
    """EPS would be handed to Ghostscript: from a web upload, that is code no one should run."""
    eps = io.BytesIO()
    Image.new("L", (30, 30), 255).save(eps, "EPS")
    with pytest.raises(DigitnetError, match=r"^not an image file digitnet reads \(PNG, JPEG, GIF, BMP, TIFF, WebP or "
                                            r"PPM\)$"):
        predict_image(MLP(sizes=(784, 10)), eps.getvalue())

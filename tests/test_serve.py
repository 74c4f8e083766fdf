"""The drawing page: the server's endpoints and its answers to bad requests, the command, and the
page itself driven in headless Chromium (mouse strokes on the canvas, a photo upload).

Set TINYCNN_SCREENSHOT=docs/screenshot.png to keep the drawing test's screenshot for the README.
"""

import base64
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import types

import numpy as np
import pytest
from PIL import Image

from browser.cdp import Browser, find_chromium
from test_explain import draw_seven
from tinycnn import draw
from tinycnn.explain import DEFAULT_MODEL
from tinycnn.model import ModelFileError
from tinycnn.serve import make_server
from tinycnn.serve import server as server_module

IDLE = "document.body.dataset.state === 'idle'"
FAKE_READING = {"file": None, "text": "42", "lines": ["42"], "uncertain": True, "digits": [
    {"label": 4, "prob": 0.98, "box": [20, 10, 60, 80], "line": 0, "alternatives": [[9, 0.01]]},
    {"label": 2, "prob": 0.61, "box": [110, 12, 58, 78], "line": 0, "alternatives": [[7, 0.3]]}]}


# --- helpers and fixtures ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def server():
    """The page's server on a free port, serving from a thread of this process."""
    httpd = make_server("127.0.0.1", 0, model_path=DEFAULT_MODEL, quiet=True)  # the reader uses it too
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def base_url(server):
    return f"http://127.0.0.1:{server.server_address[1]}"


def send(server, path, body=None, headers=None):
    """GET (no body) or POST -> (status, the JSON answer, or the text of anything else)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=20)
    connection.request("GET" if body is None else "POST", path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    is_json = response.getheader("Content-Type") == "application/json"
    return response.status, json.loads(data) if is_json else data.decode()


def post_image(server, path, image):
    return send(server, path, draw.png_bytes(image), {"Content-Type": "image/png"})


def decode_data_url(url):
    assert url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def fake_reader(monkeypatch, answer=FAKE_READING, error=None):
    """Stand in for tinycnn.read: record the calls, answer `answer` or raise `error`."""
    calls = []

    def read_digits(image, model=None):
        calls.append((image, model))
        if error:
            raise error
        return types.SimpleNamespace(to_dict=lambda: answer)

    monkeypatch.setitem(sys.modules, "tinycnn.read", types.SimpleNamespace(read_digits=read_digits))
    return calls


def number_image(mnist_data, digits):
    """MNIST test digits side by side, dark on white paper, 3x larger: a photo-like number."""
    _, (x_test, y_test) = mnist_data
    crops = [255 - x_test[np.flatnonzero(y_test == int(d))[0]] for d in digits]
    page = np.full((28 * 3 + 60, len(digits) * 28 * 3 + 60), 255, dtype=np.uint8)
    for i, crop in enumerate(crops):
        page[30:30 + 84, 30 + i * 84:30 + (i + 1) * 84] = np.kron(crop, np.ones((3, 3), dtype=np.uint8))
    return Image.fromarray(page)


# --- the endpoints ---------------------------------------------------------------------------
def test_the_page_is_self_contained(server):
    status, page = send(server, "/")
    assert status == 200 and '<canvas id="pad"' in page and '<input type="file" id="file"' in page
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page)  # no scripts, styles or fonts from elsewhere


def test_predict_reads_a_drawn_seven(server):
    status, answer = post_image(server, "/api/predict", draw_seven())
    assert status == 200 and answer["digit"] == 7
    assert len(answer["probabilities"]) == 10 and abs(sum(answer["probabilities"]) - 1) < 1e-4
    assert decode_data_url(answer["input"]).size == (28, 28)
    assert len(answer["feature_maps"]) == 32 and decode_data_url(answer["feature_maps"][0]).size == (26, 26)


def truncated_png():
    return draw.png_bytes(draw_seven())[:400]


def huge_png():
    return draw.png_bytes(Image.new("1", (8000, 8000)))  # 64 megapixels in a few kilobytes


@pytest.mark.parametrize("path, body, headers, status, message", [
    ("/api/predict", b"not an image", {"Content-Type": "image/png"}, 400, "<body>: not an image file"),
    ("/api/predict", truncated_png(), {"Content-Type": "image/png"}, 400, "corrupt or truncated"),
    ("/api/predict", draw.png_bytes(Image.new("L", (280, 280), 255)), {"Content-Type": "image/png"}, 400, "no ink"),
    ("/api/predict", huge_png(), {"Content-Type": "image/png"}, 400, "image too large"),
    ("/api/predict", b'{"image": 1}', {"Content-Type": "application/json"}, 415, "send an image"),
    ("/api/predict", b"x", {"Content-Type": "image/png", "Content-Length": "1x"}, 400, "bad Content-Length"),
    ("/api/predict", b"", {"Content-Type": "image/png", "Content-Length": str(server_module.MAX_BODY + 1)}, 413,
     "the limit is"),
    ("/api/nothing", b"x", {"Content-Type": "image/png"}, 404, "no such endpoint"),
    ("/nothing", None, {}, 404, "no such page"),
])
def test_bad_requests_get_a_json_error_and_the_server_goes_on(server, path, body, headers, status, message):
    answer = send(server, path, body, headers)
    assert answer[0] == status and message in answer[1]["error"] and "\n" not in answer[1]["error"]
    assert post_image(server, "/api/predict", draw_seven())[1]["digit"] == 7


def test_a_missing_content_length_is_refused(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=20)
    connection.putrequest("POST", "/api/predict")
    connection.putheader("Content-Type", "image/png")
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 411 and "Content-Length" in json.loads(response.read())["error"]
    connection.close()


def test_a_bug_answers_500_without_a_traceback_and_the_server_goes_on(server, monkeypatch):
    def broken(model, image):
        raise RuntimeError("boom")

    monkeypatch.setattr(server_module, "activations", broken)
    assert post_image(server, "/api/predict", draw_seven()) == (500, {"error": "internal error (RuntimeError)"})
    monkeypatch.undo()
    assert post_image(server, "/api/predict", draw_seven())[0] == 200


def test_read_passes_the_photo_to_the_reader_and_its_answer_back(server, monkeypatch):
    calls = fake_reader(monkeypatch)
    assert post_image(server, "/api/read", draw_seven()) == (200, FAKE_READING)
    (image, model), = calls
    assert image.read() == draw.png_bytes(draw_seven()) and image.name == "<body>" and model is server.model


@pytest.mark.parametrize("error, status, message", [
    (ValueError("<image>: no digits found\n(try a darker pen)"), 400, "<image>: no digits found (try a darker pen)"),
    (ModelFileError("reader.npz: no such file"), 500, "the reader's model cannot be loaded: reader.npz: no such file"),
])
def test_read_reports_the_readers_complaint_in_one_line(server, monkeypatch, error, status, message):
    fake_reader(monkeypatch, error=error)
    assert post_image(server, "/api/read", draw_seven()) == (status, {"error": message})


def test_without_a_model_the_reader_picks_its_own():
    httpd = make_server("127.0.0.1", 0, quiet=True)
    assert httpd.reader_model is None and httpd.model.count_params() == 93322
    httpd.server_close()


def test_read_with_the_real_reader(server, mnist_data):
    status, answer = post_image(server, "/api/read", number_image(mnist_data, "307"))
    assert status == 200 and answer["text"] == "307" and len(answer["digits"]) == 3
    assert [d["box"][0] < e["box"][0] for d, e in zip(answer["digits"], answer["digits"][1:])] == [True, True]
    photo = io.BytesIO()
    number_image(mnist_data, "307").resize((2400, 1200)).save(photo, "JPEG", quality=90)  # boxes in its own pixels
    status, answer = send(server, "/api/read", photo.getvalue(), {"Content-Type": "image/jpeg"})
    assert status == 200 and answer["text"] == "307" and answer["digits"][-1]["box"][0] > 1200
    for body, words in ((b"junk", "<body>: not an image file"), (huge_png(), "<body>: image too large")):
        status, answer = send(server, "/api/read", body, {"Content-Type": "image/png"})
        assert status == 400 and answer["error"].startswith(words)


# --- the command -----------------------------------------------------------------------------------
def run_serve(*args):
    return subprocess.run([sys.executable, "-m", "tinycnn.serve", *args], capture_output=True, text=True, timeout=60)


def _interruptible():
    """Run in the child before exec: Ctrl+C back to its default. A shell without job control starts background
    commands ignoring SIGINT, and children inherit that: a test run started so would otherwise hang here."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_the_command_serves_until_interrupted():
    process = subprocess.Popen([sys.executable, "-m", "tinycnn.serve", "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=_interruptible)
    try:
        line = process.stdout.readline()
        port = int(re.fullmatch(r"Serving on http://127\.0\.0\.1:(\d+)/ \(Ctrl\+C to stop\)\n", line).group(1))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        connection.request("GET", "/")
        assert connection.getresponse().status == 200
        connection.close()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()


def test_the_command_reports_bad_arguments_in_one_line(tmp_path):
    helped = run_serve("--help")
    assert helped.returncode == 0 and "--port" in helped.stdout and "--host" in helped.stdout
    bad_model = run_serve("--model", str(tmp_path / "none.npz"))
    assert bad_model.returncode == 2 and bad_model.stderr == f"error: {tmp_path / 'none.npz'}: no such file\n"
    assert run_serve("--port", "70000").returncode == 2
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = run_serve("--port", str(taken.getsockname()[1]))
    assert busy.returncode == 2 and busy.stderr.startswith("error: cannot listen on 127.0.0.1:")
    assert busy.stderr.count("\n") == 1


# --- the page in a real browser -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if find_chromium() is None:
        pytest.skip("no chromium binary for the browser tests (apt-get install chromium)")
    with Browser.launch() as chromium:
        yield chromium


@pytest.fixture
def page(browser, server):
    tab = browser.new_page(1100, 820)
    tab.goto(base_url(server) + "/")
    yield tab
    tab.close()


def text(page, element_id):
    return page.evaluate(f"document.getElementById({json.dumps(element_id)}).textContent")


def stroke_on_pad(page, corners, step=8):
    """Drag the mouse through `corners` (in the 280x280 pad's pixels), with a move every `step` px."""
    left, top, size = page.evaluate("(() => { const r = document.getElementById('pad').getBoundingClientRect();"
                                    " return [r.left, r.top, r.width]; })()")
    points = [corners[0]]
    for (x0, y0), (x1, y1) in zip(corners, corners[1:]):
        n = max(1, int(np.hypot(x1 - x0, y1 - y0) // step))
        points += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1)]
    page.drag([(left + x * size / 280, top + y * size / 280) for x, y in points])
    page.wait_for(f"{IDLE} && document.getElementById('digit').textContent")


def test_drawing_with_the_mouse_shows_the_prediction_and_feature_maps(page, tmp_path):
    stroke_on_pad(page, [(70, 60), (210, 60), (120, 230)])  # a 7
    assert text(page, "digit") == "7" and text(page, "status") == ""
    assert page.evaluate("document.querySelectorAll('#maps img').length") == 32
    assert page.evaluate("document.querySelectorAll('#bars .bar').length") == 10
    assert page.evaluate("document.getElementById('input28').naturalWidth") == 28
    screenshot = tmp_path / "screenshot.png"
    screenshot.write_bytes(page.screenshot())
    assert Image.open(screenshot).size == (1100, 820)
    if os.environ.get("TINYCNN_SCREENSHOT"):
        shutil.copyfile(screenshot, os.environ["TINYCNN_SCREENSHOT"])

    page.click("#clear")
    assert text(page, "digit") == "" and page.evaluate("document.querySelectorAll('#maps img').length") == 0
    stroke_on_pad(page, [(140, 40), (140, 240)])  # a 1
    assert text(page, "digit") == "1"


def test_the_browser_cannot_reach_the_internet(page):
    outcome = page.evaluate("fetch('http://example.com/', {mode: 'no-cors'}).then(() => 'reached', () => 'blocked')")
    assert outcome == "blocked"


@pytest.mark.parametrize("reader", ["fake", "real"])
def test_uploading_a_photo_shows_the_boxes_and_digits(page, tmp_path, monkeypatch, mnist_data, reader):
    if reader == "fake":
        fake_reader(monkeypatch)
        photo, expected = Image.new("L", (200, 100), 255), FAKE_READING["text"]
    else:
            photo, expected = number_image(mnist_data, "307"), "307"
    photo.save(tmp_path / "number.png")
    page.click("#mode-photo")
    page.set_files("#file", [tmp_path / "number.png"])
    page.wait_for(f"{IDLE} && document.getElementById('reading').textContent")
    assert text(page, "reading") == expected and text(page, "status") == ""
    boxes = page.evaluate("[...document.querySelectorAll('#photo-view .box')].map(b => [b.textContent, b.style.left])")
    assert [label for label, _ in boxes] == list(expected)
    if reader == "fake":
        assert boxes[0][1] == "10%" and "uncertain" in text(page, "uncertain")  # box x 20 of 200 px

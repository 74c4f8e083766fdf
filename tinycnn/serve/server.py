"""The drawing page's web server: the standard library's http.server, one page, two JSON endpoints.

    GET  /              page.html: draw a digit, or upload a photo of a number
    POST /api/predict   body: a PNG of the drawing (Content-Type: image/png)
                        -> {"digit": 7, "probabilities": [10 floats],
                            "input": the 28x28 input the network saw, as a PNG data URL,
                            "feature_maps": the first layer's 32 outputs (26x26), as PNG data URLs}
    POST /api/read      body: a photo of a number (Content-Type: image/jpeg, image/png, ...)
                        -> tinycnn.read.read_digits(image).to_dict():
                           {"text", "lines", "digits": [{"label", "prob", "box", "line", "alternatives"}], ...}

A bad request gets a 4xx answer, a failure on the server's side a 500, both with
{"error": "one line"} and never a traceback; the server goes on serving. Requests run in
threads, but the layers keep their last input for backward, so one model must not run two
forward passes at once: a lock takes them one at a time.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import urlsplit

from .. import draw
from ..explain import DEFAULT_MODEL, activations, to_model_input
from ..imageio import load_grayscale, named_bytes
from ..model import ModelFileError, load_model

MAX_BODY = 10 * 1024 * 1024  # bytes: a phone photo fits, a runaway upload does not
CONTENT_TYPES = ("image/", "application/octet-stream")


class RequestError(Exception):
    """A request the server cannot answer: an HTTP status and a one-line message for the client."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def body_file(body):
    """The bytes of an image file as a file object named <body>: imageio checks it (its size before
    decoding, decompression bombs, corrupt data) and names it so in one line, and the reader decodes a
    JPEG photo only as large as it needs."""
    return named_bytes(body, "<body>")


def predict(server, body):
    """A drawing -> the prediction, its probabilities, the 28x28 input and the first layer's maps."""
    try:
        image = to_model_input(load_grayscale(body_file(body)))
    except ValueError as error:  # an ImageError, or no ink on the canvas
        raise RequestError(400, str(error)) from None
    with server.lock:
        steps = activations(server.model, image)
    probabilities, first = steps[-1][1], steps[0][1]
    maps = [first[:, :, c] for c in range(first.shape[-1])] if first.ndim == 3 else []
    high = max(float(first.max()), 1e-6)
    return {"digit": int(probabilities.argmax()),
            "probabilities": [round(float(p), 6) for p in probabilities],
            "input": draw.data_url(draw.gray(image, 0.0, 1.0)),
            "feature_maps": [draw.data_url(draw.gray(m, 0.0, high)) for m in maps]}


def read(server, body):
    """A photo of a number -> the reader's answer (tinycnn.read), as JSON."""
    from ..read import read_digits  # imported on first use: the drawing mode does not need it

    try:
        with server.lock:
            return read_digits(body_file(body), model=server.reader_model).to_dict()
    except ModelFileError as error:  # the server's fault, not the photo's
        raise RequestError(500, f"the reader's model cannot be loaded: {error}") from None
    except ValueError as error:  # ImageError and the reader's own complaints about the photo
        raise RequestError(400, " ".join(str(error).split())) from None


ROUTES = {"/api/predict": predict, "/api/read": read}


class Handler(BaseHTTPRequestHandler):
    """GET / serves the page; POST /api/... reads an image body and answers in JSON."""

    server_version = "tinycnn"
    timeout = 30  # seconds a client may stall before its connection is dropped

    def do_GET(self):
        if urlsplit(self.path).path in ("/", "/index.html"):
            self._send(200, "text/html; charset=utf-8", resources.files(__package__).joinpath("page.html").read_bytes())
        else:
            self._send_json(404, {"error": f"no such page: {urlsplit(self.path).path}"})

    def do_POST(self):
        try:
            route = ROUTES.get(urlsplit(self.path).path)
            if route is None:
                raise RequestError(404, f"no such endpoint: {urlsplit(self.path).path}")
            self._send_json(200, route(self.server, self._read_body()))
        except RequestError as error:
            self.close_connection = True  # an unread body must not be taken for the next request
            self._send_json(error.status, {"error": str(error)})
        except Exception as error:  # a bug: log one line, answer 500 and keep serving the others
            self.log_error("internal error on %s: %s: %s", self.path, type(error).__name__, error)
            self._send_json(500, {"error": f"internal error ({type(error).__name__})"})

    def _read_body(self):
        """The request's body, after checking its type and size. Raises RequestError."""
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith(CONTENT_TYPES):
            raise RequestError(415, f"send an image (Content-Type image/...), not {content_type or 'nothing'!r}")
        length = self.headers.get("Content-Length")
        if length is None:
            raise RequestError(411, "a Content-Length header is required")
        if not length.isdigit():
            raise RequestError(400, f"bad Content-Length {length!r}")
        if int(length) > MAX_BODY:
            raise RequestError(413, f"the body is {int(length)} bytes; the limit is {MAX_BODY}")
        return self.rfile.read(int(length))

    def _send_json(self, status, answer):
        self._send(status, "application/json", json.dumps(answer).encode())

    def _send(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")


def make_server(host="127.0.0.1", port=8000, model_path=None, quiet=False):
    """A ThreadingHTTPServer for the page, bound but not yet serving (call serve_forever()).

    model_path: the model for both modes; by default the shipped paper CNN draws and the reader
    picks its own. port=0 takes any free port: see server.server_address. Raises ModelFileError, OSError.
    """
    model = load_model(model_path or DEFAULT_MODEL)
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    server.model, server.reader_model = model, model if model_path else None
    server.lock, server.quiet = threading.Lock(), quiet
    return server

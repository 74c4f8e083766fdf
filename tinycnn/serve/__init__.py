"""A local web page to draw a digit and watch the network read it, or to read a photo of a number.

    python -m tinycnn.serve            # then open http://127.0.0.1:8000/

The page (page.html, no external scripts or fonts: it works offline) posts the drawing to the
server (server.py), which answers with the prediction and the first layer's feature maps.
"""

from .server import make_server

__all__ = ["make_server"]

"""python -m tinycnn.serve [--port 8000] [--host 127.0.0.1] [--model PATH]: start the drawing page."""

import argparse
import sys

from ..model import ModelFileError
from .server import make_server


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tinycnn.serve",
                                     description="Serve a page to draw a digit and see the network read it.")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000; 0 = any free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    parser.add_argument("--model", help="model file (default: the shipped paper CNN)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0-65535, got {args.port}")
    try:
        server = make_server(args.host, args.port, args.model)
    except ModelFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port} ({error.strerror or error})", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    print(f"Serving on http://{host}:{port}/ (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

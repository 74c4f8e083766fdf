"""Drive headless Chromium through the DevTools protocol, with the standard library only.

    with Browser.launch() as browser:           # FileNotFoundError if there is no chromium
        page = browser.new_page(1000, 800)
        page.goto("http://127.0.0.1:8000/")
        page.evaluate("document.title")         # -> the JavaScript value, as JSON
        page.drag([(10, 10), (50, 80)])         # mouse down, moves, up: real pointer events
        page.set_files("#file", ["digits.png"])
        png = page.screenshot()
        page.close()

The protocol is JSON messages over a WebSocket; `WebSocket` below is the few lines of RFC 6455
a client needs. The browser is cut off from the network: every host name except 127.0.0.1
resolves to nothing, and anything else is sent to a proxy on a closed local port.
"""

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--no-default-browser-check",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
    "--disable-default-apps", "--disable-domain-reliability", "--mute-audio", "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--proxy-server=http://127.0.0.1:9",
    "--remote-debugging-port=0",
]


def find_chromium():
    """The path of a Chromium binary ($CHROMIUM, else the first of NAMES on PATH), or None."""
    candidates = [os.environ.get("CHROMIUM")] + [shutil.which(name) for name in NAMES]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


class WebSocket:
    """A minimal WebSocket client: text messages only, no extensions."""

    def __init__(self, url, timeout=30):
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        headers = [f"GET {parts.path} HTTP/1.1", f"Host: {parts.netloc}", "Upgrade: websocket", "Connection: Upgrade",
                   f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        self.sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        self.file = self.sock.makefile("rb")
        status = self.file.readline()
        if b" 101 " not in status:
            raise ConnectionError(f"{url}: WebSocket handshake refused: {status!r}")
        while self.file.readline() not in (b"\r\n", b""):  # skip the response headers
            pass

    def send(self, text, opcode=0x1):
        """One final frame; a client must mask its payload with 4 random bytes."""
        payload, mask = text.encode() if isinstance(text, str) else text, os.urandom(4)
        n = len(payload)
        length = bytes([0x80 | n]) if n < 126 else (bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536
                                                     else bytes([0x80 | 127]) + struct.pack(">Q", n))
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self.sock.sendall(bytes([0x80 | opcode]) + length + mask + masked)

    def receive(self):
        """The next text message, reassembled from its frames; answers pings on the way."""
        message = b""
        while True:
            first, second = self._read(2)
            n = second & 0x7F
            if n >= 126:
                (n,) = struct.unpack(">H" if n == 126 else ">Q", self._read(2 if n == 126 else 8))
            payload, opcode = self._read(n), first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("the browser closed the DevTools connection")
            if opcode == 0x9:
                self.send(payload, opcode=0xA)
            elif opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:
                    return message.decode()

    def _read(self, n):
        data = self.file.read(n)
        if len(data) < n:
            raise ConnectionError("the DevTools connection ended")
        return data

    def close(self):
        self.sock.close()


class Browser:
    """A headless Chromium process and its DevTools connection."""

    def __init__(self, process, socket_, profile):
        self.process, self.ws, self.profile = process, socket_, profile
        self.next_id = 0

    @classmethod
    def launch(cls, binary=None, timeout=20):
        binary = binary or find_chromium()
        if binary is None:
            raise FileNotFoundError("no chromium binary found (apt-get install chromium)")
        profile = Path(tempfile.mkdtemp(prefix="tinycnn-chromium-"))
        log = open(profile / "stderr.log", "wb")
        process = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        try:
            return cls(process, WebSocket(cls._devtools_url(process, profile, timeout)), profile)
        except BaseException:
            process.kill()
            process.wait()
            shutil.rmtree(profile, ignore_errors=True)
            raise

    @staticmethod
    def _devtools_url(process, profile, timeout):
        """Chromium writes its port and path into DevToolsActivePort once it listens."""
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = (profile / "stderr.log").read_text(errors="replace")[-500:]
                raise RuntimeError(f"chromium exited with code {process.returncode}: {tail}")
            lines = port_file.read_text().split() if port_file.exists() else []
            if len(lines) == 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.05)
        raise TimeoutError(f"chromium did not open its DevTools port within {timeout} s")

    def call(self, method, session=None, **params):
        """Send one command and return its result, skipping the events that arrive meanwhile."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            answer = json.loads(self.ws.receive())
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error'].get('message')}")
                return answer.get("result", {})

    def new_page(self, width=1000, height=800):
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        page = Page(self, target, self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"])
        page.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        return page

    def close(self):
        try:
            self.call("Browser.close")
        except (OSError, ConnectionError, RuntimeError):
            pass
        self.ws.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Page:
    """One tab, reached through its DevTools session."""

    def __init__(self, browser, target, session):
        self.browser, self.target, self.session = browser, target, session

    def call(self, method, **params):
        return self.browser.call(method, session=self.session, **params)

    def goto(self, url):
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")

    def evaluate(self, expression):
        """Run JavaScript (awaiting a promise) and return its value."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=10):
        """Poll until the expression is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise TimeoutError(f"still false after {timeout} s: {expression}")

    def drag(self, points):
        """Press the left button at the first point, move through the rest, release: one stroke."""
        def mouse(kind, x, y, buttons):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", buttons=buttons, clickCount=1)
        mouse("mousePressed", *points[0], 1)
        for x, y in points[1:]:
            mouse("mouseMoved", x, y, 1)
        mouse("mouseReleased", *points[-1], 0)

    def click(self, selector):
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    def set_files(self, selector, paths):
        """Choose files in an <input type=file>, as the user would (fires its change event)."""
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.call("DOM.setFileInputFiles", files=[str(path) for path in paths], nodeId=node)

    def screenshot(self):
        """The visible page as PNG bytes."""
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def close(self):
        self.browser.call("Target.closeTarget", targetId=self.target)

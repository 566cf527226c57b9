"""Headless Chromium driven through the DevTools protocol over a pipe, for the report tests.

``--remote-debugging-pipe`` speaks the DevTools protocol on file descriptors 3 (commands in) and
4 (replies and events out), each message JSON ending in a NUL byte. A pipe needs no port and no
websocket library, and only this test process can talk to the browser. The browser is boxed in
with the flags Debian's build honours so that it sends nothing anywhere: no background
networking, component updates, sync or QUIC, and every host name resolves to nothing.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
COMMAND_TIMEOUT = 30.0
# A full-page screenshot of the demo report rasterises a tall page: on a loaded 2-core machine
# it has taken over 30 s.
SCREENSHOT_TIMEOUT = 120.0
MAX_CAPTURE_HEIGHT = 16_384


class BrowserError(AssertionError):
    """The browser answered a command with an error, or not in time."""


class Browser:
    """``with Browser(tmp_path) as browser: page = browser.open(url)``; stops by its PID."""

    def __init__(self, profile: Path, *, width: int = 1280, height: int = 900) -> None:
        self.profile = profile
        self.size = (width, height)
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        self._buffer = b""

    def __enter__(self) -> Browser:
        # Chromium's own log, for when a test fails: it is noisy (no D-Bus here) but tells why.
        self.log_path = self.profile.with_name(self.profile.name + ".log")
        self._log = self.log_path.open("wb")
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()

        def wire_fds() -> None:  # runs in the child before exec
            # Move both ends above 4 first: a pipe end that already is fd 3 or 4 would
            # otherwise be overwritten by the other one's dup2.
            commands = fcntl.fcntl(commands_read, fcntl.F_DUPFD, 10)
            replies = fcntl.fcntl(replies_write, fcntl.F_DUPFD, 10)
            os.dup2(commands, 3)
            os.dup2(replies, 4)

        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--user-data-dir={self.profile}",
                f"--window-size={self.size[0]},{self.size[1]}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            close_fds=False,
            preexec_fn=wire_fds,
        )
        os.close(commands_read)
        os.close(replies_write)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.call("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        os.close(self._replies)
        self._log.close()

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float = COMMAND_TIMEOUT,
    ) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline, f"{method} (waiting for its reply)")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def wait_for(self, method: str, *, timeout: float = COMMAND_TIMEOUT) -> dict[str, Any]:
        """The first event ``method`` seen (kept from earlier, or read now)."""
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._receive(deadline, f"event {method}")
            self.events.append(event)
            if event.get("method") == method:
                return event

    def open(self, url: str, *, javascript: bool = True) -> Page:
        """A new tab with network and log events on, navigated to ``url`` and loaded."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, session)
        page.call("Network.enable")
        page.call("Page.enable")
        page.call("Log.enable")
        page.call("Runtime.enable")
        if not javascript:
            page.call("Emulation.setScriptExecutionDisabled", {"value": True})
        self.events.clear()
        page.call("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")
        return page

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                raise BrowserError(f"Chromium did not answer in time: {waiting_for}")
            chunk = os.read(self._replies, 1 << 16)
            if not chunk:
                raise BrowserError(f"Chromium exited (code {self.process.poll()}): {waiting_for}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        parsed: dict[str, Any] = json.loads(message)
        return parsed


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float = COMMAND_TIMEOUT,
    ) -> dict[str, Any]:
        return self.browser.call(method, params, session=self.session, timeout=timeout)

    def events(self, method: str) -> list[dict[str, Any]]:
        """The parameters of every ``method`` event this page sent so far."""
        return [
            e["params"]
            for e in self.browser.events
            if e.get("method") == method and e.get("sessionId") == self.session
        ]

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression (promises awaited)."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click (press and release) in the middle of the element."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1},
            )

    def screenshot(self, path: Path, *, full_page: bool = True) -> None:
        # A tab behind another one (a later test opened a page) produces no frames, and its
        # capture waits for one for ever.
        self.call("Page.bringToFront")
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            width, height = self.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            # Headless Chromium rasterises a capture in one surface: past ~16k px it can stall
            # for minutes on a loaded machine, so a tall page is captured from its top.
            height = min(height, MAX_CAPTURE_HEIGHT)
            params["clip"] = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        data = self.call("Page.captureScreenshot", params, timeout=SCREENSHOT_TIMEOUT)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

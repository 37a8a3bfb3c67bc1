"""The annotation page's screenshot for the docs: probe videos, the app on a free loopback port, headless Chromium.

    python benchmarks/screenshots_annotate.py [--out docs/img/annotate.png]

Labels two items with the keyboard, then answers a third so that its reason check shows, and shoots the page.
"""
from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from fingereval.annotate.app import create_app
from fingereval.annotate.store import open_store
from fingereval.probes import make_probes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img/annotate.png"))
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        probes = make_probes(Path(tmp) / "probes", 2, seed=3, size=224)
        store, _ = open_store(Path(tmp) / "annotations.sqlite", probes.qa_path)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(store, per_item=2), host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            with sync_playwright() as play:
                browser = play.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1180, "height": 640})
                page.goto(f"http://127.0.0.1:{port}/?annotator=ann")
                page.locator("#question").wait_for()
                for key in ("y", "a", "n", "r"):  # two items: accept a reason, reject one
                    page.keyboard.press(key)
                    time.sleep(0.2)
                page.wait_for_function("document.getElementById('done').textContent === '2'")
                page.wait_for_function("document.getElementById('player').readyState >= 2")
                page.evaluate("document.getElementById('player').currentTime = 1.5")
                page.keyboard.press("y")  # the third item's reason check shows
                page.wait_for_function("document.getElementById('clock').textContent.startsWith('1.5')")
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            server.should_exit = True
            thread.join(10)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""A media server on 127.0.0.1 (the loopback stand-in for YouTube) that counts what it serves."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import make_mp3, make_wav


class Server:
    def __init__(self, root: Path):
        self.root = root
        self.requests: list[str] = []
        handler = functools.partial(self._Handler, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.requests = self.requests
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    class _Handler(SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            self.server.requests.append(self.path)
            return super().do_GET()

        def log_message(self, *args):
            pass

    def gets(self, name: str) -> int:
        """GET requests for ``/name`` so far. yt-dlp's generic extractor GETs a direct link once
        while listing it (to see that it is media), then once more to download it."""
        return self.requests.count(f"/{name}")


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    make_mp3(root / "ceramah-subuh.mp3", seconds=2.0, freq=300)
    make_mp3(root / "ceramah-maghrib.mp3", seconds=1.0, freq=500)
    make_wav(root / "podcast-ekonomi.wav", seconds=3.0, freq=200, rate=44100)
    (root / "page.html").write_text(
        "<html><head><title>Kuliah</title></head><body>"
        '<audio src="ceramah-subuh.mp3"></audio><audio src="ceramah-maghrib.mp3"></audio></body></html>'
    )
    (root / "corrupt.mp3").write_bytes(b"this is not audio" * 20)
    (root / "empty.mp3").write_bytes(b"")
    srv = Server(root)
    yield srv
    srv.httpd.shutdown()

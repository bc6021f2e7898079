"""load_stac over HTTP (loopback): a static catalog served by a file server and a minimal STAC API."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

SERVER = """
import functools, json, os, sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pystac

{handler}
if __name__ == "__main__":
    directory, port_file = sys.argv[1], sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=directory))
    with open(port_file + ".tmp", "w") as fh:
        fh.write(str(server.server_address[1]))
    import os
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()
"""


@pytest.fixture
def served(tmp_path):
    """Serve tmp_path over HTTP on loopback from a child process (GDAL holds the GIL while it
    reads, so an in-process server thread would deadlock); yields the base URL."""
    script = tmp_path / "server.py"
    script.write_text(SERVER.replace("{handler}", HANDLER))
    port_file = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path), str(port_file)])
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "test server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text()}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


HANDLER = '''
class _Handler(SimpleHTTPRequestHandler):
    """Static files plus a tiny STAC API (landing page, collection, /search) under /api."""

    def log_message(self, *args):  # keep test output quiet
        pass

    def _json(self, doc: dict) -> None:
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _api(self) -> bool:
        path = urlparse(self.path).path
        if not path.startswith("/api"):
            return False
        base = f"http://{self.headers['Host']}/api"
        cat = pystac.Catalog.from_file(f"{self.directory}/stac/catalog.json")
        items = []
        for obj in cat.get_items(recursive=True):
            item = obj.to_dict()
            for key, asset in obj.assets.items():
                rel = os.path.relpath(asset.get_absolute_href(), self.directory)
                item["assets"][key]["href"] = f"http://{self.headers['Host']}/{rel}"
            item["collection"] = "DEMO"
            items.append(item)
        if path in ("/api", "/api/"):
            self._json({"type": "Catalog", "id": "api", "description": "test API", "stac_version": "1.0.0",
                        "conformsTo": ["https://api.stacspec.org/v1.0.0/core",
                                       "https://api.stacspec.org/v1.0.0/item-search"],
                        "links": [{"rel": "self", "href": base}, {"rel": "root", "href": base},
                                  {"rel": "search", "href": f"{base}/search", "method": "GET"}]})
        elif path == "/api/collections/DEMO":
            self._json({"type": "Collection", "id": "DEMO", "description": "d", "license": "CC0-1.0",
                        "stac_version": "1.0.0", "extent": {"spatial": {"bbox": [[13, 52, 14, 53]]},
                                                            "temporal": {"interval": [[None, None]]}},
                        "links": [{"rel": "items", "href": f"{base}/collections/DEMO/items"}]})
        elif path == "/api/search":
            self._json({"type": "FeatureCollection", "features": items, "links": []})
        else:
            self.send_error(404)
        return True

    def do_GET(self):
        if not self._api():
            super().do_GET()

    def do_POST(self):  # pystac-client searches with POST
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self._api():
            self.send_error(404)
'''


def test_remote_static_catalog(tmp_path, served, catalog, make_stac):
    make_stac(tmp_path / "stac")
    cube = catalog.load_stac(f"{served}/stac/catalog.json", None, ["2022-06-01", "2022-07-01"], ["red"], None)
    assert cube.sizes["t"] == 1
    assert int(cube.values[0, 0, 5, 5]) == 101


def test_stac_api_collection(tmp_path, served, catalog, make_stac):
    make_stac(tmp_path / "stac")
    cube = catalog.load_stac(f"{served}/api/collections/DEMO",
                             {"west": 13.0, "south": 52.0, "east": 14.0, "north": 53.0},
                             ["2022-05-01", "2022-08-01"], ["nir"], lambda p: p["eo:cloud_cover"] >= 10)
    assert cube.sizes["t"] == 2
    assert cube.values[:, 0, 0, 0].tolist() == [201, 202]

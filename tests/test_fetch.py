"""The download step over real HTTP (a server on 127.0.0.1), from a mirror folder and from aeon."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from conftest import REPO
from synthtl.fetch import DownloadError, embedded_dir, fetch

DATASET = "BasicMotions"
MEMBERS = (f"{DATASET}_TRAIN.ts", f"{DATASET}_TEST.ts")


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves `server.routes`: path -> list of behaviours, one per request (the last one repeats)."""

    def do_GET(self):  # noqa: N802  (http.server's name)
        server = self.server
        server.hits[self.path] = server.hits.get(self.path, 0) + 1
        plan = server.routes.get(self.path, [("status", 404)])
        kind, value = plan[min(server.hits[self.path], len(plan)) - 1]
        if kind == "status":
            self.send_error(value)
        elif kind == "stall":  # accept the request, never answer in time
            server.release.wait(value)
        elif kind == "stall_body":  # headers and half the body, then silence
            self._head(len(value))
            self.wfile.write(value[: len(value) // 2])
            self.wfile.flush()
            server.release.wait(10)
        elif kind == "cut":  # declares the whole body, sends half, closes the connection
            self._head(len(value))
            self.wfile.write(value[: len(value) // 2])
        elif kind == "undeclared":  # no Content-Length: the body ends when the connection closes
            self.send_response(200)
            self.end_headers()
            self.wfile.write(value)
        else:
            self._head(len(value))
            self.wfile.write(value)

    def _head(self, length: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the client hanging up on a stalled or oversized answer is what these tests do


@pytest.fixture
def server():
    """A real HTTP server on an ephemeral port of 127.0.0.1, stopped after the test."""
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.routes, httpd.hits, httpd.release = {}, {}, threading.Event()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def real_zip(shared_uea) -> bytes:
    return (shared_uea / f"{DATASET}.zip").read_bytes()


@pytest.fixture(scope="module")
def published_sha256(shared_uea) -> dict[str, str]:
    lines = (shared_uea / "SHA256SUMS").read_text().split("\n")
    return {name.removesuffix(".zip"): digest for digest, name in (line.split() for line in lines if line.strip())}


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def real_members(real_zip: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(real_zip)) as archive:
        return {name: archive.read(name) for name in MEMBERS}


def http_source(url: str, **overrides) -> dict:
    source = {"kind": "archive", "url": url, "sha256": None, "timeout_s": 2.0, "retries": 0,
              "backoff_s": 0.01, "max_mb": 50}
    source.update(overrides)
    return source


def assert_nothing_left(parent: Path) -> None:
    """After a failure: no output folder, no staging folder, nothing at all below `parent`."""
    assert sorted(p.name for p in parent.iterdir()) == []


def test_http_success_writes_files_and_record(server, tmp_path, real_zip, published_sha256):
    server.routes[f"/aeon/{DATASET}.zip"] = [("ok", real_zip)]
    out = tmp_path / "uea" / DATASET
    record = fetch(DATASET, out, http_source(server.url + "/aeon/{dataset}.zip"))

    assert sorted(p.name for p in out.iterdir()) == sorted([*MEMBERS, "source.json"])
    assert sorted(p.name for p in out.parent.iterdir()) == [DATASET]  # no staging folder left
    written = json.loads((out / "source.json").read_text())
    assert written == record
    assert written["url"] == f"{server.url}/aeon/{DATASET}.zip"
    assert written["source"] == "archive"
    assert written["zip_sha256"] == published_sha256[DATASET]
    expected = real_members(real_zip)
    for name in MEMBERS:
        assert (out / name).read_bytes() == expected[name]
        assert written["files"][name] == hashlib.sha256(expected[name]).hexdigest()


def test_expected_sha256_is_accepted(server, tmp_path, real_zip, published_sha256):
    server.routes[f"/{DATASET}.zip"] = [("ok", real_zip)]
    out = tmp_path / "uea" / DATASET
    fetch(DATASET, out, http_source(server.url + "/{dataset}.zip", sha256=published_sha256[DATASET].upper()))
    assert (out / "source.json").is_file()


def test_5xx_then_success_is_retried(server, tmp_path, real_zip):
    path = f"/{DATASET}.zip"
    server.routes[path] = [("status", 503), ("status", 500), ("ok", real_zip)]
    out = tmp_path / "uea" / DATASET
    fetch(DATASET, out, http_source(server.url + "/{dataset}.zip", retries=2))
    assert server.hits[path] == 3
    assert (out / MEMBERS[0]).is_file()


def test_truncated_body_is_retried(server, tmp_path, real_zip):
    path = f"/{DATASET}.zip"
    server.routes[path] = [("cut", real_zip), ("ok", real_zip)]
    out = tmp_path / "uea" / DATASET
    fetch(DATASET, out, http_source(server.url + "/{dataset}.zip", retries=1))
    assert server.hits[path] == 2
    assert (out / MEMBERS[0]).read_bytes() == real_members(real_zip)[MEMBERS[0]]


def test_404_is_final(server, tmp_path):
    out = tmp_path / "uea" / DATASET
    with pytest.raises(DownloadError) as error:
        fetch(DATASET, out, http_source(server.url + "/{dataset}.zip", retries=3))
    message = str(error.value)
    assert DATASET in message and f"{server.url}/{DATASET}.zip" in message and "404" in message
    assert server.hits[f"/{DATASET}.zip"] == 1  # a 4xx is not retried
    assert_nothing_left(out.parent)


def test_5xx_that_persists_fails_after_the_retries(server, tmp_path):
    path = f"/{DATASET}.zip"
    server.routes[path] = [("status", 502)]
    out = tmp_path / "uea" / DATASET
    with pytest.raises(DownloadError, match=r"failed after 3 attempts.*502") as error:
        fetch(DATASET, out, http_source(server.url + "/{dataset}.zip", retries=2))
    assert DATASET in str(error.value) and server.url in str(error.value)
    assert server.hits[path] == 3
    assert_nothing_left(out.parent)


@pytest.mark.parametrize("kind", ["stall", "stall_body"])
def test_timeout_is_retried_then_fails(server, tmp_path, real_zip, kind):
    path = f"/{DATASET}.zip"
    server.routes[path] = [(kind, real_zip if kind == "stall_body" else 10)]
    out = tmp_path / "uea" / DATASET
    started = time.monotonic()
    with pytest.raises(DownloadError, match="timed out") as error:
        fetch(DATASET, out, http_source(server.url + "/{dataset}.zip", timeout_s=0.3, retries=1))
    assert time.monotonic() - started < 5
    assert f"{server.url}/{DATASET}.zip" in str(error.value) and "after 2 attempts" in str(error.value)
    assert server.hits[path] == 2
    assert_nothing_left(out.parent)


def test_a_killed_download_leaves_nothing_that_looks_complete(server, tmp_path, real_zip):
    path = f"/{DATASET}.zip"
    server.routes[path] = [("stall_body", real_zip), ("ok", real_zip)]
    out = tmp_path / "uea" / DATASET
    code = (f"from synthtl.fetch import fetch; fetch({DATASET!r}, {str(out)!r}, "
            f"{http_source(server.url + '/{dataset}.zip', timeout_s=30)!r})")
    child = subprocess.Popen([sys.executable, "-c", code], cwd=REPO / "workflow" / "scripts")
    try:
        deadline = time.monotonic() + 20
        while not server.hits.get(path) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # half the zip is in the staging folder now
        assert child.poll() is None and server.hits.get(path) == 1
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(10)
    assert not out.exists()
    assert [p.name.startswith(f".{DATASET}.partial-") for p in out.parent.iterdir()] == [True]
    # the next attempt clears the remains and completes
    fetch(DATASET, out, http_source(server.url + "/{dataset}.zip"))
    assert sorted(p.name for p in out.parent.iterdir()) == [DATASET]
    assert sorted(p.name for p in out.iterdir()) == sorted([*MEMBERS, "source.json"])


def test_existing_output_folder_stays_empty_on_failure(server, tmp_path):
    out = tmp_path / "uea" / DATASET
    out.mkdir(parents=True)  # Snakemake creates the output folder before the job runs
    server.routes[f"/{DATASET}.zip"] = [("ok", b"this is not a zip file" * 10)]
    with pytest.raises(DownloadError, match="not a valid zip"):
        fetch(DATASET, out, http_source(server.url + "/{dataset}.zip"))
    assert list(out.iterdir()) == []
    assert sorted(p.name for p in out.parent.iterdir()) == [DATASET]


def corrupt_member_data(real_zip: bytes) -> bytes:
    """The real zip with bytes inside the first member's compressed data overwritten (directory intact)."""
    with zipfile.ZipFile(io.BytesIO(real_zip)) as archive:
        info = archive.infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 100
    data = bytearray(real_zip)
    data[start : start + 2000] = bytes(2000)
    return bytes(data)


def bad_zips(real_zip: bytes) -> dict[str, tuple[bytes, str]]:
    members = real_members(real_zip)
    return {
        "not a zip": (b"<html>not found</html>" * 50, "not a valid zip"),
        "truncated zip": (real_zip[: len(real_zip) // 2], "not a valid zip"),
        "corrupt member": (corrupt_member_data(real_zip), "corrupt zip member"),
        "parent escape": (make_zip({**members, "../evil.ts": b"x"}), "would escape the target folder"),
        "absolute path": (make_zip({**members, "/tmp/evil.ts": b"x"}), "would escape the target folder"),
        "unexpected member": (make_zip({**members, "notes.txt": b"x"}), "unexpected zip member 'notes.txt'"),
        "member missing": (make_zip({MEMBERS[0]: members[MEMBERS[0]]}), "zip lacks"),
        "member twice": (make_zip({**members, f"copy/{MEMBERS[0]}": b"x"}), f"zip holds {MEMBERS[0]} twice"),
    }


@pytest.mark.parametrize("case", ["not a zip", "truncated zip", "corrupt member", "parent escape",
                                  "absolute path", "unexpected member", "member missing", "member twice"])
def test_bad_zip_is_refused(server, tmp_path, real_zip, case):
    payload, expected = bad_zips(real_zip)[case]
    server.routes[f"/{DATASET}.zip"] = [("ok", payload)]
    out = tmp_path / "uea" / DATASET
    with pytest.raises(DownloadError, match=expected) as error:
        fetch(DATASET, out, http_source(server.url + "/{dataset}.zip"))
    assert DATASET in str(error.value) and f"{server.url}/{DATASET}.zip" in str(error.value)
    assert_nothing_left(out.parent)
    assert not (tmp_path / "evil.ts").exists() and not (out.parent / "evil.ts").exists()


def test_checksum_mismatch(server, tmp_path, real_zip, published_sha256):
    server.routes[f"/{DATASET}.zip"] = [("ok", real_zip)]
    out = tmp_path / "uea" / DATASET
    wrong = "0" * 64
    with pytest.raises(DownloadError) as error:
        fetch(DATASET, out, http_source(server.url + "/{dataset}.zip", sha256=wrong))
    message = str(error.value)
    assert DATASET in message and server.url in message
    assert published_sha256[DATASET] in message and wrong in message and "source.sha256" in message
    assert_nothing_left(out.parent)


@pytest.mark.parametrize(("kind", "expected"), [("ok", "172229 bytes exceeds the limit"),  # Content-Length
                                               ("undeclared", "more than 104857 bytes")])  # counted while reading
def test_zip_over_the_size_limit(server, tmp_path, real_zip, kind, expected):
    server.routes[f"/{DATASET}.zip"] = [(kind, real_zip)]
    out = tmp_path / "uea" / DATASET
    limit_mb = 0.1  # the zip is ~170 KB
    with pytest.raises(DownloadError, match=rf"{expected} .*\(source\.max_mb\)") as error:
        fetch(DATASET, out, http_source(server.url + "/{dataset}.zip", max_mb=limit_mb, retries=2))
    assert DATASET in str(error.value) and server.url in str(error.value)
    assert server.hits[f"/{DATASET}.zip"] == 1  # too large is final, not retried
    assert_nothing_left(out.parent)


def test_member_over_the_size_limit(server, tmp_path, real_zip):
    # the zip (~170 KB) is under 0.2 MiB, its .ts members (~228 KB each) are not
    server.routes[f"/{DATASET}.zip"] = [("ok", real_zip)]
    out = tmp_path / "uea" / DATASET
    with pytest.raises(DownloadError, match=r"unpacks to 227790 bytes, over the limit of 209715 \(source\.max_mb\)"):
        fetch(DATASET, out, http_source(server.url + "/{dataset}.zip", max_mb=0.2))
    assert_nothing_left(out.parent)


def test_mirror_base_url(server, tmp_path, real_zip, published_sha256):
    server.routes[f"/mirror/uea/{DATASET}.zip"] = [("ok", real_zip)]
    out = tmp_path / "uea" / DATASET
    record = fetch(DATASET, out, http_source(server.url + "/mirror/uea/", kind="mirror"))
    assert record["url"] == f"{server.url}/mirror/uea/{DATASET}.zip"
    assert record["source"] == "mirror" and record["zip_sha256"] == published_sha256[DATASET]
    assert (out / MEMBERS[1]).read_bytes() == real_members(real_zip)[MEMBERS[1]]


@pytest.mark.parametrize("dataset", ["ERing", "AtrialFibrillation"])
def test_mirror_folder(shared_uea, tmp_path, published_sha256, dataset):
    out = tmp_path / "uea" / dataset
    record = fetch(dataset, out, http_source(str(shared_uea), kind="mirror", sha256=published_sha256[dataset]))
    assert record["url"] == str(shared_uea / f"{dataset}.zip")
    assert record["zip_sha256"] == published_sha256[dataset]
    with zipfile.ZipFile(shared_uea / f"{dataset}.zip") as archive:
        for split in ("TRAIN", "TEST"):
            name = f"{dataset}_{split}.ts"
            assert (out / name).read_bytes() == archive.read(name)
            assert record["files"][name] == hashlib.sha256(archive.read(name)).hexdigest()


def test_mirror_folder_without_the_dataset(shared_uea, tmp_path):
    out = tmp_path / "uea" / "LSST"
    with pytest.raises(DownloadError, match=r"LSST: .*LSST\.zip: no such file in the mirror"):
        fetch("LSST", out, http_source(str(shared_uea), kind="mirror"))
    assert list((tmp_path / "uea").iterdir()) == []


@pytest.mark.parametrize("dataset", ["BasicMotions", "JapaneseVowels"])
def test_embedded(tmp_path, shared_uea, dataset):
    out = tmp_path / "uea" / dataset
    record = fetch(dataset, out, {"kind": "embedded"})
    assert record["source"] == "embedded" and record["url"].startswith("aeon 1.")
    assert embedded_dir(dataset).parent.parent.parent.name == "aeon"
    # aeon ships the archive's own files: the same bytes as the shared mirror's zips
    with zipfile.ZipFile(shared_uea / f"{dataset}.zip") as archive:
        for split in ("TRAIN", "TEST"):
            name = f"{dataset}_{split}.ts"
            assert (out / name).read_bytes() == archive.read(name)
            assert record["files"][name] == hashlib.sha256(archive.read(name)).hexdigest()
    assert sorted(p.name for p in out.parent.iterdir()) == [dataset]


def test_embedded_refuses_a_dataset_aeon_does_not_ship(tmp_path):
    with pytest.raises(DownloadError, match="ERing: not shipped inside the installed aeon package"):
        fetch("ERing", tmp_path / "uea" / "ERing", {"kind": "embedded"})
    assert list((tmp_path / "uea").iterdir()) == []

"""The JSON API over a real loopback socket: photos answer 200, bad uploads a one-line 4xx, and it keeps answering."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.helpers import ROOT, call
from tests.test_inference import assert_prediction_contract, astronaut
from tests.test_uploads import fuzz_cases, odd_images, png_header

SECRET_NAME = "private-face-7f3a.jpg"  # must never show up in the server's output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    """Start `python -m visage.serve` on the session's run and a free loopback port; yield (base URL, process, its TMPDIR)."""
    port, scratch = free_port(), tmp_path_factory.mktemp("serve") / "tmp"  # its log and cwd: scratch.parent, its own
    scratch.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(scratch), "WANDB_MODE": "offline"}
    log = (scratch.parent / "server.log").open("w+")
    process = subprocess.Popen([sys.executable, "-m", "visage.serve", f"run={tiny_run}", f"port={port}"],
                               cwd=scratch.parent, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.5)
    else:
        log.seek(0)
        pytest.fail(f"server did not start: {log.read()}")
    yield url, process, scratch
    process.terminate()
    process.wait(timeout=30)
    log.close()


def jpeg(image) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG")
    return buffer.getvalue()


def one_line_error(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert "\n" not in response.text and list(response.json()) == ["error"] and words in response.json()["error"]


def test_api_answers_photos_refuses_bad_uploads_and_keeps_answering(server) -> None:
    url, process, scratch = server
    photo = jpeg(astronaut())
    files_before = sorted(scratch.rglob("*"))  # what imports left there (e.g. wandb's empty folders)
    with httpx.Client(base_url=url, timeout=120) as client:
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["model"]["trained_on"] == "synthetic"

        first = client.post("/predict", files={"file": (SECRET_NAME, photo, "image/jpeg")})
        assert first.status_code == 200, first.text
        assert_prediction_contract(first.json())
        assert len(first.json()["faces"]) == 1

        one_line_error(client.post("/predict", files={"file": ("notes.txt", b"not a photo\n", "text/plain")}),
                       415, "not an image")
        one_line_error(client.post("/predict", files={"file": (SECRET_NAME, photo[: len(photo) // 2], "image/jpeg")}),
                       400, "truncated")
        one_line_error(client.post("/predict", files={"file": ("big.jpg", photo + bytes(40_000_000), "image/jpeg")}),
                       413, "larger than the limit")
        one_line_error(client.post("/predict", data={"path": "/etc/passwd"}), 400, "multipart/form-data")
        one_line_error(client.post("/predict", files={"image": ("a.jpg", photo, "image/jpeg")}), 400, "no multipart field")

        again = client.post("/predict", files={"file": (SECRET_NAME, photo, "image/jpeg")})
        assert again.status_code == 200 and again.json()["faces"] == first.json()["faces"]
    assert process.poll() is None  # still serving
    assert sorted(scratch.rglob("*")) == files_before  # no upload spooled to a temporary file
    output = (scratch.parent / "server.log").read_text()
    assert SECRET_NAME not in output and "Traceback" not in output
    assert f"http://127.0.0.1:{url.rsplit(':', 1)[1]}" in output  # loopback by default


def test_odd_images_are_predicted_and_a_tiny_one_holds_no_face(server) -> None:
    url, process, _ = server
    with httpx.Client(base_url=url, timeout=120) as client:
        answers = {name: client.post("/predict", files={"file": (name, data, "application/octet-stream")})
                   for name, data in odd_images().items()}
        declared_huge = client.post("/predict", files={"file": ("huge.png", png_header(50000, 50000), "image/png")})
    assert {name: a.status_code for name, a in answers.items() if a.status_code != 200} == {}
    for answer in answers.values():
        assert_prediction_contract(answer.json())
    assert answers["one_pixel.png"].json()["faces"] == [] and answers["thin.png"].json()["faces"] == []
    assert answers["one_pixel.png"].json()["image"] == {"width": 1, "height": 1}
    deep, flat = answers["gray16.png"].json()["faces"], answers["gray8.png"].json()["faces"]
    assert [f["box"] for f in deep] == [f["box"] for f in flat] and len(flat) == 1  # the same pixels, so the same face
    assert deep[0]["age"] == flat[0]["age"]
    assert answers["sideways.jpg"].json()["image"] == {"width": 300, "height": 512}  # upright, as shown
    one_line_error(declared_huge, 413, "pixels")
    assert process.poll() is None


def assert_no_server_error(url: str, cases: list[tuple[str, bytes]]) -> None:
    """Post every case; assert none answers 5xx, each refusal is one line of JSON, and the server still answers."""
    with httpx.Client(base_url=url, timeout=120) as client:
        for name, data in cases:
            answer = client.post("/predict", files={"file": (name, data, "image/jpeg")})
            assert answer.status_code in {200, 400, 413, 415}, (name, answer.status_code, answer.text)
            if answer.status_code != 200:
                assert "\n" not in answer.text and list(answer.json()) == ["error"], (name, answer.text)
        assert client.get("/health").json()["status"] == "ok"
        assert len(client.post("/predict", files={"file": ("a.jpg", jpeg(astronaut()), "image/jpeg")}).json()["faces"]) == 1


def test_fuzzed_uploads_never_get_a_server_error(server) -> None:
    url, process, scratch = server
    assert_no_server_error(url, fuzz_cases(36, seed=0))
    assert process.poll() is None
    assert "Traceback" not in (scratch.parent / "server.log").read_text()


@pytest.mark.slow
def test_many_fuzzed_uploads_never_get_a_server_error(server) -> None:
    url, process, scratch = server
    assert_no_server_error(url, fuzz_cases(600, seed=1))
    assert process.poll() is None and "Traceback" not in (scratch.parent / "server.log").read_text()


def test_serve_bad_port_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = call("serve", f"run={tmp_path}", "port=99999")
    assert (code, capsys.readouterr().err) == (2, "error: port=99999 is not a TCP port (0-65535)\n")

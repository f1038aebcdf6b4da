"""Every upload gets an answer: the one decode path (odd images predicted, broken ones refused), overload, faults.

Decoding is checked on its own (every Pillow mode, 16-bit, alpha, EXIF, headers that declare too many
pixels, hypothesis-mutated real files); the API's 503 under load and its 500 for a real fault run over a
real socket with a stand-in predictor. The real server and `visage.predict` get the same fuzzed files in
test_serve.py and test_inference.py (`fuzz_cases` is shared).
"""

from __future__ import annotations

import functools
import io
import logging
import struct
import threading
import tracemalloc
import zlib
from typing import Any

import httpx
import numpy as np
import pytest
import skimage.data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib import cbook
from PIL import Image

from visage.inference.api import create_app, running_in_thread
from visage.inference.images import ImageError, decode_image

REFUSED = {400, 413, 415}  # what an undecodable upload may answer


def encode(image: Image.Image | np.ndarray, fmt: str, **options: Any) -> bytes:
    """Return `image` saved as `fmt` in memory."""
    image = Image.fromarray(image) if isinstance(image, np.ndarray) else image
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def grace_hopper_jpeg() -> bytes:
    """Return the bytes of matplotlib's grace_hopper.jpg, a real camera JPEG."""
    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        return handle.read()


@functools.cache
def real_files() -> dict[str, bytes]:
    """Return real photos as JPEG, PNG and WebP files (the astronaut; Grace Hopper as shipped)."""
    astronaut = skimage.data.astronaut()
    return {"astronaut.jpg": encode(astronaut, "JPEG"), "astronaut.png": encode(astronaut, "PNG"),
            "astronaut.webp": encode(astronaut, "WEBP"), "grace_hopper.jpg": grace_hopper_jpeg()}


def png_header(width: int, height: int) -> bytes:
    """Return a valid PNG whose header declares `width` x `height` RGB pixels but holds almost no data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(100))) + chunk(b"IEND", b"")


def fuzz_cases(n: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """Return `n` seeded mutations of the real files: truncations anywhere, byte flips, random bodies, in turn."""
    rng = np.random.default_rng(seed)
    files = list(real_files().items())
    cases = []
    for k in range(n):
        name, data = files[k % len(files)]
        kind = ("cut", "flip", "random")[(k // len(files)) % 3]
        if kind == "cut":
            cut = int(rng.integers(1, len(data)))
            cases.append((f"{name}-cut{cut}", data[:cut]))
        elif kind == "flip":
            body = bytearray(data)
            for position in rng.integers(0, len(body), int(rng.integers(1, 9))):
                body[position] ^= 1 << int(rng.integers(0, 8))
            cases.append((f"{name}-flip{k}", bytes(body)))
        else:
            cases.append((f"random{k}", rng.bytes(int(rng.integers(0, 4096)))))
    return cases


@functools.cache
def odd_images() -> dict[str, bytes]:
    """Return valid images in every shape Pillow reads: bit depths, modes, alpha, EXIF rotation, tiny, WebP."""
    astronaut = skimage.data.astronaut()
    rgb = Image.fromarray(astronaut)
    gray = np.asarray(rgb.convert("L"))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to show
    return {
        "gray8.png": encode(gray, "PNG"), "gray16.png": encode(Image.fromarray(gray.astype(np.uint16) * 257), "PNG"),
        "gray16.tif": encode(Image.fromarray(gray.astype(np.uint16) * 257), "TIFF"),
        "float.tif": encode(Image.fromarray(gray.astype(np.float32) / 255), "TIFF"),
        "palette.png": encode(rgb.convert("P"), "PNG"), "palette.gif": encode(rgb, "GIF"),
        "bitmap.png": encode(rgb.convert("1"), "PNG"), "rgba.png": encode(rgb.convert("RGBA"), "PNG"),
        "gray_alpha.png": encode(rgb.convert("LA"), "PNG"), "cmyk.jpg": encode(rgb.convert("CMYK"), "JPEG"),
        "cmyk.tif": encode(rgb.convert("CMYK"), "TIFF"), "lossy.webp": encode(rgb, "WEBP"),
        "lossless.webp": encode(rgb, "WEBP", lossless=True), "photo.bmp": encode(rgb, "BMP"),
        "sideways.jpg": encode(rgb.crop((0, 0, 512, 300)), "JPEG", exif=exif.tobytes()),
        "one_pixel.png": encode(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"),
        "thin.png": encode(np.zeros((1, 3000, 3), np.uint8), "PNG"),
    }


@pytest.mark.parametrize("name", sorted(odd_images()))
def test_every_readable_image_becomes_upright_8_bit_rgb(name: str) -> None:
    data = odd_images()[name]
    image = decode_image(data)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    expected = {"sideways.jpg": (512, 300), "one_pixel.png": (1, 1), "thin.png": (1, 3000)}.get(name, (512, 512))
    assert image.shape[:2] == expected  # sideways: 300 high x 512 wide as stored, 512 x 300 as shown
    if name.startswith(("gray", "float")):
        reference = np.asarray(Image.fromarray(skimage.data.astronaut()).convert("L"), dtype=int)
        assert np.abs(image[..., 0].astype(int) - reference).max() == 0  # scaled back exactly, never clipped
    if name in {"rgba.png", "palette.png", "lossless.webp", "photo.bmp", "cmyk.tif"}:
        rgb = Image.fromarray(skimage.data.astronaut())
        reference = np.asarray(rgb.convert("P").convert("RGB") if name == "palette.png" else rgb)
        assert np.array_equal(image, reference)  # lossless files come back pixel for pixel


def test_16_bit_image_matches_its_8_bit_version_within_one_grey_level() -> None:
    rng = np.random.default_rng(0)
    gray = np.asarray(Image.fromarray(skimage.data.astronaut()).convert("L"))
    # every 16-bit value that rounds to the 8-bit one (v * 257 +- 128), not only the exact multiples
    deep = np.clip(gray.astype(np.int64) * 257 + rng.integers(-128, 129, gray.shape), 0, 65535).astype(np.uint16)
    decoded = decode_image(encode(Image.fromarray(deep), "PNG"))
    assert np.abs(decoded[..., 0].astype(int) - gray.astype(int)).max() <= 1
    assert (decoded[..., 0] == decoded[..., 2]).all()


def test_exif_rotation_and_transparency_are_applied() -> None:
    photo = skimage.data.astronaut()[:300, :200]
    exif = Image.Exif()
    exif[0x0112] = 6
    assert np.array_equal(decode_image(encode(photo, "PNG", exif=exif.tobytes())), np.rot90(photo, k=-1))
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, 2:, 3] = 255  # left half transparent, right half opaque red
    decoded = decode_image(encode(rgba, "PNG"))
    assert decoded[:, :2].tolist() == [[[255, 255, 255]] * 2] * 4 and decoded[:, 2:].tolist() == [[[255, 0, 0]] * 2] * 4


@pytest.mark.parametrize("body, status", [
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle r="9"/></svg>', 415),
    (b"<!DOCTYPE html><html><body><img src=x></body></html>", 415),
    (b"just some text\n", 415), (b"", 400), (b"\x89PNG\r\n\x1a\n", 400),
])
def test_what_is_no_image_is_refused_in_one_line(body: bytes, status: int) -> None:
    with pytest.raises(ImageError) as refused:
        decode_image(body)
    assert refused.value.status == status and "\n" not in str(refused.value)


def test_a_bad_checksum_and_a_cut_header_are_400() -> None:
    png = real_files()["astronaut.png"]
    broken = bytearray(png)
    broken[29] ^= 0xFF  # inside IHDR's CRC
    jpeg = real_files()["grace_hopper.jpg"]
    for data in (bytes(broken), jpeg[:300], png[:1000]):
        with pytest.raises(ImageError) as refused:
            decode_image(data)
        assert refused.value.status == 400, str(refused.value)


@pytest.mark.parametrize("width, height, max_pixels", [(7000, 7000, None), (50000, 50000, None),
                                                       (20000, 20000, 10**12)])
def test_declared_size_beyond_the_limit_is_413_before_pixels_are_allocated(width, height, max_pixels) -> None:
    data = png_header(width, height)
    decode_image(png_header(8, 8))  # imports and caches warmed up, so the peak below is this decode's own
    tracemalloc.start()
    try:
        with pytest.raises(ImageError) as refused:
            decode_image(data, max_pixels=max_pixels)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.status == 413
    assert peak < 20_000_000  # the smallest of them would take 147 MB as RGB


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(name=st.sampled_from(sorted(real_files())), cut=st.floats(0.0, 1.0),
       flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 7)), max_size=8))
def test_mutated_real_files_decode_or_are_refused(name: str, cut: float, flips: list[tuple[float, int]]) -> None:
    data = bytearray(real_files()[name])
    for where, bit in flips:
        data[int(where * len(data))] ^= 1 << bit
    data = bytes(data[: max(1, int(cut * len(data)))]) if cut < 1.0 else bytes(data)
    try:
        image = decode_image(data)
    except ImageError as refused:
        assert refused.status in REFUSED and "\n" not in str(refused)
    else:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.binary(max_size=2048))
def test_random_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(ImageError) as refused:
        decode_image(data)
    assert refused.value.status in REFUSED


class StandIn:
    """A predictor stand-in: answers no faces, or waits on `gate`, or fails like a broken server would."""

    about = {"run": "stand-in"}

    def __init__(self, fail: bool = False) -> None:
        self.fail, self.gate, self.entered = fail, threading.Event(), threading.Event()
        self.gate.set()

    def predict_image(self, image: np.ndarray) -> dict[str, Any]:
        self.entered.set()
        self.gate.wait(30)
        if self.fail:
            raise RuntimeError("model exploded")
        return {"faces": [], "image": {"width": int(image.shape[1]), "height": int(image.shape[0])}}


def upload(client: httpx.Client, data: bytes) -> httpx.Response:
    return client.post("/predict", files={"file": ("photo.png", data, "image/png")})


def test_uploads_beyond_max_in_flight_get_503_with_retry_after() -> None:
    stand_in = StandIn()
    photo = odd_images()["one_pixel.png"]
    with running_in_thread(create_app(stand_in, max_in_flight=1)) as url, httpx.Client(base_url=url, timeout=30) as client:
        stand_in.gate.clear()
        first: dict[str, httpx.Response] = {}
        worker = threading.Thread(target=lambda: first.update(answer=upload(client, photo)))
        worker.start()
        assert stand_in.entered.wait(10)  # the first upload is being predicted
        with httpx.Client(base_url=url, timeout=30) as other:
            busy = upload(other, photo)
            assert client.get("/health").json()["load"] == {"in_flight": 1, "refused": 1}
        stand_in.gate.set()
        worker.join(30)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert list(busy.json()) == ["error"] and "busy" in busy.json()["error"]
        assert first["answer"].status_code == 200 and first["answer"].json()["faces"] == []
        assert upload(client, photo).status_code == 200  # room again once the first is answered


def test_a_server_fault_is_500_with_a_request_id_and_its_traceback_only_in_the_log(caplog) -> None:
    app = create_app(StandIn(fail=True))
    with caplog.at_level(logging.ERROR, logger="visage.serve"), running_in_thread(app) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            fault = upload(client, odd_images()["one_pixel.png"])
            refused = upload(client, b"not an image")
    body = fault.json()
    assert fault.status_code == 500 and set(body) == {"error", "request_id"} and len(body["request_id"]) == 12
    assert body["request_id"] in body["error"] and "exploded" not in fault.text and "Traceback" not in fault.text
    record, = [r for r in caplog.records if r.name == "visage.serve"]
    assert body["request_id"] in record.getMessage() and "model exploded" in caplog.text  # traceback in the log
    assert refused.status_code == 415  # and the next upload is answered as usual

"""The JSON API: `POST /predict` (image as multipart field `file`) and `GET /health`.

Uploads only (never a server path or a URL to fetch), held in memory and never written or logged.
Every answer that is not a prediction is a one-line JSON body `{"error": "..."}`: an upload that is
not a usable image gets a 4xx (`images.decode_image` says which), more uploads at once than
`limits.max_in_flight` get 503 with `Retry-After`, and only a fault of the server itself gets 500,
with a request id in the body and its traceback in the server log (never the upload). The server keeps
answering after each of them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from visage.inference.images import ImageError, decode_image
from visage.inference.predictor import Predictor
from visage.inference.settings import default
from visage.inference.upload import DRAIN_FACTOR, FORM_OVERHEAD, UploadError, read_file_field

LOG = logging.getLogger("visage.serve")
RETRY_AFTER_S = 1  # what a refused client is told to wait before trying again
UPLOAD_SCHEMA = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "a photo (JPEG, PNG, ...)"}}}}}}}


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split()), **extra}, status_code=status)


def server_fault(error: BaseException) -> JSONResponse:
    """Log `error` with its traceback under a new request id; return the 500 answer that names the id."""
    request_id = uuid.uuid4().hex[:12]
    LOG.error("request %s failed: %s", request_id, type(error).__name__,
              exc_info=(type(error), error, error.__traceback__))  # the traceback, never the upload
    return _error(500, f"internal error while predicting (request id {request_id}; see the server log)",
                  request_id=request_id)


async def _drain(request: Request, limit: int) -> None:
    """Read and drop up to `limit` bytes of the body, so a refused client reads the answer, not a reset."""
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            break


def create_app(predictor: Predictor, *, max_bytes: int | None = None, max_pixels: int | None = None,
               max_in_flight: int | None = None) -> FastAPI:
    """Return the FastAPI app answering with `predictor`'s prediction JSON.

    Args:
        predictor: the model, detector and settings that answer.
        max_bytes: largest upload (None: `limits.max_bytes` of conf/inference/uploads.yaml).
        max_pixels: largest image, width x height (None: `limits.max_pixels`).
        max_in_flight: most uploads read or predicted at once; more get 503 (None: `limits.max_in_flight`).
    """
    max_bytes = int(max_bytes if max_bytes is not None else default("limits.max_bytes"))
    max_pixels = int(max_pixels if max_pixels is not None else default("limits.max_pixels"))
    max_in_flight = max(1, int(max_in_flight if max_in_flight is not None else default("limits.max_in_flight")))
    app = FastAPI(title="visage", summary="Face attribute predictions (research use; see the run's fairness report)")
    model_lock = threading.Lock()  # one model call at a time: it already uses every core
    load = {"in_flight": 0, "refused": 0}  # changed only on the event loop's thread

    def predict_bytes(data: bytes) -> dict[str, Any]:
        image = decode_image(data, max_pixels=max_pixels)
        with model_lock:
            return predictor.predict_image(image)

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Return liveness, which model answers, the limits and the uploads in flight."""
        return {"status": "ok", "model": predictor.about,
                "limits": {"max_bytes": max_bytes, "max_pixels": max_pixels, "max_in_flight": max_in_flight},
                "load": dict(load)}

    @app.post("/predict", openapi_extra=UPLOAD_SCHEMA, response_model=None)
    async def predict(request: Request) -> dict[str, Any] | JSONResponse:
        """Return the prediction JSON for the image in multipart field `file`."""
        if load["in_flight"] >= max_in_flight:
            load["refused"] += 1
            await _drain(request, DRAIN_FACTOR * (max_bytes + FORM_OVERHEAD))
            response = _error(503, f"busy: {max_in_flight} uploads in flight; retry in {RETRY_AFTER_S} s")
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
            return response
        load["in_flight"] += 1
        try:
            data = await read_file_field(request.headers.get("content-type"), request.headers.get("content-length"),
                                         request.stream(), max_bytes=max_bytes)
            try:
                return await run_in_threadpool(predict_bytes, data)
            except ImageError:
                raise
            except Exception as error:  # not the upload's fault: the server's
                return server_fault(error)
        finally:
            load["in_flight"] -= 1

    @app.exception_handler(UploadError)
    @app.exception_handler(ImageError)
    async def bad_upload(request: Request, error: UploadError | ImageError) -> JSONResponse:
        return _error(error.status, str(error))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return _error(error.status_code, str(error.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid request")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        return server_fault(error)

    return app


@contextmanager
def running_in_thread(app: FastAPI, host: str = "127.0.0.1", port: int = 0, timeout_s: float = 30.0) -> Iterator[str]:
    """Serve `app` with uvicorn on a background thread of this process (tests, benchmarks); yield its base URL.

    `port=0` takes a free port. The server stops when the block ends.
    """
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", server_header=False))
    thread = threading.Thread(target=server.run, name="visage-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)

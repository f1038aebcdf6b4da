"""The JSON API: `POST /predict` (image as multipart field `file`) and `GET /health`.

Uploads only (never a server path or a URL to fetch), held in memory and never written or logged.
Every error is a 4xx/5xx with a one-line JSON body `{"error": "..."}`; the server keeps answering.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from visage.inference.images import DEFAULT_MAX_PIXELS, ImageError, decode_image
from visage.inference.predictor import Predictor
from visage.inference.upload import UploadError, read_file_field

DEFAULT_MAX_BYTES = 10_000_000
LOG = logging.getLogger("visage.serve")
UPLOAD_SCHEMA = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "a photo (JPEG, PNG, ...)"}}}}}}}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status)


def create_app(predictor: Predictor, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS
               ) -> FastAPI:
    """Return the FastAPI app answering with `predictor`'s prediction JSON."""
    app = FastAPI(title="visage", summary="Face attribute predictions (research use; see the run's fairness report)")
    model_lock = threading.Lock()  # one model call at a time: it already uses every core

    def predict_bytes(data: bytes) -> dict[str, Any]:
        image = decode_image(data, max_pixels=max_pixels)
        with model_lock:
            return predictor.predict_image(image)

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Return liveness and which model answers."""
        return {"status": "ok", "model": predictor.about, "limits": {"max_bytes": max_bytes, "max_pixels": max_pixels}}

    @app.post("/predict", openapi_extra=UPLOAD_SCHEMA)
    async def predict(request: Request) -> dict[str, Any]:
        """Return the prediction JSON for the image in multipart field `file`."""
        data = await read_file_field(request.headers.get("content-type"), request.headers.get("content-length"),
                                     request.stream(), max_bytes=max_bytes)
        return await run_in_threadpool(predict_bytes, data)

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
        LOG.error("prediction failed: %s", type(error).__name__)  # the type only: never the upload
        return _error(500, "internal error while predicting")

    return app

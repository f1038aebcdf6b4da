"""Read one multipart file field from a request body, in memory only, stopping at a byte limit.

Starlette's own form parser spools files over 1 MB to a temporary file on disk; uploads of faces must
never touch the disk, so the body is parsed here with python-multipart's streaming parser instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from python_multipart.multipart import MultipartParser, parse_options_header

FORM_OVERHEAD = 64 * 1024  # room for boundaries, part headers and small extra fields
DRAIN_FACTOR = 8           # read (and drop) at most this many times the limit so the client sees the answer


class UploadError(ValueError):
    """A request that does not carry one acceptable upload; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class _FilePart:
    """Callbacks that keep the bytes of the part named `field` and drop every other part."""

    def __init__(self, field: str, max_bytes: int) -> None:
        self.field, self.max_bytes = field, max_bytes
        self.data: bytearray | None = None
        self._header_name, self._header_value = bytearray(), bytearray()
        self._current = False

    def callbacks(self) -> dict:
        return {"on_part_begin": self._begin, "on_header_field": self._name, "on_header_value": self._value,
                "on_header_end": self._header_end, "on_part_data": self._data}

    def _begin(self) -> None:
        self._current = False

    def _name(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if bytes(self._header_name).lower() == b"content-disposition":
            _, options = parse_options_header(bytes(self._header_value))
            if options.get(b"name", b"").decode("latin-1") == self.field and self.data is None:
                self._current, self.data = True, bytearray()
        self._header_name.clear()
        self._header_value.clear()

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._current and self.data is not None:
            self.data += data[start:end]
            if len(self.data) > self.max_bytes:
                raise UploadError(f"upload is larger than the limit of {self.max_bytes} bytes", status=413)


async def read_file_field(content_type: str | None, content_length: str | None, body: AsyncIterator[bytes], *,
                          field: str = "file", max_bytes: int) -> bytes:
    """Return the bytes of multipart field `field`, held in memory.

    Raises:
        UploadError: not multipart/form-data or no `field` part (400), larger than `max_bytes` (413).
    """
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or b"boundary" not in options:
        raise UploadError(f"send the image as multipart/form-data with the field '{field}'", status=400)
    limit = max_bytes + FORM_OVERHEAD
    declared = int(content_length) if content_length and content_length.isdigit() else None
    too_large = UploadError(f"upload is larger than the limit of {max_bytes} bytes", status=413)
    part = _FilePart(field, max_bytes)
    parser = MultipartParser(options[b"boundary"], part.callbacks())
    received, error = 0, too_large if declared is not None and declared > limit else None
    async for chunk in body:
        received += len(chunk)
        if error is None and received > limit:
            error = too_large
        if error is not None:
            if received > DRAIN_FACTOR * limit:
                break  # stop reading; the server closes this connection after answering
            continue  # drop the rest so the client reads the answer rather than a reset connection
        try:
            parser.write(chunk)
        except UploadError as failure:
            error = failure
        except Exception:
            error = UploadError("malformed multipart body", status=400)
    if error is not None:
        raise error
    try:
        parser.finalize()
    except Exception:
        raise UploadError("malformed multipart body", status=400) from None
    if part.data is None:
        raise UploadError(f"no multipart field '{field}' in the request (send the image as '{field}')", status=400)
    return bytes(part.data)

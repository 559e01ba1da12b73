"""A request body limit that holds for chunked bodies too (no Content-Length to trust).

Uploads (`POST /api/media/upload`, and multipart POSTs to `/graphql`) get a limit of their
own: the media size limit and room for the multipart framing around the file."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PayloadTooLarge
from app.middleware import header, send_error


class _BodyTooLarge(Exception):
    pass


# What a multipart upload may carry beside its file: boundaries, part headers, the GraphQL
# `operations` and `map` fields, the alt text.
UPLOAD_OVERHEAD_BYTES = 64 * 1024
UPLOAD_PATHS = frozenset({"/api/media/upload"})


def is_upload(scope: Scope) -> bool:
    if scope.get("method") != "POST":
        return False
    if scope["path"] in UPLOAD_PATHS:
        return True
    content_type = (header(scope, b"content-type") or "").lower()
    return scope["path"] == "/graphql" and content_type.startswith("multipart/form-data")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int, upload_max_bytes: int = 0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = max(upload_max_bytes + UPLOAD_OVERHEAD_BYTES, max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_max_bytes if is_upload(scope) else self.max_bytes
        error = PayloadTooLarge(f"Request body exceeds {limit} bytes.")
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_error(scope, receive, send, error)
            return

        received = 0
        too_large = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if too_large:
                # Whatever the app made of a body it never fully got (GraphQL turns the read
                # error into its own 400) is replaced by the 413 below.
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if response_started:
                raise
        if too_large and not response_started:
            await send_error(scope, receive, send, error)

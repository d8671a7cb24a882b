"""The page takes no files: every upload is answered 413 before Gradio reads it.

Gradio's ``max_file_size`` is checked only while file data arrives, so an empty file passed it
(200, written to the cache, its path returned). This middleware answers every upload route
(``/gradio_api/upload``, ``/gradio_api/process_recording``) and every multipart body, whatever
its size, with 413 and a message, before any of it is read.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

UPLOAD_ROUTES = ("/upload", "/process_recording")
MESSAGE = "This page takes no uploads: type the text into the page, or send it as a value through its API."


class RefuseUploads:
    """ASGI middleware: 413 for every upload (see the module's docstring)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_upload(scope):
            await PlainTextResponse(MESSAGE, status_code=413)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def is_upload(scope: Scope) -> bool:
    """A request that carries files: to an upload route, or with a multipart body."""
    if scope.get("method") not in ("POST", "PUT", "PATCH"):
        return False
    path = scope.get("path", "").rstrip("/")
    if path.endswith(UPLOAD_ROUTES):
        return True
    content_type = dict(scope.get("headers", [])).get(b"content-type", b"")
    return content_type.lower().startswith(b"multipart/")

"""Media bytes by content id, with range requests (audio seeks), and cached image thumbnails.

Only a 64-hex content id is looked up, in the store's media: a path from the request (``../x``,
``/etc/passwd``) never reaches the file system.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse
from starlette.routing import Route

from mmdata.browse.thumbs import thumbnail
from mmdata.errors import MediaError, NotFoundError
from mmdata.store.media import is_media_id

# Explicit: the system's mime.types differs between machines, and browsers pick a decoder by it.
CONTENT_TYPES = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".webm": "audio/webm",
    ".mka": "audio/x-matroska",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}
# A content id names its bytes forever: the browser may keep them as long as it likes.
_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"}


def _not_found() -> HTTPException:
    return HTTPException(404, "no such media")


def media(request):
    media_id = request.path_params["id"]
    if not is_media_id(media_id):
        raise _not_found()
    path = request.app.state.store.media.find(media_id)
    if path is None:
        raise _not_found()
    # FileResponse answers Range requests itself (206 + Content-Range) and says Accept-Ranges: bytes.
    return FileResponse(path, media_type=CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream"), headers=_HEADERS)


def thumb(request):
    try:
        path = thumbnail(request.app.state.store, request.path_params["id"])
    except NotFoundError:
        raise _not_found() from None
    except MediaError as exc:  # stored, but not an image Pillow can read
        raise HTTPException(404, str(exc)) from None
    return FileResponse(path, media_type="image/jpeg", headers=_HEADERS)


# Plain functions: Starlette runs them in its thread pool (a thumbnail renders, a team store downloads).
ROUTES = [
    Route("/media/{id}", media, name="media"),
    Route("/thumb/{id}", thumb, name="thumb"),
]

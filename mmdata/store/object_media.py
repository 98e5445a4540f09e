"""Content-addressed media on an object store: ``s3://bucket/prefix/ab/<sha256>.<ext>``.

The same layout and interface as the local ``MediaFolder``, so every caller works unchanged:
``add``/``add_bytes`` probe locally and upload only what the bucket lacks; ``find``/``path``
hand back a local file, downloaded once into a cache folder and served from there after that.
An object is never rewritten (its key is the hash of its bytes), so a cached copy never goes
stale and two writers racing to store the same file store the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mmdata.errors import MediaMissing, MmdataError, StoreUnavailable
from mmdata.store import bucket
from mmdata.store.media import MediaFolder, MediaInfo, is_media_id, probe

# Up to this size a file goes up in one conditional PUT (If-None-Match: *), which the server
# refuses when the key exists; larger files take boto3's managed multipart transfer (parallel
# parts, retried one by one), which cannot carry the condition: the HEAD before it is the
# only check, and a lost race rewrites the same bytes.
SINGLE_PUT_MAX = 64 << 20

_EXT = re.compile(r"\.[A-Za-z0-9]{1,16}")
# 412: the key exists (another writer won). 409: a conditional write to the key is in flight.
_EXISTS, _IN_FLIGHT = ("PreconditionFailed", "412"), ("ConditionalRequestConflict", "409")


def open_media(location: str | Path, cache: Path) -> MediaFolder | ObjectMedia:
    """The media store at ``location``: a folder path, or an object-store URL whose files are
    read through the local ``cache`` folder. ``location`` is the folder that holds ``ab/<id>.<ext>``
    (``<store>/media`` or ``s3://bucket/prefix/media/``)."""
    if bucket.is_url(str(location)):
        return ObjectMedia(str(location), cache)
    return MediaFolder(Path(location))


class ObjectMedia:
    """Adds files to and resolves ids in an object-store media prefix (``MediaFolder``'s interface)."""

    def __init__(self, url: str, cache: Path):
        self.bucket, self.prefix = bucket.split_url(url)
        self.cache = Path(cache)

    @property
    def location(self) -> str:
        """Where the media lives, for messages."""
        return f"s3://{self.bucket}/{self.prefix}"

    def _key(self, media_id: str, ext: str) -> str:
        return f"{self.prefix}{media_id[:2]}/{media_id}{ext}"

    def _cached(self, media_id: str) -> Path | None:
        folder = self.cache / media_id[:2]
        matches = sorted(folder.glob(f"{media_id}.*")) if folder.is_dir() else []
        return matches[0] if matches else None

    # -- the MediaFolder interface ------------------------------------------------------------

    def add(self, source: Path) -> MediaInfo:
        """Probe ``source`` and upload it unless the bucket holds it already."""
        info = probe(source)
        self.put(Path(source), info.id, info.ext)
        return info

    def add_bytes(self, data: bytes, ext: str) -> MediaInfo:
        """Store raw bytes under their content id; the probed file stays in the cache."""
        media_id = hashlib.sha256(data).hexdigest()
        ext = ext.lower()
        target = self.cache / media_id[:2] / f"{media_id}{ext}"
        if target.exists():
            info = probe(target, media_id)
            self.put(target, media_id, ext)
            return info
        target.parent.mkdir(parents=True, exist_ok=True)
        # The temp file keeps the extension: decoders pick a demuxer by suffix.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-", suffix=ext)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            info = probe(Path(tmp), media_id)
            self.put(Path(tmp), media_id, ext)
        except BaseException:
            os.unlink(tmp)
            raise
        os.replace(tmp, target)  # only after the upload: a cached file is always one the bucket holds
        return info

    def find(self, media_id: str) -> Path | None:
        """A local copy of ``media_id`` (downloaded into the cache the first time), or None."""
        if not is_media_id(media_id):
            return None
        cached = self._cached(media_id)
        if cached is not None:
            return cached
        ext = self._remote_ext(media_id)
        if ext is None:
            return None
        return self._download(media_id, ext)

    def path(self, media_id: str) -> Path:
        """Like ``find``, but MediaMissing when the id is not stored."""
        found = self.find(media_id)
        if found is None:
            raise MediaMissing(f"media {media_id} is not in {self.location}")
        return found

    # -- what copying between media stores needs ----------------------------------------------

    def has(self, media_id: str) -> bool:
        """Whether the bucket holds ``media_id`` (asks the bucket: the cache may outlive it)."""
        return is_media_id(media_id) and self._remote_ext(media_id) is not None

    def entries(self) -> Iterator[tuple[str, str]]:
        """Every stored ``(media_id, ext)``, one listing request per thousand."""
        s3 = bucket.client()
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                for obj in page.get("Contents", []):
                    parsed = self._parse(obj["Key"])
                    if parsed:
                        yield parsed
        except Exception as exc:
            raise _failure(exc, "listing", self.location) from exc

    def put(self, path: Path, media_id: str, ext: str) -> bool:
        """Upload ``path``, already known to hold ``media_id``, unless the bucket has it; whether it uploaded."""
        import time

        key = self._key(media_id, ext.lower())
        s3 = bucket.client()
        conditional = {"IfNoneMatch": "*"}
        for attempt in range(5):
            if self._exists(key):
                return False
            try:
                if Path(path).stat().st_size > SINGLE_PUT_MAX:
                    s3.upload_file(str(path), self.bucket, key)
                else:
                    with open(path, "rb") as fh:
                        s3.put_object(Bucket=self.bucket, Key=key, Body=fh, **conditional)
                return True
            except Exception as exc:
                code = _code(exc)
                if code in _EXISTS:
                    return False
                if code in _IN_FLIGHT and attempt < 4:
                    time.sleep(0.2 * (attempt + 1))  # the other upload finishes or fails; then look again
                elif code == "NotImplemented" and conditional:
                    conditional = {}  # a server without conditional writes: the HEAD is the only check
                else:
                    raise _failure(exc, "upload", f"s3://{self.bucket}/{key}") from exc
        raise MmdataError(f"s3://{self.bucket}/{key}: upload kept conflicting with another writer; run it again")

    # -- requests -----------------------------------------------------------------------------

    def _parse(self, key: str) -> tuple[str, str] | None:
        name = key[len(self.prefix) :]
        folder, _, file = name.partition("/")
        media_id, dot, ext = file.partition(".")
        if folder != media_id[:2] or not is_media_id(media_id) or not _EXT.fullmatch(dot + ext):
            return None  # not ours (or a key that would escape the cache folder)
        return media_id, dot + ext

    def _exists(self, key: str) -> bool:
        try:
            bucket.client().head_object(Bucket=self.bucket, Key=key)
            return True
        except Exception as exc:
            # HEAD answers a missing bucket with the same bodiless 404: the upload then says which.
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise _failure(exc, "lookup", f"s3://{self.bucket}/{key}") from exc

    def _remote_ext(self, media_id: str) -> str | None:
        prefix = f"{self.prefix}{media_id[:2]}/{media_id}."
        try:
            found = bucket.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=10)
        except Exception as exc:
            raise _failure(exc, "lookup", f"s3://{self.bucket}/{prefix}*") from exc
        for obj in found.get("Contents", []):
            parsed = self._parse(obj["Key"])
            if parsed:
                return parsed[1]
        return None

    def _download(self, media_id: str, ext: str) -> Path:
        key = self._key(media_id, ext)
        target = self.cache / media_id[:2] / f"{media_id}{ext}"
        target.parent.mkdir(parents=True, exist_ok=True)
        # A temp name and a rename: a crash or a second reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-", suffix=ext)
        os.close(fd)
        try:
            bucket.client().download_file(self.bucket, key, tmp)
        except Exception as exc:
            os.unlink(tmp)
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise MediaMissing(f"media {media_id} is not in {self.location}") from exc
            raise _failure(exc, "download", f"s3://{self.bucket}/{key}") from exc
        os.replace(tmp, target)
        return target


def _code(exc: Exception) -> str | None:
    """The S3 error code of a botocore ClientError (also when wrapped by boto3's transfer), else None."""
    for error in (exc, exc.__cause__, exc.__context__):
        response = getattr(error, "response", None)
        if isinstance(response, dict):
            return str(response.get("Error", {}).get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
    return None


_HINTS = {
    "NoSuchBucket": "the bucket does not exist",
    "AccessDenied": "access denied: the credentials lack permission",
    "403": "access denied: the credentials lack permission",
    "InvalidAccessKeyId": "the access key is not known to the server",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "ExpiredToken": "the session token has expired: log in again (aws sso login)",
}


def _failure(exc: Exception, doing: str, where: str) -> MmdataError:
    """One line naming the bucket and key and what went wrong; built from the error code and the
    server's message, never from the request (which carries the signature and the key id)."""
    if isinstance(exc, MmdataError):
        return exc
    code = _code(exc)
    name = type(exc).__name__
    if code is not None:
        response = getattr(exc, "response", None) or getattr(exc.__cause__, "response", {}) or {}
        message = str(response.get("Error", {}).get("Message") or "").splitlines()[0:1]
        detail = _HINTS.get(code) or (message[0][:200] if message else "")
        reason = f"{detail} ({code})" if detail else code
    elif name == "NoCredentialsError":
        reason = "no credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run aws sso login"
    elif name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"):
        reason = f"the object store cannot be reached ({name})"
    else:
        lines = str(exc).splitlines()
        reason = f"{lines[0][:200]} ({name})" if lines else name
    return StoreUnavailable(f"{where}: {doing} failed: {reason}")

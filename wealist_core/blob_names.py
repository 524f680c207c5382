"""The names a blob URL carries: keys, content types and download filenames, checked before use by every
BlobStore adapter, so a name valid on one store is valid on all.

Keys are S3-shaped (``ws/123/avatar.png``) and end up in URL paths and signed messages, so anything that could
climb out of a directory, be read two ways or break a header is refused with ``ValueError`` (callers map it to
a 4xx answer).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

__all__ = [
    "MAX_KEY_BYTES",
    "content_disposition",
    "media_essence",
    "validate_content_type",
    "validate_filename",
    "validate_key",
]

MAX_KEY_BYTES = 1024  # S3's limit, so a key valid here is valid on every adapter
_MAX_FILENAME_CHARS = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_CONTENT_TYPE = re.compile(rf"^{_TOKEN}/{_TOKEN}(\s*;.*)?$")


def validate_key(key: str) -> str:
    """Return ``key`` when it is a safe relative object name; raise ``ValueError`` saying why otherwise."""
    if not isinstance(key, str) or not key:
        raise ValueError("A blob key must be a non-empty string.")
    if "\x00" in key:
        raise ValueError(f"Blob key {key!r} contains a NUL character.")
    if _CONTROL.search(key):
        raise ValueError(f"Blob key {key!r} contains a control character.")
    if "\\" in key:
        raise ValueError(f"Blob key {key!r} contains a backslash; separate its parts with '/'.")
    if key.startswith("/"):
        raise ValueError(f"Blob key {key!r} is absolute; keys are relative, like 'ws/123/avatar.png'.")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ValueError(f"Blob key {key[:40]!r}... is longer than {MAX_KEY_BYTES} bytes.")
    for part in key.split("/"):
        if part in ("", ".", ".."):
            raise ValueError(f"Blob key {key!r} has an empty, '.' or '..' part.")
    return key


def validate_content_type(content_type: str) -> str:
    """Return a ``type/subtype[; params]`` media type stripped of spaces; ``ValueError`` when malformed."""
    value = content_type.strip() if isinstance(content_type, str) else ""
    if not _CONTENT_TYPE.match(value) or _CONTROL.search(value):
        raise ValueError(f"Content type {content_type!r} is not a media type like 'image/png'.")
    return value


def media_essence(content_type: str) -> str:
    """``Image/PNG; x=y`` -> ``image/png``: what two content types must share to be the same type."""
    return content_type.split(";", 1)[0].strip().lower()


def validate_filename(filename: str) -> str:
    """Return a download filename that is safe to put in a header; ``ValueError`` otherwise."""
    if not isinstance(filename, str) or not filename.strip():
        raise ValueError("A download filename must be a non-empty string.")
    if _CONTROL.search(filename):
        raise ValueError(f"Download filename {filename!r} contains a control character.")
    if len(filename) > _MAX_FILENAME_CHARS:
        raise ValueError(
            f"Download filename {filename[:40]!r}... is longer than {_MAX_FILENAME_CHARS} characters."
        )
    return filename


_ATTR_CHARS = "!#$&+^`|"


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """``attachment; filename="..."`` plus RFC 6266 ``filename*`` when the name is not plain ASCII."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    fallback = "".join("_" if ch in '"\\' else ch for ch in fallback).strip() or "download"
    if fallback == filename:
        return f'{disposition}; filename="{fallback}"'
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe=_ATTR_CHARS)}"

"""What an upload may be: its media types (and their extensions), its size, its file name, its URLs' lives.

:class:`UploadPolicy` is checked before a URL is signed, so a refused upload costs the client one request and
the server no object. A refusal is a 4xx problem with a stable code:

- ``UPLOAD_TYPE_NOT_ALLOWED`` (422): the declared media type is malformed, not allowed or on the deny list
  (or the file name's extension is denied, as in ``invoice.pdf.exe``). 422 rather than 415, because the
  type is a field of the request's body, not the type of the body itself;
- ``UPLOAD_EXTENSION_MISMATCH`` (422): the file name's extension is not one of the declared type's;
- ``UPLOAD_FILE_NAME_INVALID`` (422): empty, over 255 characters, a path (``/``, ``\\``, ``..``) or with
  control or bidirectional-override characters (which make ``photo\u202egnp.exe`` read as ``photoexe.png``);
- ``UPLOAD_SIZE_INVALID`` (422): not a whole number of bytes, or below ``min_size``;
- ``UPLOAD_TOO_LARGE`` (413): above ``max_size``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from wealist_core.errors import PayloadTooLarge, ValidationProblem

__all__ = [
    "ANY_EXTENSION",
    "DOCUMENTS",
    "EXECUTABLES",
    "RASTER_IMAGES",
    "VIDEOS",
    "CheckedFile",
    "DenyList",
    "UploadPolicy",
    "media_essence",
]

MAX_FILE_NAME_CHARS = 255
#: In a policy's ``types``: this media type may come with any file name (the deny list still applies).
ANY_EXTENSION: tuple[str, ...] = ()

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"^{_TOKEN}/{_TOKEN}$")
_EXTENSION = re.compile(r"^\.[a-z0-9]{1,16}$")
# Cc (C0, DEL, C1) and the bidirectional embeddings, overrides and isolates.
_FORBIDDEN_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def media_essence(content_type: str) -> str:
    """``Image/PNG; x=y`` -> ``image/png``: what two content types must share to be the same type."""
    return content_type.split(";", 1)[0].strip().lower()


def _extensions(values: Collection[str]) -> tuple[str, ...]:
    out = []
    for value in values:
        ext = value.lower() if value.startswith(".") else f".{value.lower()}"
        if not _EXTENSION.match(ext):
            raise ValueError(f"{value!r} is not a file extension like '.png'.")
        out.append(ext)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class DenyList:
    """Media types and file extensions refused whatever a policy allows (``EXECUTABLES``)."""

    types: frozenset[str] = frozenset()
    extensions: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", frozenset(media_essence(t) for t in self.types))
        object.__setattr__(self, "extensions", frozenset(_extensions(self.extensions)))

    def __or__(self, other: DenyList) -> DenyList:
        return DenyList(self.types | other.types, self.extensions | other.extensions)


#: Raster images every browser displays. No SVG: it is a document that can carry scripts.
RASTER_IMAGES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "image/png": (".png",),
        "image/jpeg": (".jpg", ".jpeg"),
        "image/gif": (".gif",),
        "image/webp": (".webp",),
    }
)

#: Common office and text documents (and zip archives of them).
DOCUMENTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "application/pdf": (".pdf",),
        "text/plain": (".txt", ".log"),
        "text/csv": (".csv",),
        "text/markdown": (".md", ".markdown"),
        "application/json": (".json",),
        "application/rtf": (".rtf",),
        "application/msword": (".doc",),
        "application/vnd.ms-excel": (".xls",),
        "application/vnd.ms-powerpoint": (".ppt",),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
        "application/vnd.openxmlformats-officedocument.presentationml.presentation": (".pptx",),
        "application/vnd.oasis.opendocument.text": (".odt",),
        "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
        "application/vnd.oasis.opendocument.presentation": (".odp",),
        "application/zip": (".zip",),
    }
)

#: Video (and audio) that browsers play: call recordings, clips in chat.
VIDEOS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "video/mp4": (".mp4", ".m4v"),
        "video/webm": (".webm",),
        "audio/mpeg": (".mp3",),
        "audio/ogg": (".ogg", ".oga"),
        "audio/webm": (".weba", ".webm"),
    }
)

#: Programs and scripts a double click would run: refused by default in every policy.
EXECUTABLES = DenyList(
    types=frozenset(
        {
            "application/x-msdownload",
            "application/x-msdos-program",
            "application/x-ms-installer",
            "application/x-msi",
            "application/vnd.microsoft.portable-executable",
            "application/x-dosexec",
            "application/x-executable",
            "application/x-elf",
            "application/x-mach-binary",
            "application/x-sh",
            "application/x-csh",
            "application/x-bat",
            "application/x-msbatch",
            "application/java-archive",
            "application/x-java-archive",
            "application/vnd.android.package-archive",
            "application/x-apple-diskimage",
            "application/hta",
            "text/x-shellscript",
        }
    ),
    extensions=frozenset(
        {
            *(".exe", ".com", ".scr", ".pif", ".cpl", ".dll", ".sys", ".msi", ".msp", ".msc"),
            *(".bat", ".cmd", ".ps1", ".psm1", ".vbs", ".vbe", ".jse", ".wsf", ".wsh", ".hta"),
            *(".lnk", ".reg", ".inf", ".scf", ".jar", ".apk", ".app", ".dmg", ".pkg", ".deb"),
            *(".rpm", ".sh", ".bash", ".csh", ".ksh", ".command", ".run", ".bin", ".elf", ".appimage"),
        }
    ),
)


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """What a policy accepted, normalised: the media type without parameters, the file name (NFC, trimmed)
    and the extension the object's key gets (``.png``; empty when there is none to trust)."""

    content_type: str
    size: int
    file_name: str | None
    extension: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadPolicy:
    """What one kind of upload may be, and how long its URLs and pending record live.

    - ``types``: media type -> the file extensions allowed with it (``ANY_EXTENSION`` for any); ``None``
      allows every well-formed type (a drive). Combine sets: ``{**RASTER_IMAGES, **DOCUMENTS}``;
    - ``max_size`` / ``min_size``: bytes;
    - ``url_ttl``: seconds the upload URL stays valid; ``pending_ttl``: seconds an upload may stay
      unattached before :meth:`Uploads.purge_expired` removes it (at least ``url_ttl``, so that an upload
      finished at the URL's last second can still be attached); ``download_ttl``: seconds a download URL
      stays valid;
    - ``denied``: refused whatever ``types`` says (``EXECUTABLES`` unless you pass ``DenyList()``).
    """

    types: Mapping[str, Collection[str]] | None
    max_size: int
    url_ttl: int = 900
    pending_ttl: int = 24 * 3600
    download_ttl: int = 3600
    min_size: int = 1
    denied: DenyList = field(default=EXECUTABLES)

    def __post_init__(self) -> None:
        if self.types is not None:
            normalised: dict[str, tuple[str, ...]] = {}
            for media_type, extensions in self.types.items():
                essence = media_essence(media_type)
                if not _MEDIA_TYPE.match(essence):
                    raise ValueError(f"{media_type!r} is not a media type like 'image/png'.")
                normalised[essence] = _extensions(extensions)
            object.__setattr__(self, "types", MappingProxyType(normalised))
        for name in ("max_size", "url_ttl", "pending_ttl", "download_ttl"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"UploadPolicy.{name} must be a whole number of at least 1, not {value!r}.")
        if not 0 <= self.min_size <= self.max_size:
            raise ValueError(f"UploadPolicy.min_size must be between 0 and max_size, not {self.min_size!r}.")
        if self.pending_ttl < self.url_ttl:
            raise ValueError(
                "UploadPolicy.pending_ttl must be at least url_ttl: a finished upload would be purged."
            )

    def check(self, *, content_type: str, size: int, file_name: str | None = None) -> CheckedFile:
        """The normalised upload, or a 4xx problem (see the module's codes) saying what is wrong with it."""
        name = check_file_name(file_name) if file_name is not None else None
        essence = self._check_type(content_type)
        extension = self._check_extension(essence, name)
        self._check_size(size)
        return CheckedFile(content_type=essence, size=size, file_name=name, extension=extension)

    # ----------------------------------------------------------------------------------------- checks

    def _check_type(self, content_type: str) -> str:
        essence = media_essence(content_type) if isinstance(content_type, str) else ""
        if not _MEDIA_TYPE.match(essence):
            raise _invalid(
                "contentType",
                f"{content_type!r} is not a media type like 'image/png'",
                "UPLOAD_TYPE_NOT_ALLOWED",
            )
        if essence in self.denied.types or (self.types is not None and essence not in self.types):
            allowed = f"; allowed: {', '.join(sorted(self.types))}" if self.types is not None else ""
            raise _invalid(
                "contentType", f"{essence} files are not accepted here{allowed}", "UPLOAD_TYPE_NOT_ALLOWED"
            )
        return essence

    def _check_extension(self, essence: str, name: str | None) -> str:
        allowed = tuple(self.types.get(essence, ANY_EXTENSION)) if self.types is not None else ANY_EXTENSION
        extension = _extension_of(name)
        if extension and extension in self.denied.extensions:
            raise _invalid("fileName", f"{extension} files are not accepted here", "UPLOAD_TYPE_NOT_ALLOWED")
        if not allowed:
            return extension if _EXTENSION.match(extension) else ""
        if name is None:
            return allowed[0]
        if extension not in allowed:
            raise _invalid(
                "fileName",
                f"a {essence} file's name ends in {' or '.join(allowed)}",
                "UPLOAD_EXTENSION_MISMATCH",
            )
        return extension

    def _check_size(self, size: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < self.min_size:
            raise _invalid(
                "size", f"must be a whole number of bytes of at least {self.min_size}", "UPLOAD_SIZE_INVALID"
            )
        if size > self.max_size:
            raise PayloadTooLarge(
                f"This upload may be at most {_human(self.max_size)}; the file has {_human(size)}.",
                code="UPLOAD_TOO_LARGE",
                extra={"maxSize": self.max_size},
            )


def check_file_name(file_name: str) -> str:
    """``file_name`` trimmed and in NFC, or a 422 ``UPLOAD_FILE_NAME_INVALID`` saying why it is refused."""
    if not isinstance(file_name, str):
        raise _invalid("fileName", "must be a string", "UPLOAD_FILE_NAME_INVALID")
    name = unicodedata.normalize("NFC", file_name).strip()
    problem = None
    if not name:
        problem = "must not be empty"
    elif len(name) > MAX_FILE_NAME_CHARS:
        problem = f"must be at most {MAX_FILE_NAME_CHARS} characters"
    elif "/" in name or "\\" in name or name in (".", ".."):
        problem = "must be a file name, not a path"
    elif _FORBIDDEN_CHARS.search(name):
        problem = "must not contain control or text-direction characters"
    if problem:
        raise _invalid("fileName", problem, "UPLOAD_FILE_NAME_INVALID")
    return name


def _extension_of(name: str | None) -> str:
    if not name or "." not in name.lstrip("."):
        return ""
    return "." + name.rsplit(".", 1)[1].lower()


def _invalid(field_name: str, message: str, code: str) -> ValidationProblem:
    where = f"body.{field_name}"
    return ValidationProblem(
        f"{where}: {message}.",
        code=code,
        errors=[{"field": where, "message": message, "type": "value_error"}],
    )


def _human(size: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"

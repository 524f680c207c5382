"""The blob directory on disk: where each key's bytes and metadata live, written atomically.

Layout: ``<root>/<h[:2]>/<h>`` holds the bytes and ``<root>/<h[:2]>/<h>.meta.json`` the key, content type,
size and ETag, where ``h`` is the SHA-256 of the key. Hashing the key (rather than using it as a path) keeps
the store S3-shaped on any file system: ``a`` and ``a/b`` can both be objects, ``A.png`` and ``a.png`` stay
apart on case-insensitive disks, and no key is too long for a file name. The metadata file names the key,
so the directory can still be read by a person.

Every method blocks; :class:`~wealist_adapters.local_files.blobstore.LocalBlobStore` runs them in threads.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from wealist_core.ports import BlobInfo

__all__ = ["BlobDirectory", "StoredBlob", "etag_of"]


def etag_of(md5_hex: str) -> str:
    """The ETag S3 gives a single-part object: the quoted MD5 of its bytes."""
    return f'"{md5_hex}"'


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """One object found on disk: its metadata, the file with its bytes, and that file's ``stat``."""

    info: BlobInfo
    path: Path
    stat: os.stat_result


class BlobDirectory:
    """Objects as files under ``root``. An object exists when its metadata file does."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def prepare(self) -> None:
        """Create the directory and prove it is writable (raises ``OSError`` otherwise)."""
        self.root.mkdir(parents=True, exist_ok=True)
        probe = self.root / f".probe-{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()

    def check(self) -> None:
        if not self.root.is_dir() or not os.access(self.root, os.W_OK):
            raise OSError(f"{self.root} is not a writable directory")

    def paths(self, key: str) -> tuple[Path, Path]:
        """The data file and the metadata file of ``key``."""
        name = hashlib.sha256(key.encode()).hexdigest()
        data = self.root / name[:2] / name
        return data, data.with_name(f"{name}.meta.json")

    def temp_path(self, key: str) -> Path:
        """A fresh file name beside ``key``'s data file (same file system, so the final rename is atomic)."""
        data, _ = self.paths(key)
        data.parent.mkdir(parents=True, exist_ok=True)
        return data.with_name(f"{data.name}.{secrets.token_hex(8)}.tmp")

    def write(self, key: str, data: bytes, content_type: str) -> BlobInfo:
        temp = self.temp_path(key)
        try:
            with open(temp, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
            info = BlobInfo(key=key, size=len(data), content_type=content_type, etag=etag_of(digest))
            self.commit(key, temp, info)
        finally:
            temp.unlink(missing_ok=True)
        return info

    def commit(self, key: str, temp: Path, info: BlobInfo) -> None:
        """Make the fully written ``temp`` the object ``key``.

        The bytes are renamed into place before the metadata, so a new object appears whole. Overwriting an
        existing key leaves a moment where the new bytes sit beside the old metadata; keys are meant to be
        written once (a new upload gets a new key), which is what makes that acceptable.
        """
        data, meta = self.paths(key)
        os.replace(temp, data)
        self._write_json(
            meta, {"key": key, "contentType": info.content_type, "size": info.size, "etag": info.etag}
        )

    def find(self, key: str) -> StoredBlob | None:
        data, meta = self.paths(key)
        try:
            record = json.loads(meta.read_text(encoding="utf-8"))
            stat = data.stat()
        except FileNotFoundError:
            return None
        info = BlobInfo(
            key=key,
            size=int(record["size"]),
            content_type=str(record["contentType"]),
            etag=record.get("etag"),
        )
        return StoredBlob(info=info, path=data, stat=stat)

    def read(self, key: str) -> bytes | None:
        data, meta = self.paths(key)
        if not meta.exists():
            return None
        try:
            return data.read_bytes()
        except FileNotFoundError:
            return None

    def remove(self, key: str) -> None:
        data, meta = self.paths(key)
        # Metadata first: from that moment on the object no longer exists for readers.
        meta.unlink(missing_ok=True)
        # The fan-out directory stays: a concurrent upload may be about to write into it.
        data.unlink(missing_ok=True)

    @staticmethod
    def _write_json(path: Path, record: dict[str, object]) -> None:
        temp = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            with open(temp, "w", encoding="utf-8") as out:
                json.dump(record, out, ensure_ascii=False)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)

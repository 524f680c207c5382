"""Uploads through the ``BlobStore``: one flow for avatars, attachments, chat files, the drive and recordings.

The client never sends file bytes through a plugin. It asks for an upload, sends the file straight to the
blob store, then names the upload in whatever it saves::

    POST /api/boards/.../attachments {fileName, contentType, size}
        -> Uploads.issue(): the policy's checks, then a pending record and a presigned PUT URL
    PUT <uploadUrl>  (the file, with the returned headers)
    POST /api/boards/.../tasks/{id}/comments {text, uploadIds: [...]}
        -> Uploads.attach(): confirmed (the object exists, its size and type are what was declared, the
           caller is its uploader), then ATTACHED to the comment, in the comment's own transaction

An upload that is never attached is purged: :meth:`Uploads.purge_expired` (called by a periodic job)
deletes the objects and rows of uploads still unattached past their ``expires_at``. Each plugin keeps its
records in its own table, ``<plugin>_upload`` (:func:`uploads_table`). Every method works in the caller's
unit of work and never commits; the object store is only read, except by confirming (which moves the
uploaded object from its staging key to the upload's key, so the presigned URL is single-use for what it
accepted) and by the purge.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import Field
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    delete,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from wealist_core._upload_policy import (
    ANY_EXTENSION,
    DOCUMENTS,
    EXECUTABLES,
    RASTER_IMAGES,
    VIDEOS,
    CheckedFile,
    DenyList,
    UploadPolicy,
    check_file_name,
    media_essence,
)
from wealist_core.db import Clock, UtcDateTime, utcnow
from wealist_core.errors import Conflict, Forbidden, NotFound, ValidationProblem
from wealist_core.http.models import ApiModel
from wealist_core.ports import BlobStore, Database, PresignedUrl, UnitOfWork

__all__ = [
    "ANY_EXTENSION",
    "ATTACHED",
    "CONFIRMED",
    "DOCUMENTS",
    "EXECUTABLES",
    "PENDING",
    "RASTER_IMAGES",
    "RELEASED",
    "STAGING_PREFIX",
    "VIDEOS",
    "CheckedFile",
    "DenyList",
    "IssuedUpload",
    "Upload",
    "UploadIn",
    "UploadOut",
    "UploadPolicy",
    "Uploads",
    "check_file_name",
    "media_essence",
    "staging_key",
    "uploads_table",
]

#: Issued: a URL was signed, nothing is known of the object yet.
PENDING: Final = "PENDING"
#: The object was found as declared; not yet part of anything (purged at ``expires_at`` unless attached).
CONFIRMED: Final = "CONFIRMED"
#: Part of a saved owner (a profile, a comment): kept until released.
ATTACHED: Final = "ATTACHED"
#: Its owner let it go (replaced, deleted): purged at the next run.
RELEASED: Final = "RELEASED"

_PREFIX_PART = re.compile(r"^[A-Za-z0-9_.=-]+$")
_MAX_KEY_BYTES = 1024
_PARALLEL_DELETES = 16  # blob deletions in flight at once during a purge
#: Where presigned PUTs land: confirming copies the object to the upload's own key (the one ever served)
#: and deletes this staging copy, so a second PUT through the same URL cannot replace an accepted file.
STAGING_PREFIX: Final = "uploads-staging/"


def staging_key(key: str) -> str:
    """The key a presigned PUT for the upload ``key`` writes to."""
    return f"{STAGING_PREFIX}{key}"


def uploads_table(metadata: MetaData, plugin: str) -> Table:
    """The plugin's uploads ``<plugin>_upload``, one row per upload it issued.

    Include it in the plugin's metadata (``uploads_table(metadata, "board")`` next to the models) and create
    it in a migration with :func:`wealist_core.migrations.create_uploads_table`. Constraint and index names
    are explicit, so the table is the same whatever naming convention the metadata carries.
    """
    name = f"{plugin}_upload"
    if name in metadata.tables:
        return metadata.tables[name]
    return Table(
        name,
        metadata,
        Column("id", Uuid, nullable=False),
        Column("key", String(_MAX_KEY_BYTES), nullable=False),
        Column("purpose", String(50), nullable=False),  # which Uploads service issued it ("avatar")
        Column("status", String(16), nullable=False),
        Column("uploader_id", Uuid, nullable=False),
        Column("workspace_id", Uuid, nullable=True),
        Column("file_name", String(255), nullable=True),
        Column("content_type", String(255), nullable=False),
        Column("size", BigInteger, nullable=False),
        Column("owner_type", String(50), nullable=True),
        Column("owner_id", String(100), nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
        Column("confirmed_at", UtcDateTime, nullable=True),
        Column("attached_at", UtcDateTime, nullable=True),
        Column("expires_at", UtcDateTime, nullable=True),  # None once attached: kept until released
        PrimaryKeyConstraint("id", name=f"pk_{name}"),
        UniqueConstraint("key", name=f"uq_{name}_key"),
        Index(f"ix_{name}_expires_at", "expires_at"),
        Index(f"ix_{name}_owner_type_owner_id", "owner_type", "owner_id"),
        Index(f"ix_{name}_uploader_id", "uploader_id"),
    )


@dataclass(frozen=True, slots=True)
class Upload:
    """One upload's record. ``owner_type``/``owner_id`` are set once it is attached."""

    id: uuid.UUID
    key: str
    purpose: str
    status: str
    uploader_id: uuid.UUID
    workspace_id: uuid.UUID | None
    file_name: str | None
    content_type: str
    size: int
    owner_type: str | None
    owner_id: str | None
    created_at: dt.datetime
    confirmed_at: dt.datetime | None
    attached_at: dt.datetime | None
    expires_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Upload:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls)})


@dataclass(frozen=True, slots=True)
class IssuedUpload:
    """A new pending upload and the URL its file goes to (``url.method``, ``url.url``, ``url.headers``)."""

    upload: Upload
    url: PresignedUrl

    def out(self) -> UploadOut:
        """The answer a route gives the client."""
        return UploadOut(
            upload_id=self.upload.id,
            key=self.upload.key,
            upload_url=self.url.url,
            method=self.url.method,
            headers=dict(self.url.headers),
            fields=dict(self.url.fields),
            expires_at=self.url.expires_at,
        )


class UploadIn(ApiModel):
    """What a client declares before uploading. Subclass it to add the route's own fields (a workspace).
    The lengths only bound the input: :class:`UploadPolicy` answers the precise refusals."""

    file_name: str | None = Field(default=None, max_length=1024)
    content_type: str = Field(max_length=255)
    size: int


class UploadOut(ApiModel):
    """Send the file with ``method uploadUrl`` and these ``headers`` (an S3 POST form also needs
    ``fields``), then name ``uploadId`` (or ``key``) in what you save before ``expiresAt``."""

    upload_id: uuid.UUID
    key: str
    upload_url: str
    method: str
    headers: dict[str, str]
    fields: dict[str, str]
    expires_at: dt.datetime


SessionLike = AsyncSession | UnitOfWork
UploadRef = uuid.UUID | str  # an upload's id, or its key


class Uploads:
    """The upload flow of one plugin and one kind of upload (its ``purpose`` and :class:`UploadPolicy`).

    Build one per kind in ``wealist_configure``:
    ``Uploads(container.blobstore("board"), plugin="board", purpose="attachment", policy=...)``. Several
    kinds share the plugin's table; each finds only the uploads it issued, and a purge removes every kind.
    Methods take the caller's ``AsyncSession`` or unit of work and never commit.
    """

    def __init__(
        self,
        blobs: BlobStore,
        *,
        plugin: str,
        policy: UploadPolicy,
        purpose: str = "upload",
        clock: Clock = utcnow,
        table: Table | None = None,
    ) -> None:
        if not _PREFIX_PART.match(plugin) or not _PREFIX_PART.match(purpose):
            raise ValueError(f"Plugin and purpose must be simple names, not {plugin!r} and {purpose!r}.")
        self.blobs = blobs
        self.plugin = plugin
        self.policy = policy
        self.purpose = purpose
        self.clock = clock
        self.table = table if table is not None else uploads_table(MetaData(), plugin)

    # -------------------------------------------------------------------------------------------- issue

    async def issue(
        self,
        session: SessionLike,
        *,
        uploader: uuid.UUID,
        content_type: str,
        size: int,
        key_prefix: str,
        file_name: str | None = None,
        workspace_id: uuid.UUID | None = None,
    ) -> IssuedUpload:
        """Check the declared file against the policy (a 4xx before anything is signed), then sign a PUT URL
        for a fresh key ``<plugin>/<key_prefix>/<id><extension>`` and record the upload as pending."""
        checked = self.policy.check(content_type=content_type, size=size, file_name=file_name)
        upload_id = uuid.uuid4()
        key = self._key(key_prefix, upload_id, checked)
        url = await self.blobs.presign_put(
            staging_key(key),
            content_type=checked.content_type,
            max_size=checked.size,
            expires_in=self.policy.url_ttl,
        )
        now = self.clock()
        values: dict[str, Any] = {
            "id": upload_id,
            "key": key,
            "purpose": self.purpose,
            "status": PENDING,
            "uploader_id": uploader,
            "workspace_id": workspace_id,
            "file_name": checked.file_name,
            "content_type": checked.content_type,
            "size": checked.size,
            "owner_type": None,
            "owner_id": None,
            "created_at": now,
            "confirmed_at": None,
            "attached_at": None,
            "expires_at": now + dt.timedelta(seconds=self.policy.pending_ttl),
        }
        await _session(session).execute(self.table.insert().values(values))
        return IssuedUpload(Upload.from_row(values), url)

    def _key(self, prefix: str, upload_id: uuid.UUID, checked: CheckedFile) -> str:
        parts = [part for part in prefix.strip("/").split("/") if part]
        for part in parts:
            if part in (".", "..") or not _PREFIX_PART.match(part):
                raise ValueError(
                    f"Key prefix {prefix!r} may hold only letters, digits and '_.=-' between '/'."
                )
        key = "/".join([self.plugin, *parts, f"{upload_id.hex}{checked.extension}"])
        if len(staging_key(key).encode()) > _MAX_KEY_BYTES:
            raise ValueError(f"Key prefix {prefix[:40]!r}... makes keys longer than {_MAX_KEY_BYTES} bytes.")
        return key

    # ---------------------------------------------------------------------------------- confirm, attach

    async def confirm(
        self, session: SessionLike, ref: UploadRef, *, by: uuid.UUID, workspace_id: uuid.UUID | None = None
    ) -> Upload:
        """The upload, CONFIRMED once its object is found as declared.

        Refused, changing nothing: 404 ``UPLOAD_NOT_FOUND`` (unknown, of another kind, of another workspace
        than ``workspace_id`` when given, or released), 404 ``UPLOAD_EXPIRED``, 403 ``UPLOAD_NOT_YOURS``
        (``by`` is not its uploader), 409 ``UPLOAD_NOT_RECEIVED`` (no object yet) and 422
        ``UPLOAD_MISMATCH`` (the object's size or type differs from what was declared). Confirming twice is
        harmless."""
        upload = await self._usable(session, ref, by=by, workspace_id=workspace_id)
        if upload.status != PENDING:
            return upload
        staged = staging_key(upload.key)
        info = await self.blobs.head(staged)
        if info is None:  # copied by a confirm whose transaction then rolled back, or stored server side
            staged, info = "", await self.blobs.head(upload.key)
        if info is None:
            raise Conflict(
                "Nothing has been uploaded to this upload's URL yet; send the file, then try again.",
                code="UPLOAD_NOT_RECEIVED",
            )
        # The local store enforces type and size limit at upload time; an S3 presigned PUT may enforce
        # neither, and a smaller file passes any limit: what matters is what arrived.
        if info.size != upload.size or media_essence(info.content_type) != upload.content_type:
            raise ValidationProblem(
                f"The uploaded file is {info.size} bytes of {media_essence(info.content_type)}, but "
                f"{upload.size} bytes of {upload.content_type} were declared; upload it again as declared.",
                code="UPLOAD_MISMATCH",
                extra={"declared": {"size": upload.size, "contentType": upload.content_type}},
            )
        if staged:
            # The accepted bytes move to the upload's own key, which no presigned PUT names; a later PUT
            # through the same URL only writes a staging object nobody serves (and the purge removes).
            await self.blobs.copy(staged, upload.key)
            await self.blobs.delete(staged)
        now = self.clock()
        await self._set(session, upload, status=CONFIRMED, confirmed_at=now)
        return _replace(upload, status=CONFIRMED, confirmed_at=now)

    async def attach(
        self,
        session: SessionLike,
        ref: UploadRef,
        *,
        by: uuid.UUID,
        owner_type: str,
        owner_id: uuid.UUID | str,
        workspace_id: uuid.UUID | None = None,
    ) -> Upload:
        """Make the upload part of its owner (confirming it first if need be): it is kept until released.

        Call it in the transaction that saves the owner, so the two commit together. Refusals are
        :meth:`confirm`'s, plus 409 ``UPLOAD_ALREADY_ATTACHED`` when it belongs to another owner;
        attaching it to the same owner again changes nothing."""
        owner = str(owner_id)
        if not owner_type or len(owner_type) > 50 or len(owner) > 100:
            raise ValueError("owner_type (at most 50 characters) and owner_id (at most 100) are needed.")
        upload = await self.confirm(session, ref, by=by, workspace_id=workspace_id)
        if upload.status == ATTACHED:
            if (upload.owner_type, upload.owner_id) == (owner_type, owner):
                return upload
            raise Conflict("This upload is already part of something else.", code="UPLOAD_ALREADY_ATTACHED")
        now = self.clock()
        changes = {"status": ATTACHED, "owner_type": owner_type, "owner_id": owner, "attached_at": now}
        await self._set(session, upload, expires_at=None, **changes)
        return _replace(upload, expires_at=None, **changes)

    async def release(self, session: SessionLike, ref: UploadRef) -> bool:
        """Let an upload go (an avatar replaced, an attachment removed): it is unattached again, and purged
        once the expiry it was issued with has passed (at the next purge if it has); False when there was
        nothing to release. Undoing an attach this way keeps a replaced file as long as an unused one."""
        return bool(await self._release(session, self._match(ref) & (self.table.c.status != RELEASED)))

    async def release_owner(self, session: SessionLike, owner_type: str, owner_id: uuid.UUID | str) -> int:
        """Release every upload of this kind attached to the owner (a task deleted); how many."""
        c = self.table.c
        owned = (c.owner_type == owner_type) & (c.owner_id == str(owner_id)) & (c.status == ATTACHED)
        return await self._release(session, owned & (c.purpose == self.purpose))

    async def _release(self, session: SessionLike, where: Any) -> int:
        c = self.table.c
        rows = (
            await _session(session).execute(select(c.id, c.created_at).where(where).with_for_update())
        ).all()
        now, ttl = self.clock(), dt.timedelta(seconds=self.policy.pending_ttl)
        for upload_id, created_at in rows:
            # Computed here, not in SQL: date arithmetic is spelled differently on every database.
            await _session(session).execute(
                update(self.table)
                .where(c.id == upload_id)
                .values(status=RELEASED, expires_at=max(now, created_at + ttl))
            )
        return len(rows)

    # ------------------------------------------------------------------------------------------- reads

    async def get(self, session: SessionLike, ref: UploadRef) -> Upload | None:
        """The upload of this kind with this id or key, whatever its status; None when there is none."""
        row = (await _session(session).execute(select(self.table).where(self._match(ref)))).mappings().first()
        return Upload.from_row(row) if row is not None else None

    async def attached_to(
        self, session: SessionLike, owner_type: str, owner_id: uuid.UUID | str
    ) -> list[Upload]:
        """The uploads of this kind attached to the owner, oldest first (a task's attachments)."""
        c = self.table.c
        query = (
            select(self.table)
            .where(
                c.purpose == self.purpose,
                c.owner_type == owner_type,
                c.owner_id == str(owner_id),
                c.status == ATTACHED,
            )
            .order_by(c.attached_at, c.id)
        )
        return [Upload.from_row(row) for row in (await _session(session).execute(query)).mappings()]

    async def download(self, session: SessionLike, ref: UploadRef, *, inline: bool = False) -> PresignedUrl:
        """A GET URL for an attached upload (404 ``UPLOAD_NOT_FOUND`` otherwise). Whether the caller may see
        its owner is the caller's check, made before."""
        upload = await self.get(session, ref)
        if upload is None or upload.status != ATTACHED:
            raise NotFound("No such file.", code="UPLOAD_NOT_FOUND")
        return await self.download_url(upload, inline=inline)

    async def download_url(self, upload: Upload, *, inline: bool = False) -> PresignedUrl:
        """A GET URL for ``upload`` (no database read: for lists). Downloads are saved under the original
        file name (``Content-Disposition: attachment``); ``inline`` lets the browser display it instead."""
        filename = None if inline else upload.file_name
        return await self.blobs.presign_get(
            upload.key, expires_in=self.policy.download_ttl, filename=filename
        )

    # ------------------------------------------------------------------------------------------- purge

    async def purge_expired(
        self, session: SessionLike, *, now: dt.datetime | None = None, limit: int = 200
    ) -> int:
        """Delete the objects, then the rows, of up to ``limit`` uploads (of every kind) still unattached
        at ``now``; how many. A job calls it in a loop, one unit of work per batch, until it returns less
        than ``limit``. If an object cannot be deleted the error propagates: roll back, and the rows stay
        for the next run, so no object is ever left without its row."""
        now = now or self.clock()
        c = self.table.c
        due = (c.status != ATTACHED) & (c.expires_at <= now)
        query = (
            select(c.id, c.key)
            .where(due)
            .order_by(c.expires_at, c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL: leave rows an attach holds; SQLite ignores it
        )
        rows = (await _session(session).execute(query)).all()
        if not rows:
            return 0
        keys = [name for _id, key in rows for name in (key, staging_key(key))]
        for start in range(0, len(keys), _PARALLEL_DELETES):
            await asyncio.gather(*(self.blobs.delete(key) for key in keys[start : start + _PARALLEL_DELETES]))
        await _session(session).execute(delete(self.table).where(c.id.in_([id_ for id_, _key in rows]), due))
        return len(rows)

    async def purge_all_expired(
        self, database: Database, *, now: dt.datetime | None = None, batch: int = 200
    ) -> int:
        """:meth:`purge_expired` in batches, each its own unit of work, until none is left; how many.

        What a periodic job calls:
        ``await uploads.purge_all_expired(ctx.container.database(ctx.plugin), now=ctx.now)``."""
        now = now or self.clock()
        purged = 0
        while True:
            async with database.unit_of_work(plugin=self.plugin) as uow:
                count = await self.purge_expired(uow, now=now, limit=batch)
            purged += count
            if count < batch:
                return purged

    # ----------------------------------------------------------------------------------------- helpers

    async def _usable(
        self, session: SessionLike, ref: UploadRef, *, by: uuid.UUID, workspace_id: uuid.UUID | None
    ) -> Upload:
        query = select(self.table).where(self._match(ref)).with_for_update()
        row = (await _session(session).execute(query)).mappings().first()
        upload = Upload.from_row(row) if row is not None else None
        if (
            upload is None
            or upload.status == RELEASED
            or (workspace_id is not None and upload.workspace_id != workspace_id)
        ):
            raise NotFound("No such upload; ask for a new upload URL.", code="UPLOAD_NOT_FOUND")
        if upload.uploader_id != by:
            raise Forbidden("This upload was made by someone else.", code="UPLOAD_NOT_YOURS")
        if upload.expires_at is not None and upload.expires_at <= self.clock():
            raise NotFound("This upload has expired; upload the file again.", code="UPLOAD_EXPIRED")
        return upload

    def _match(self, ref: UploadRef) -> Any:
        c = self.table.c
        by_ref = c.id == ref if isinstance(ref, uuid.UUID) else c.key == ref
        return by_ref & (c.purpose == self.purpose)

    async def _set(self, session: SessionLike, upload: Upload, **values: Any) -> None:
        await _session(session).execute(
            update(self.table).where(self.table.c.id == upload.id).values(**values)
        )


def _session(session: SessionLike) -> AsyncSession:
    return session.session if isinstance(session, UnitOfWork) else session


def _replace(upload: Upload, **changes: Any) -> Upload:
    return dataclasses.replace(upload, **changes)

"""The upload flow (``wealist_core.uploads``) on the local blob store, over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import MetaData, select
from sqlalchemy.engine import Connection
from starlette.applications import Starlette
from wealist_adapters.local_files.blobstore import LocalBlobStore

from wealist_core import (
    DOCUMENTS,
    RASTER_IMAGES,
    DenyList,
    PresignedUrl,
    ProblemError,
    Upload,
    UploadIn,
    UploadPolicy,
    Uploads,
    uploads_table,
)
from wealist_core.migrations import create_uploads_table
from wealist_core.sql import SqlAlchemyDatabase
from wealist_core.uploads import ANY_EXTENSION, ATTACHED, CONFIRMED, PENDING, RELEASED, staging_key

METADATA = MetaData()
TABLE = uploads_table(METADATA, "demo")
POLICY = UploadPolicy(types={**RASTER_IMAGES, **DOCUMENTS}, max_size=1000, url_ttl=600, pending_ttl=3600)
PDF = b"%PDF-1.7\n" + b"x" * 91  # 100 bytes
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 42  # 50 bytes
ADA, BOB = uuid.UUID(int=1), uuid.UUID(int=2)
SPACE, OTHER_SPACE = uuid.UUID(int=10), uuid.UUID(int=11)


class FakeClock:
    """One time for the blob store (Unix seconds) and the uploads (aware datetimes); tests move it."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def unix(self) -> float:
        return self.now

    def utc(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now, dt.UTC)


@dataclass
class World:
    database: SqlAlchemyDatabase
    store: LocalBlobStore
    http: httpx.AsyncClient
    clock: FakeClock
    uploads: Uploads
    signed: list[str]  # keys the store signed a PUT URL for

    async def put(self, url: PresignedUrl, body: bytes, **headers: str) -> httpx.Response:
        return await self.http.request(url.method, url.url, content=body, headers={**url.headers, **headers})

    async def row(self, upload_id: uuid.UUID) -> dict[str, Any] | None:
        async with self.database.reading() as session:
            found = (await session.execute(select(TABLE).where(TABLE.c.id == upload_id))).mappings().first()
        return dict(found) if found else None

    async def count(self) -> int:
        async with self.database.reading() as session:
            return len((await session.execute(select(TABLE.c.id))).all())

    async def issue(self, file_name: str | None = "Q3 report.pdf", **kw: Any) -> tuple[Upload, PresignedUrl]:
        values: dict[str, Any] = {
            "uploader": ADA,
            "content_type": "application/pdf",
            "size": len(PDF),
            "key_prefix": f"ws/{SPACE.hex}",
            "workspace_id": SPACE,
        }
        async with self.database.unit_of_work(plugin="demo") as uow:
            issued = await self.uploads.issue(uow, file_name=file_name, **(values | kw))
        return issued.upload, issued.url


def _database(url: str) -> SqlAlchemyDatabase:
    if url.startswith("sqlite"):
        from wealist_adapters.sqlite.database import SqliteDatabase

        return SqliteDatabase(url)
    from wealist_adapters.postgres.database import PostgresDatabase

    return PostgresDatabase(url)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'wealist.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    database = _database(database_url)
    await database.start()
    async with database.engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    clock = FakeClock()
    store = LocalBlobStore(
        tmp_path / "blobs", secret_key="uploads-secret", public_url="http://wealist.test", clock=clock.unix
    )
    await store.start()
    signed: list[str] = []
    presign_put = store.presign_put

    async def recording_presign_put(key: str, **kw: Any) -> PresignedUrl:
        signed.append(key)
        return await presign_put(key, **kw)

    store.presign_put = recording_presign_put  # type: ignore[method-assign]
    uploads = Uploads(store, plugin="demo", purpose="attachment", policy=POLICY, clock=clock.utc)
    app = Starlette(routes=list(store.routes()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        yield World(database, store, http, clock, uploads, signed)
    await store.close()
    await database.close()


async def _refusal(world: World, **kw: Any) -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        await world.issue(**kw)
    return caught.value


# ------------------------------------------------------------------------------------------------ issue


@pytest.mark.parametrize(
    ("declared", "status", "code"),
    [
        ({"content_type": "image/svg+xml", "file_name": "logo.svg"}, 422, "UPLOAD_TYPE_NOT_ALLOWED"),
        ({"content_type": "text/html; charset=utf-8", "file_name": "a.html"}, 422, "UPLOAD_TYPE_NOT_ALLOWED"),
        ({"content_type": "pdf"}, 422, "UPLOAD_TYPE_NOT_ALLOWED"),
        ({"file_name": "invoice.pdf.exe"}, 422, "UPLOAD_TYPE_NOT_ALLOWED"),
        ({"file_name": "photo.png"}, 422, "UPLOAD_EXTENSION_MISMATCH"),
        ({"size": 1001}, 413, "UPLOAD_TOO_LARGE"),
        ({"size": 0}, 422, "UPLOAD_SIZE_INVALID"),
        ({"size": -1}, 422, "UPLOAD_SIZE_INVALID"),
        ({"file_name": "../../etc/passwd.pdf"}, 422, "UPLOAD_FILE_NAME_INVALID"),
        ({"file_name": "..\\boot.pdf"}, 422, "UPLOAD_FILE_NAME_INVALID"),
        ({"file_name": ".."}, 422, "UPLOAD_FILE_NAME_INVALID"),
        ({"file_name": "a\x00.pdf"}, 422, "UPLOAD_FILE_NAME_INVALID"),
        ({"file_name": "line\nbreak.pdf"}, 422, "UPLOAD_FILE_NAME_INVALID"),
        ({"file_name": "report\u202efdp.exe.pdf"}, 422, "UPLOAD_FILE_NAME_INVALID"),
        ({"file_name": "x" * 252 + ".pdf"}, 422, "UPLOAD_FILE_NAME_INVALID"),
        ({"file_name": "   "}, 422, "UPLOAD_FILE_NAME_INVALID"),
    ],
)
async def test_issue_refuses_a_bad_upload_before_signing_a_url(
    world: World, declared: dict[str, Any], status: int, code: str
) -> None:
    refused = await _refusal(world, **declared)

    assert (refused.status, refused.code) == (status, code)
    assert world.signed == []
    assert await world.count() == 0


async def test_a_refusal_names_the_field_and_the_limit(world: World) -> None:
    too_large = await _refusal(world, size=5000)
    assert too_large.extra == {"maxSize": 1000}
    assert "1000 bytes" in too_large.detail
    wrong_type = await _refusal(world, content_type="image/svg+xml", file_name="logo.svg")
    assert [error["field"] for error in wrong_type.extra["errors"]] == ["body.contentType"]
    assert "image/png" in wrong_type.extra["errors"][0]["message"]  # says what is allowed


async def test_issue_signs_a_key_under_the_prefix_and_records_a_pending_upload(world: World) -> None:
    upload, url = await world.issue(file_name="  Bilan été.PDF ", content_type="Application/PDF")

    assert url.method == "PUT" and world.signed == [staging_key(upload.key)]
    assert upload.key == f"demo/ws/{SPACE.hex}/{upload.id.hex}.pdf"
    assert urlsplit(url.url).path == f"/blobs/{staging_key(upload.key)}"  # served by the host's blob routes
    assert url.expires_at == world.clock.utc() + dt.timedelta(seconds=600)
    row = await world.row(upload.id)
    assert row is not None
    assert (row["status"], row["content_type"], row["file_name"], row["size"]) == (
        PENDING,
        "application/pdf",
        "Bilan été.PDF",
        len(PDF),
    )
    assert (row["uploader_id"], row["workspace_id"], row["owner_type"]) == (ADA, SPACE, None)
    assert row["expires_at"] == world.clock.utc() + dt.timedelta(seconds=3600)
    # Without a file name the key takes the type's own extension.
    image, _url = await world.issue(file_name=None, content_type="image/jpeg", size=10)
    assert image.key.endswith(".jpg")


async def test_the_answer_a_route_gives_is_camel_case_with_everything_to_upload(world: World) -> None:
    body = UploadIn.model_validate({"fileName": "a.png", "contentType": "image/png", "size": 5})
    async with world.database.unit_of_work(plugin="demo") as uow:
        issued = await world.uploads.issue(
            uow,
            uploader=ADA,
            key_prefix="x",
            **body.model_dump(include={"file_name", "content_type", "size"}),
        )
    answer = issued.out().model_dump(mode="json", by_alias=True)
    assert answer == {
        "uploadId": str(issued.upload.id),
        "key": issued.upload.key,
        "uploadUrl": issued.url.url,
        "method": "PUT",
        "headers": {"Content-Type": "image/png"},
        "fields": {},
        "expiresAt": answer["expiresAt"],
    }
    assert dt.datetime.fromisoformat(answer["expiresAt"]) == issued.url.expires_at


async def test_a_key_prefix_cannot_climb_out(world: World) -> None:
    for prefix in ("ws/../other", "ws/a b", "ws/%2e%2e"):
        with pytest.raises(ValueError, match="Key prefix"):
            await world.issue(key_prefix=prefix)
    assert world.signed == []


def test_a_permissive_policy_still_refuses_executables() -> None:
    drive = UploadPolicy(types=None, max_size=10**9)
    assert drive.check(content_type="application/x-tar", size=5, file_name="backup.tar").extension == ".tar"
    for name, media_type in (("setup.exe", "application/octet-stream"), ("run", "application/x-sh")):
        with pytest.raises(ProblemError) as caught:
            drive.check(content_type=media_type, size=5, file_name=name)
        assert caught.value.code == "UPLOAD_TYPE_NOT_ALLOWED"
    trusting = UploadPolicy(types=None, max_size=10, denied=DenyList())
    assert trusting.check(content_type="application/x-sh", size=5, file_name="go.sh").extension == ".sh"
    any_name = UploadPolicy(types={"text/plain": ANY_EXTENSION}, max_size=10)
    assert any_name.check(content_type="text/plain", size=1, file_name="README").extension == ""


def test_a_policy_refuses_nonsense_at_configuration() -> None:
    with pytest.raises(ValueError, match="pending_ttl"):
        UploadPolicy(types=RASTER_IMAGES, max_size=10, url_ttl=900, pending_ttl=60)
    with pytest.raises(ValueError, match="media type"):
        UploadPolicy(types={"png": (".png",)}, max_size=10)
    with pytest.raises(ValueError, match="max_size"):
        UploadPolicy(types=RASTER_IMAGES, max_size=0)


# -------------------------------------------------------------------------------------- upload, confirm


async def test_upload_confirm_attach_and_download_with_the_original_name(world: World) -> None:
    upload, url = await world.issue(file_name="Bilan été.pdf")
    put = await world.put(url, PDF)
    assert put.status_code == 200, put.text

    owner = uuid.uuid4()
    async with world.database.unit_of_work(plugin="demo") as uow:
        confirmed = await world.uploads.confirm(uow, upload.id, by=ADA, workspace_id=SPACE)
        assert confirmed.status == CONFIRMED
        attached = await world.uploads.attach(uow, upload.key, by=ADA, owner_type="comment", owner_id=owner)
    assert (attached.status, attached.owner_type, attached.owner_id) == (ATTACHED, "comment", str(owner))
    row = await world.row(upload.id)
    assert row is not None
    assert (row["status"], row["owner_id"], row["expires_at"]) == (ATTACHED, str(owner), None)
    assert row["confirmed_at"] == row["attached_at"] == world.clock.utc()

    async with world.database.reading() as session:
        assert [u.id for u in await world.uploads.attached_to(session, "comment", owner)] == [upload.id]
        url = await world.uploads.download(session, upload.id)
        inline = await world.uploads.download(session, upload.key, inline=True)
    got = await world.http.get(url.url)
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''Bilan%20%C3%A9t%C3%A9.pdf" in got.headers["content-disposition"]
    shown = await world.http.get(inline.url)
    assert shown.status_code == 200 and "content-disposition" not in shown.headers
    assert url.expires_at == world.clock.utc() + dt.timedelta(seconds=POLICY.download_ttl)


async def test_attach_confirms_a_pending_upload_and_twice_is_harmless(world: World) -> None:
    upload, url = await world.issue()
    await world.put(url, PDF)
    async with world.database.unit_of_work(plugin="demo") as uow:
        first = await world.uploads.attach(uow, upload.id, by=ADA, owner_type="task", owner_id="t1")
        again = await world.uploads.attach(uow, upload.id, by=ADA, owner_type="task", owner_id="t1")
        assert await world.uploads.confirm(uow, upload.id, by=ADA) == again
    assert first == again and first.status == ATTACHED
    async with world.database.unit_of_work(plugin="demo") as uow:
        with pytest.raises(ProblemError) as caught:
            await world.uploads.attach(uow, upload.id, by=ADA, owner_type="task", owner_id="t2")
    assert (caught.value.status, caught.value.code) == (409, "UPLOAD_ALREADY_ATTACHED")


async def _confirm_refused(world: World, ref: uuid.UUID | str, **kw: Any) -> ProblemError:
    """Confirm inside a unit of work that then commits: a refusal must have written nothing."""
    async with world.database.unit_of_work(plugin="demo") as uow:
        with pytest.raises(ProblemError) as caught:
            await world.uploads.confirm(uow, ref, **({"by": ADA} | kw))
    return caught.value


async def test_confirm_refuses_what_was_not_uploaded_as_declared_and_changes_nothing(world: World) -> None:
    upload, url = await world.issue()
    before = await world.row(upload.id)

    missing = await _confirm_refused(world, upload.id)
    assert (missing.status, missing.code) == (409, "UPLOAD_NOT_RECEIVED")

    # Smaller than declared: the signed URL accepts it (it is within the limit), confirm does not.
    assert (await world.put(url, PDF[:60])).status_code == 200
    short = await _confirm_refused(world, upload.id)
    assert (short.status, short.code) == (422, "UPLOAD_MISMATCH")
    assert short.extra["declared"] == {"size": 100, "contentType": "application/pdf"}

    # Another type under the key, as a store that enforces nothing (S3 presigned PUT) would keep it.
    await world.store.put(upload.key, PDF, content_type="text/html")
    wrong_type = await _confirm_refused(world, upload.id)
    assert (wrong_type.status, wrong_type.code) == (422, "UPLOAD_MISMATCH")

    # The upload URL itself refuses another type.
    refused_put = await world.put(url, PDF, **{"Content-Type": "text/html"})
    assert refused_put.status_code == 415

    await world.put(url, PDF)
    by_bob = await _confirm_refused(world, upload.id, by=BOB)
    assert (by_bob.status, by_bob.code) == (403, "UPLOAD_NOT_YOURS")
    elsewhere = await _confirm_refused(world, upload.id, workspace_id=OTHER_SPACE)
    assert (elsewhere.status, elsewhere.code) == (404, "UPLOAD_NOT_FOUND")
    unknown = await _confirm_refused(world, f"demo/ws/{SPACE.hex}/{uuid.uuid4().hex}.pdf")
    assert (unknown.status, unknown.code) == (404, "UPLOAD_NOT_FOUND")
    assert (await _confirm_refused(world, uuid.uuid4())).code == "UPLOAD_NOT_FOUND"
    other_kind = Uploads(world.store, plugin="demo", purpose="avatar", policy=POLICY, clock=world.clock.utc)
    async with world.database.unit_of_work(plugin="demo") as uow:
        with pytest.raises(ProblemError) as caught:
            await other_kind.confirm(uow, upload.id, by=ADA)
    assert caught.value.code == "UPLOAD_NOT_FOUND"

    assert await world.row(upload.id) == before  # still PENDING, nothing recorded
    async with world.database.unit_of_work(plugin="demo") as uow:
        assert (await world.uploads.confirm(uow, upload.id, by=ADA)).status == CONFIRMED


async def test_an_upload_left_past_its_expiry_cannot_be_confirmed(world: World) -> None:
    upload, url = await world.issue()
    await world.put(url, PDF)
    world.clock.now += 3600
    expired = await _confirm_refused(world, upload.id)
    assert (expired.status, expired.code) == (404, "UPLOAD_EXPIRED")


# ---------------------------------------------------------------------------------------- release, purge


async def _attach(world: World, upload: Upload, owner_id: str) -> None:
    async with world.database.unit_of_work(plugin="demo") as uow:
        await world.uploads.attach(uow, upload.id, by=ADA, owner_type="task", owner_id=owner_id)


async def test_purge_removes_unattached_uploads_past_expiry_and_keeps_attached_ones(world: World) -> None:
    attached, url = await world.issue(file_name="kept.pdf")
    await world.put(url, PDF)
    await _attach(world, attached, "t1")
    released, url = await world.issue(file_name="replaced.pdf")
    await world.put(url, PDF)
    await _attach(world, released, "t2")
    abandoned, url = await world.issue(file_name="abandoned.pdf")
    await world.put(url, PDF)
    never_sent, _url = await world.issue(file_name="never.pdf")
    world.clock.now += 1800
    recent, url = await world.issue(file_name="recent.pdf")
    await world.put(url, PDF)

    async with world.database.unit_of_work(plugin="demo") as uow:
        assert await world.uploads.release(uow, released.key)
        assert not await world.uploads.release(uow, released.key)  # nothing left to release
    async with world.database.unit_of_work(plugin="demo") as uow:
        # Released half an hour after it was issued: kept, like an unused upload, until its issued expiry.
        assert await world.uploads.purge_expired(uow, now=world.clock.utc()) == 0
    world.clock.now += 1800  # the first four are an hour old, the last half an hour

    async with world.database.unit_of_work(plugin="demo") as uow:
        assert await world.uploads.purge_expired(uow, now=world.clock.utc()) == 3
    async with world.database.unit_of_work(plugin="demo") as uow:
        assert await world.uploads.purge_expired(uow, now=world.clock.utc()) == 0

    for gone in (released, abandoned, never_sent):
        assert await world.row(gone.id) is None
        assert await world.store.head(gone.key) is None
        assert await world.store.head(staging_key(gone.key)) is None
    for kept in (attached, recent):
        assert await world.row(kept.id) is not None
    assert await world.store.get(attached.key) == PDF
    assert await world.store.get(staging_key(recent.key)) == PDF  # sent, not yet confirmed
    async with world.database.reading() as session:
        assert [u.id for u in await world.uploads.attached_to(session, "task", "t1")] == [attached.id]
        assert await world.uploads.attached_to(session, "task", "t2") == []


async def test_purge_works_in_batches_and_a_failed_delete_keeps_the_rows(world: World) -> None:
    made = [await world.issue(file_name=f"f{n}.pdf") for n in range(5)]
    for _upload, url in made:
        await world.put(url, PDF)
    world.clock.now += 3600

    delete = world.store.delete

    async def failing_delete(key: str) -> None:
        raise OSError("disk gone")

    world.store.delete = failing_delete  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk gone"):
        async with world.database.unit_of_work(plugin="demo") as uow:
            await world.uploads.purge_expired(uow, now=world.clock.utc())
    assert await world.count() == 5
    world.store.delete = delete  # type: ignore[method-assign]

    batches = []
    while True:
        async with world.database.unit_of_work(plugin="demo") as uow:
            batches.append(await world.uploads.purge_expired(uow, now=world.clock.utc(), limit=2))
        if batches[-1] < 2:
            break
    assert batches == [2, 2, 1]
    assert await world.count() == 0
    for upload, _url in made:
        assert await world.store.head(upload.key) is None


async def test_a_job_purges_every_batch_in_its_own_unit_of_work(world: World) -> None:
    made = [await world.issue(file_name=f"f{n}.pdf") for n in range(5)]
    kept, url = await world.issue(file_name="kept.pdf")
    await world.put(url, PDF)
    await _attach(world, kept, "t1")
    world.clock.now += 3600

    assert await world.uploads.purge_all_expired(world.database, now=world.clock.utc(), batch=2) == 5
    assert await world.uploads.purge_all_expired(world.database, now=world.clock.utc()) == 0
    assert [await world.row(upload.id) for upload, _url in made] == [None] * 5
    assert await world.row(kept.id) is not None


async def test_an_upload_released_long_after_it_was_issued_goes_at_the_next_purge(world: World) -> None:
    upload, url = await world.issue()
    await world.put(url, PDF)
    await _attach(world, upload, "t1")
    world.clock.now += 10 * 24 * 3600
    async with world.database.unit_of_work(plugin="demo") as uow:
        assert await world.uploads.purge_expired(uow, now=world.clock.utc()) == 0  # attached: kept
        assert await world.uploads.release(uow, upload.id)
    row = await world.row(upload.id)
    assert row is not None and (row["status"], row["expires_at"]) == (RELEASED, world.clock.utc())
    async with world.database.unit_of_work(plugin="demo") as uow:
        assert await world.uploads.purge_expired(uow, now=world.clock.utc()) == 1
    assert await world.store.head(upload.key) is None


async def test_release_owner_lets_every_attachment_of_an_owner_go(world: World) -> None:
    first, url = await world.issue(file_name="a.pdf")
    await world.put(url, PDF)
    second, url2 = await world.issue(file_name="b.png", content_type="image/png", size=len(PNG))
    await world.put(url2, PNG)
    await _attach(world, first, "t9")
    await _attach(world, second, "t9")
    async with world.database.unit_of_work(plugin="demo") as uow:
        assert await world.uploads.release_owner(uow, "task", "t9") == 2
        with pytest.raises(ProblemError) as caught:
            await world.uploads.download(uow, first.id)
    assert caught.value.code == "UPLOAD_NOT_FOUND"
    row = await world.row(first.id)
    assert row is not None and row["status"] == RELEASED


# ------------------------------------------------------------------------------------------- migrations


def _create_with_helper(connection: Connection) -> list[Any]:
    create_uploads_table(Operations(MigrationContext.configure(connection)), "other")
    expected = MetaData()
    uploads_table(expected, "other")
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [diff for diff in compare_metadata(context, expected) if "other_upload" in repr(diff)]


async def test_the_migration_helper_creates_the_table_the_models_describe(world: World) -> None:
    async with world.database.engine.begin() as connection:
        assert await connection.run_sync(_create_with_helper) == []


def test_the_table_is_the_same_whatever_the_metadata_naming() -> None:
    from wealist_core import plugin_metadata

    named = uploads_table(plugin_metadata(), "board")
    assert named.name == "board_upload"
    assert {index.name for index in named.indexes} == {
        "ix_board_upload_expires_at",
        "ix_board_upload_owner_type_owner_id",
        "ix_board_upload_uploader_id",
    }
    assert uploads_table(named.metadata, "board") is named


async def test_a_second_put_on_the_url_cannot_replace_the_accepted_file(world: World) -> None:
    """The presigned URL is single-use for what it accepted: confirming moves the bytes to the upload's own
    key, which no URL names; a later PUT through the same URL changes nothing anyone is served."""
    upload, url = await world.issue(file_name="contract.pdf")
    assert (await world.put(url, PDF)).status_code in (200, 204)
    await _attach(world, upload, "t1")
    forged = b"%PDF-" + b"X" * (len(PDF) - 5)
    second = await world.put(url, forged)
    assert second.status_code in (200, 204, 403, 409)
    assert await world.store.get(upload.key) == PDF
    async with world.database.unit_of_work(plugin="demo") as uow:
        again = await world.uploads.confirm(uow, upload.id, by=ADA)
    assert again.status == ATTACHED
    assert await world.store.get(upload.key) == PDF
    served = await world.http.get((await world.uploads.download_url(upload)).url)
    assert served.content == PDF

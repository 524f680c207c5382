"""The uploads toolkit on the S3 store (moto over HTTP): issue, PUT, attach, and single-use URLs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import MetaData
from wealist_adapters.s3.blobstore import S3BlobStore, S3Options
from wealist_adapters.sqlite.database import SqliteDatabase

from wealist_core.testing import s3_bucket_url
from wealist_core.uploads import ATTACHED, DOCUMENTS, UploadPolicy, Uploads, staging_key, uploads_table

METADATA = MetaData()
TABLE = uploads_table(METADATA, "demo")
PDF = b"%PDF-1.7\n" + b"x" * 91
ADA = uuid.UUID(int=1)


@pytest.fixture
async def world(wealist_s3_endpoint: str, tmp_path: Path) -> AsyncIterator[tuple[SqliteDatabase, Uploads]]:
    database = SqliteDatabase(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    await database.start()
    async with database.engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    store = S3BlobStore(S3Options.parse(s3_bucket_url(wealist_s3_endpoint)))
    await store.start()
    policy = UploadPolicy(types=dict(DOCUMENTS), max_size=1000, url_ttl=600, pending_ttl=3600)
    yield database, Uploads(store, plugin="demo", purpose="attachment", policy=policy)
    await store.close()
    await database.close()


async def test_second_put_after_acceptance_leaves_the_accepted_bytes(
    world: tuple[SqliteDatabase, Uploads],
) -> None:
    database, uploads = world
    async with database.unit_of_work(plugin="demo") as uow:
        issued = await uploads.issue(
            uow,
            uploader=ADA,
            content_type="application/pdf",
            size=len(PDF),
            key_prefix="t",
            file_name="a.pdf",
        )
    url = issued.url
    async with httpx.AsyncClient() as http:
        first = await http.put(url.url, content=PDF, headers=dict(url.headers))
        assert first.status_code == 200, first.text
        async with database.unit_of_work(plugin="demo") as uow:
            attached = await uploads.attach(uow, issued.upload.id, by=ADA, owner_type="task", owner_id="t1")
        assert attached.status == ATTACHED
        assert await uploads.blobs.head(staging_key(issued.upload.key)) is None  # moved to its own key

        forged = b"%PDF-" + b"Z" * (len(PDF) - 5)
        await http.put(url.url, content=forged, headers=dict(url.headers))  # S3 accepts it, to staging
        assert await uploads.blobs.get(issued.upload.key) == PDF
        served = await http.get((await uploads.download_url(attached)).url)
        assert served.status_code == 200 and served.content == PDF

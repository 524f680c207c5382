"""The S3 adapter's own behaviour, against moto's S3 server over HTTP.

moto checks neither signatures nor expiry, so the presigned URLs' signed parameters are checked here.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from wealist_adapters.s3.blobstore import S3BlobStore, S3Options
from wealist_adapters.s3.keys import board_attachment_key, profile_key, storage_file_key, video_key

from wealist_core import AdapterError, AdapterUnavailable, MultipartUploads, NotFound, UploadPart
from wealist_core.testing import s3_bucket_url


@pytest.fixture
async def store(wealist_s3_endpoint: str) -> AsyncIterator[S3BlobStore]:
    built = S3BlobStore(S3Options.parse(s3_bucket_url(wealist_s3_endpoint)))
    await built.start()
    yield built
    await built.close()


def _query(url: str) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(urlsplit(url).query).items()}


async def test_presigned_put_signs_expiry_and_content_type(store: S3BlobStore) -> None:
    put = await store.presign_put("profiles/u1/avatar", content_type="image/png", max_size=10, expires_in=300)
    query = _query(put.url)
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "300"
    assert "content-type" in query["X-Amz-SignedHeaders"].split(";")
    assert "host" in query["X-Amz-SignedHeaders"].split(";")
    assert query["X-Amz-Credential"].endswith("/us-east-1/s3/aws4_request")
    assert len(query["X-Amz-Signature"]) == 64
    assert put.headers == {"Content-Type": "image/png"}
    # path-style addressing on a custom endpoint: the bucket is the first path segment
    assert urlsplit(put.url).path == f"/{store.bucket}/profiles/u1/avatar"


async def test_presigned_get_signs_expiry_and_download_name(store: S3BlobStore) -> None:
    get = await store.presign_get("k", expires_in=60, filename="Q3 report.pdf")
    query = _query(get.url)
    assert query["X-Amz-Expires"] == "60"
    assert query["response-content-disposition"] == 'attachment; filename="Q3 report.pdf"'


async def test_expiry_beyond_seven_days_is_refused(store: S3BlobStore) -> None:
    with pytest.raises(ValueError):
        await store.presign_get("k", expires_in=7 * 24 * 3600 + 1)


async def test_copy_is_server_side_and_keeps_the_type(store: S3BlobStore) -> None:
    await store.put("a/src", b"payload", content_type="text/csv")
    info = await store.copy("a/src", "b/dst")
    assert (info.size, info.content_type) == (7, "text/csv")
    assert await store.get("b/dst") == b"payload"
    with pytest.raises(NotFound):
        await store.copy("a/none", "b/other")


async def test_multipart_upload_through_presigned_part_urls(store: S3BlobStore) -> None:
    assert isinstance(store, MultipartUploads)
    key = storage_file_key("w1", "f1", "file1")
    upload_id = await store.create_multipart(key, content_type="video/mp4")
    first, second = b"a" * (5 * 1024 * 1024), b"tail"
    parts = []
    async with httpx.AsyncClient() as http:
        for number, body in ((1, first), (2, second)):
            url = await store.presign_part(key, upload_id, number)
            answer = await http.put(url.url, content=body)
            assert answer.status_code == 200, answer.text
            parts.append(UploadPart(number, answer.headers["etag"]))
    info = await store.complete_multipart(key, upload_id, list(reversed(parts)))
    assert (info.size, info.content_type) == (len(first) + len(second), "video/mp4")
    assert (await store.get(key))[-4:] == b"tail"


async def test_aborted_multipart_leaves_no_object(store: S3BlobStore) -> None:
    upload_id = await store.create_multipart("big", content_type="application/zip")
    await store.abort_multipart("big", upload_id)
    assert await store.head("big") is None


async def test_bucket_is_created_at_start_and_checked(wealist_s3_endpoint: str) -> None:
    url = s3_bucket_url(wealist_s3_endpoint)
    first = S3BlobStore(S3Options.parse(url))
    await first.start()
    await first.put("x", b"1")
    await first.check()
    await first.close()
    again = S3BlobStore(S3Options.parse(url))  # an existing bucket is used as it is
    await again.start()
    assert await again.get("x") == b"1"
    await again.close()


async def test_unreachable_server_fails_at_start_naming_the_setting() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = S3BlobStore(S3Options.parse(f"s3://k:s@bucket?endpoint=http://127.0.0.1:{port}"))
    with pytest.raises(AdapterUnavailable, match="WEALIST_BLOBSTORE_URL") as raised:
        await store.start()
    assert ":s@" not in str(raised.value)


def test_url_options() -> None:
    aws = S3Options.parse("s3://my-bucket?region=eu-central-1")
    assert (aws.bucket, aws.endpoint, aws.region, aws.access_key) == ("my-bucket", None, "eu-central-1", None)
    minio = S3Options.parse("s3://AK:S%2FK@media?endpoint=https://minio:9000&verify=false")
    assert (minio.access_key, minio.secret_key, minio.endpoint, minio.verify) == (
        "AK",
        "S/K",
        "https://minio:9000",
        False,
    )
    for bad in ("s3://", "s3://b/path", "s3://b?endpoint=minio:9000", "s3://b?colour=red", "file://b"):
        with pytest.raises(AdapterError):
            S3Options.parse(bad)


def test_key_layout() -> None:
    assert profile_key("u1", "avatar") == "profiles/u1/avatar"
    assert board_attachment_key(7, "a1") == "boards/7/attachments/a1"
    assert storage_file_key("w", "f", "x") == "storage/w/f/x"
    assert video_key("r", "rec.mp4") == "video/r/rec.mp4"
    with pytest.raises(ValueError):
        profile_key("../u", "a/b")

"""Contract of the ``BlobStore`` port, run against every adapter.

Each adapter comes with a :class:`BlobHarness` that knows how a browser reaches its presigned URLs: the local
store's through the host's own routes (an in-process Starlette app), an S3 store's straight at the server.
The harness also says which rules that server enforces itself (moto, for one, checks no signature or expiry),
so a rule is asserted wherever it can be.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from starlette.applications import Starlette
from wealist_adapters.local_files.blobstore import LocalBlobStore
from wealist_adapters.s3.blobstore import S3BlobStore, S3Options

from wealist_core import (
    AdapterContext,
    AdapterUnavailable,
    BlobStore,
    ConfigurationError,
    NotFound,
    PresignedUrl,
    Settings,
)
from wealist_core.testing import s3_bucket_url

# --------------------------------------------------------------------------------------------- harnesses


@dataclass
class BlobHarness:
    """One adapter under test and how to use its presigned URLs."""

    store: BlobStore
    http: httpx.AsyncClient  # reaches the URLs the store signs
    tamper: Callable[[str], str]  # the same URL with a forged signature
    expire: Callable[[], None] | None  # make every URL signed so far expire; None: the server ignores expiry
    problem_json: bool  # refusals are the host's problem+json (an S3 server answers in its own XML)
    enforces_max_size: bool = True  # False where a presigned PUT cannot carry a size limit
    checks_signatures: bool = True  # False for moto, which accepts any signature

    async def upload(
        self,
        presigned: PresignedUrl,
        body: bytes | AsyncIterator[bytes],
        *,
        headers: Mapping[str, str | None] | None = None,
    ) -> httpx.Response:
        """Send ``body`` as a browser follows ``presigned``; ``headers`` replace (None: drop) its own."""
        sent = {**presigned.headers, **(headers or {})}
        clean = {name: value for name, value in sent.items() if value is not None}
        if presigned.fields:  # an S3 presigned POST: a form with the signed fields, then the file
            return await self.http.post(presigned.url, data=dict(presigned.fields), files={"file": body})
        return await self.http.request(presigned.method, presigned.url, content=body, headers=clean)

    async def download(self, presigned: PresignedUrl, **kwargs: object) -> httpx.Response:
        return await self.http.request(presigned.method, presigned.url, **kwargs)  # type: ignore[arg-type]


class FakeClock:
    """Unix time that a test moves forward instead of sleeping."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _tamper_local(url: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    last = query["signature"][-1]
    query["signature"] = query["signature"][:-1] + ("0" if last != "0" else "1")
    return urlunsplit(parts._replace(query=urlencode(query)))


async def _local_harness(tmp_path: Path) -> AsyncIterator[BlobHarness]:
    clock = FakeClock()
    store = LocalBlobStore(
        tmp_path / "blobs", secret_key="contract-secret", public_url="http://wealist.test", clock=clock
    )
    await store.start()
    app = Starlette(routes=list(store.routes()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:

        def expire() -> None:
            clock.now += 8 * 24 * 3600  # past the longest expiry a URL can have

        yield BlobHarness(store=store, http=http, tamper=_tamper_local, expire=expire, problem_json=True)
    await store.close()


def _tamper_s3(url: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    last = query["X-Amz-Signature"][-1]
    query["X-Amz-Signature"] = query["X-Amz-Signature"][:-1] + ("0" if last != "0" else "1")
    return urlunsplit(parts._replace(query=urlencode(query)))


async def _s3_harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobHarness]:
    endpoint = request.getfixturevalue("wealist_s3_endpoint")
    store = S3BlobStore(S3Options.parse(s3_bucket_url(endpoint)))
    await store.start()
    async with httpx.AsyncClient() as http:
        yield BlobHarness(
            store=store,
            http=http,
            tamper=_tamper_s3,
            expire=None,  # moto checks no expiry; test_s3_presigned_urls checks the signed parameters
            problem_json=False,
            enforces_max_size=False,  # a presigned PUT carries no size limit: confirming an upload checks it
            checks_signatures=False,
        )
    await store.close()


async def _local(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobHarness]:
    async for built in _local_harness(tmp_path):
        yield built


ADAPTERS = {"local": _local, "s3": _s3_harness}


@pytest.fixture(params=sorted(ADAPTERS))
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobHarness]:
    async for built in ADAPTERS[request.param](request, tmp_path):
        yield built


@pytest.fixture
def store(harness: BlobHarness) -> BlobStore:
    return harness.store


def assert_refused(harness: BlobHarness, response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    if harness.problem_json:
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == status
        assert problem["code"] == code
        assert "signature" not in problem.get("instance", "")  # the signed query is never echoed


def md5_etag(data: bytes) -> str:
    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'


# -------------------------------------------------------------------------------------- direct access


async def test_put_then_get_returns_the_bytes_and_head_describes_them(store: BlobStore) -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10
    info = await store.put("ws/123/avatar.png", data, content_type="image/png")
    assert (info.key, info.size, info.content_type) == ("ws/123/avatar.png", len(data), "image/png")
    assert info.etag
    assert await store.get("ws/123/avatar.png") == data
    assert await store.head("ws/123/avatar.png") == info


async def test_content_type_defaults_to_octet_stream_and_is_kept_as_given(store: BlobStore) -> None:
    await store.put("a/blob", b"x")
    await store.put("a/page", b"<p>hi</p>", content_type="text/html; charset=utf-8")
    assert (await store.head("a/blob")).content_type == "application/octet-stream"  # type: ignore[union-attr]
    assert (await store.head("a/page")).content_type == "text/html; charset=utf-8"  # type: ignore[union-attr]


async def test_put_replaces_an_object_and_its_etag(store: BlobStore) -> None:
    first = await store.put("doc.txt", b"one", content_type="text/plain")
    second = await store.put("doc.txt", b"two!", content_type="text/markdown")
    assert first.etag != second.etag
    assert await store.get("doc.txt") == b"two!"
    assert await store.head("doc.txt") == second


async def test_missing_key_is_not_found_and_has_no_head(store: BlobStore) -> None:
    with pytest.raises(NotFound):
        await store.get("ws/1/nothing-here")
    assert await store.head("ws/1/nothing-here") is None


async def test_delete_removes_the_object_and_deleting_again_is_fine(store: BlobStore) -> None:
    await store.put("ws/1/file", b"data")
    await store.delete("ws/1/file")
    assert await store.head("ws/1/file") is None
    with pytest.raises(NotFound):
        await store.get("ws/1/file")
    await store.delete("ws/1/file")


async def test_a_key_can_be_an_object_and_a_prefix_of_others(store: BlobStore) -> None:
    await store.put("ws/1", b"parent")
    await store.put("ws/1/child", b"child")
    assert await store.get("ws/1") == b"parent"
    assert await store.get("ws/1/child") == b"child"


async def test_empty_objects_are_objects(store: BlobStore) -> None:
    info = await store.put("empty", b"")
    assert info.size == 0
    assert await store.get("empty") == b""


BAD_KEYS = [
    "",
    "../escape",
    "ws/../../etc/passwd",
    "ws/..",
    "./a",
    "/etc/passwd",
    "nul\x00byte",
    "back\\slash",
    "a//b",
    "trailing/",
    "line\nbreak",
]


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
async def test_unsafe_keys_are_refused_everywhere(store: BlobStore, key: str) -> None:
    with pytest.raises(ValueError):
        await store.put(key, b"x")
    with pytest.raises(ValueError):
        await store.get(key)
    with pytest.raises(ValueError):
        await store.head(key)
    with pytest.raises(ValueError):
        await store.delete(key)
    with pytest.raises(ValueError):
        await store.presign_put(key, content_type="image/png", max_size=10)
    with pytest.raises(ValueError):
        await store.presign_get(key)


async def test_presign_refuses_nonsense_limits(store: BlobStore) -> None:
    with pytest.raises(ValueError):
        await store.presign_put("k", content_type="image/png", max_size=-1)
    with pytest.raises(ValueError):
        await store.presign_put("k", content_type="not a type", max_size=10)
    with pytest.raises(ValueError):
        await store.presign_put("k", content_type="image/png", max_size=10, expires_in=0)
    with pytest.raises(ValueError):
        await store.presign_get("k", filename="bad\r\nname")


# ---------------------------------------------------------------------------------------- presigned URLs


async def test_upload_then_download_through_presigned_urls(harness: BlobHarness) -> None:
    store, body = harness.store, b"hello, presigned world" * 100
    put = await store.presign_put("ws/7/files/report.pdf", content_type="application/pdf", max_size=len(body))
    assert put.method == "PUT" or put.fields
    uploaded = await harness.upload(put, body)
    assert uploaded.status_code in (200, 204), uploaded.text
    assert uploaded.headers["etag"] == md5_etag(body)

    info = await store.head("ws/7/files/report.pdf")
    assert info is not None
    assert (info.size, info.content_type, info.etag) == (len(body), "application/pdf", md5_etag(body))

    got = await harness.download(await store.presign_get("ws/7/files/report.pdf"))
    assert got.status_code == 200
    assert got.content == body
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-length"] == str(len(body))
    assert got.headers["etag"] == md5_etag(body)
    assert "attachment" not in got.headers.get("content-disposition", "")


async def test_presigned_urls_carry_keys_with_spaces_and_unicode(harness: BlobHarness) -> None:
    key = "ws/1/Résumé final (v2)?#.txt"
    put = await harness.store.presign_put(key, content_type="text/plain", max_size=100)
    assert (await harness.upload(put, b"bonjour")).status_code in (200, 204)
    assert await harness.store.get(key) == b"bonjour"
    got = await harness.download(await harness.store.presign_get(key))
    assert got.content == b"bonjour"


async def test_upload_of_exactly_max_size_is_accepted(harness: BlobHarness) -> None:
    put = await harness.store.presign_put("exact", content_type="image/png", max_size=16)
    assert (await harness.upload(put, b"x" * 16)).status_code in (200, 204)
    assert (await harness.store.head("exact")).size == 16  # type: ignore[union-attr]


async def test_upload_over_max_size_is_refused_and_stores_nothing(harness: BlobHarness) -> None:
    if not harness.enforces_max_size:
        pytest.skip("this server does not enforce the size limit of a presigned PUT")
    put = await harness.store.presign_put("big", content_type="image/png", max_size=16)
    response = await harness.upload(put, b"x" * 17)
    assert_refused(harness, response, 413, "PAYLOAD_TOO_LARGE")
    assert await harness.store.head("big") is None


async def test_streamed_upload_over_max_size_is_refused_and_keeps_the_old_object(
    harness: BlobHarness,
) -> None:
    """A chunked body declares no length: the limit is counted as it streams; nothing half-written stays."""
    if not harness.enforces_max_size:
        pytest.skip("this server does not enforce the size limit of a presigned PUT")
    await harness.store.put("ws/1/avatar.png", b"old picture", content_type="image/png")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 1000

    put = await harness.store.presign_put("ws/1/avatar.png", content_type="image/png", max_size=5000)
    response = await harness.upload(put, chunks())
    assert_refused(harness, response, 413, "PAYLOAD_TOO_LARGE")
    assert await harness.store.get("ws/1/avatar.png") == b"old picture"


async def test_expired_urls_are_refused(harness: BlobHarness) -> None:
    if harness.expire is None:
        pytest.skip("this server does not check the expiry of presigned URLs")
    await harness.store.put("old", b"data", content_type="text/plain")
    put = await harness.store.presign_put("new", content_type="text/plain", max_size=10, expires_in=60)
    get = await harness.store.presign_get("old", expires_in=60)
    harness.expire()
    assert_refused(harness, await harness.upload(put, b"data"), 403, "URL_EXPIRED")
    assert_refused(harness, await harness.download(get), 403, "URL_EXPIRED")
    assert await harness.store.head("new") is None


async def test_forged_signatures_are_refused(harness: BlobHarness) -> None:
    if not harness.checks_signatures:
        pytest.skip("this server checks no signature")
    await harness.store.put("secret", b"data", content_type="text/plain")
    put = await harness.store.presign_put("upload", content_type="text/plain", max_size=10)
    get = await harness.store.presign_get("secret")
    forged_put = PresignedUrl(harness.tamper(put.url), put.method, put.expires_at, put.headers, put.fields)
    forged_get = PresignedUrl(harness.tamper(get.url), get.method, get.expires_at, get.headers, get.fields)
    assert_refused(harness, await harness.upload(forged_put, b"data"), 403, "SIGNATURE_INVALID")
    assert_refused(harness, await harness.download(forged_get), 403, "SIGNATURE_INVALID")
    assert await harness.store.head("upload") is None


async def test_wrong_or_missing_content_type_is_refused(harness: BlobHarness) -> None:
    if not harness.checks_signatures:
        pytest.skip("this server checks no signature, and S3 refuses another content type by its signature")
    put = await harness.store.presign_put("pic", content_type="image/png", max_size=100)
    wrong = await harness.upload(put, b"<script>", headers={"Content-Type": "text/html"})
    missing = await harness.upload(put, b"<script>", headers={"Content-Type": None})
    for response in (wrong, missing):
        if harness.problem_json:
            assert_refused(harness, response, 415, "UNSUPPORTED_MEDIA_TYPE")
        else:  # S3 signs the content type: a different one breaks the signature
            assert response.status_code == 403
    assert await harness.store.head("pic") is None


async def test_download_with_filename_sets_content_disposition(harness: BlobHarness) -> None:
    await harness.store.put("ws/1/f1", b"%PDF-1.7", content_type="application/pdf")
    plain = await harness.download(await harness.store.presign_get("ws/1/f1", filename="Q3 report.pdf"))
    assert plain.headers["content-disposition"] == 'attachment; filename="Q3 report.pdf"'

    accented = await harness.download(await harness.store.presign_get("ws/1/f1", filename="Bilan été.pdf"))
    disposition = accented.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Bilan%20%C3%A9t%C3%A9.pdf" in disposition
    assert accented.content == b"%PDF-1.7"


async def test_download_of_a_missing_object_is_not_found(harness: BlobHarness) -> None:
    get = await harness.store.presign_get("ws/1/never-uploaded")
    response = await harness.download(get)
    if harness.problem_json:
        assert_refused(harness, response, 404, "NOT_FOUND")
    else:
        assert response.status_code in (403, 404)  # S3 says 403 when listing is not allowed


async def test_download_supports_ranges(harness: BlobHarness) -> None:
    """Media players seek with Range requests."""
    await harness.store.put("ws/1/clip.mp4", bytes(range(100)), content_type="video/mp4")
    get = await harness.store.presign_get("ws/1/clip.mp4")
    response = await harness.download(get, headers={"Range": "bytes=10-19"})
    assert response.status_code == 206
    assert response.content == bytes(range(10, 20))


# ------------------------------------------------------------------------ the local store's own rules


async def test_local_url_for_another_method_or_with_a_raised_limit_is_refused(harness: BlobHarness) -> None:
    if not isinstance(harness.store, LocalBlobStore):
        pytest.skip("checks the local store's URL format")
    get = await harness.store.presign_get("k")
    as_put = PresignedUrl(get.url, "PUT", get.expires_at, {"Content-Type": "text/plain"})
    assert_refused(harness, await harness.upload(as_put, b"data"), 403, "SIGNATURE_INVALID")

    put = await harness.store.presign_put("k", content_type="text/plain", max_size=4)
    raised = put.url.replace("max=4", "max=4000")
    assert raised != put.url
    response = await harness.upload(PresignedUrl(raised, "PUT", put.expires_at, put.headers), b"x" * 100)
    assert_refused(harness, response, 403, "SIGNATURE_INVALID")
    unsigned = put.url.split("&signature=")[0]
    response = await harness.upload(PresignedUrl(unsigned, "PUT", put.expires_at, put.headers), b"x")
    assert_refused(harness, response, 403, "SIGNATURE_INVALID")
    assert await harness.store.head("k") is None


async def test_local_upload_declaring_too_large_a_body_is_refused_before_it_is_read(
    harness: BlobHarness,
) -> None:
    if not isinstance(harness.store, LocalBlobStore):
        pytest.skip("checks the host's own upload route")
    read: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        for _ in range(4):
            read.append(b"z" * 256)
            yield read[-1]

    put = await harness.store.presign_put("huge", content_type="video/mp4", max_size=100)
    response = await harness.upload(put, body(), headers={"Content-Length": "1024"})
    assert_refused(harness, response, 413, "PAYLOAD_TOO_LARGE")
    assert read == []


async def test_local_head_answers_the_headers_without_the_body(harness: BlobHarness) -> None:
    if not isinstance(harness.store, LocalBlobStore):
        pytest.skip("checks the host's own download route")
    await harness.store.put("ws/1/h", b"12345", content_type="text/plain")
    get = await harness.store.presign_get("ws/1/h")
    response = await harness.http.head(get.url)
    assert response.status_code == 200
    assert response.headers["content-length"] == "5"
    assert response.content == b""


async def test_local_download_cannot_run_uploaded_html_as_a_page(harness: BlobHarness) -> None:
    if not isinstance(harness.store, LocalBlobStore):
        pytest.skip("the local store serves uploads from the app's own origin")
    await harness.store.put("ws/1/page.html", b"<script>alert(1)</script>", content_type="text/html")
    response = await harness.download(await harness.store.presign_get("ws/1/page.html"))
    assert response.headers["content-type"] == "text/html"
    assert response.headers["content-security-policy"] == "sandbox"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_local_store_from_settings_uses_the_data_dir_and_public_url(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_factory(public_url="https://wealist.example/")
    context = AdapterContext(settings.url_for("blobstore"), settings, "WEALIST_BLOBSTORE_URL")
    store = LocalBlobStore.from_context(context)
    await store.start()
    await store.put("ws/1/a.txt", b"a", content_type="text/plain")
    assert store.root == settings.data_dir / "blobs"
    assert any(path.is_file() for path in (settings.data_dir / "blobs").rglob("*"))
    url = (await store.presign_get("ws/1/a.txt")).url
    assert url.startswith("https://wealist.example/blobs/ws/1/a.txt?")
    await store.close()


def test_local_store_relative_url_is_relative_to_the_working_directory(
    settings_factory: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = settings_factory(blobstore_url="file://var/blobs")
    store = LocalBlobStore.from_context(AdapterContext("file://var/blobs", settings, "WEALIST_BLOBSTORE_URL"))
    assert store.root == tmp_path / "var" / "blobs"


async def test_local_store_without_secret_key_fails_at_start(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(secret_key="")
    store = LocalBlobStore.from_context(
        AdapterContext(settings.url_for("blobstore"), settings, "WEALIST_BLOBSTORE_URL")
    )
    with pytest.raises(ConfigurationError, match="WEALIST_SECRET_KEY"):
        await store.start()


async def test_local_store_in_an_unwritable_place_fails_at_start(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings = settings_factory()
    url = f"file://{blocker}/blobs"
    store = LocalBlobStore.from_context(AdapterContext(url, settings, "WEALIST_BLOBSTORE_URL"))
    with pytest.raises(AdapterUnavailable, match="WEALIST_BLOBSTORE_URL"):
        await store.start()

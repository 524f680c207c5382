"""``S3BlobStore``: the blob store port on S3 (AWS) or an S3-compatible server (MinIO), through aioboto3.

``s3://bucket?endpoint=http://minio:9000&region=us-east-1``. Without ``endpoint`` the store talks to AWS
(virtual-hosted addressing); with one it uses path-style addressing, which MinIO and most S3-compatible
servers need. Credentials come from the URL (``s3://KEY:SECRET@bucket``) or, when it names none, from the
standard AWS environment variables, shared configuration and instance/role credential chain.

Query options: ``endpoint``, ``region`` (default ``us-east-1``), ``addressing``
(``path``/``virtual``/``auto``), ``verify`` (``false`` to skip TLS verification, or a CA bundle path),
``create_bucket`` (``true`` by default: create the bucket at start when it is missing and the credentials
allow it), ``public_endpoint`` (the endpoint browsers reach presigned URLs at, when it differs from the one
the host uses).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aioboto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from wealist_core.adapters import AdapterContext
from wealist_core.blob_names import (
    content_disposition,
    validate_content_type,
    validate_filename,
    validate_key,
)
from wealist_core.errors import AdapterError, AdapterUnavailable, NotFound
from wealist_core.ports import BlobInfo, BlobStore, MultipartUploads, PresignedUrl, UploadPart
from wealist_core.settings import mask_url

__all__ = ["MAX_EXPIRES_IN", "MultipartPart", "S3BlobStore", "S3Options"]

MAX_EXPIRES_IN = 7 * 24 * 3600  # S3's limit for SigV4 presigned URLs
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchUpload"}


@dataclass(frozen=True, slots=True)
class S3Options:
    bucket: str
    endpoint: str | None = None
    public_endpoint: str | None = None
    region: str = "us-east-1"
    access_key: str | None = None
    secret_key: str | None = None
    addressing: str = "auto"
    verify: bool | str = True
    create_bucket: bool = True

    @classmethod
    def parse(cls, url: str, setting: str = "WEALIST_BLOBSTORE_URL") -> S3Options:
        def bad(what: str) -> AdapterError:
            return AdapterError(
                f"{setting} is {mask_url(url)}, {what}; set it like "
                "s3://bucket?endpoint=http://minio:9000&region=us-east-1 (no endpoint for AWS)."
            )

        parts = urlsplit(url)
        if parts.scheme.lower() != "s3":
            raise bad("which is not an s3:// URL")
        bucket = parts.hostname or ""
        if not bucket or parts.path.strip("/"):
            raise bad("which names no bucket (or a path after it)")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        known = {"endpoint", "public_endpoint", "region", "addressing", "verify", "create_bucket"}
        unknown = sorted(set(query) - known)
        if unknown:
            raise bad(f"which has unknown options {', '.join(unknown)}")
        addressing = query.get("addressing", "auto")
        if addressing not in ("auto", "path", "virtual"):
            raise bad("whose addressing is not path, virtual or auto")
        verify_text = query.get("verify", "true")
        verify: bool | str = (
            verify_text.lower() not in ("false", "0", "no")
            if verify_text.lower() in ("true", "false", "1", "0", "yes", "no")
            else verify_text
        )
        for name in ("endpoint", "public_endpoint"):
            value = query.get(name)
            if value is not None and urlsplit(value).scheme not in ("http", "https"):
                raise bad(f"whose {name} is not an http(s) URL")
        return cls(
            bucket=bucket,
            endpoint=query.get("endpoint"),
            public_endpoint=query.get("public_endpoint"),
            region=query.get("region", "us-east-1"),
            access_key=unquote(parts.username) if parts.username else None,
            secret_key=unquote(parts.password) if parts.password else None,
            addressing=addressing,
            verify=verify,
            create_bucket=query.get("create_bucket", "true").lower() not in ("false", "0", "no"),
        )


MultipartPart = UploadPart  # the name this module used first


class S3BlobStore(BlobStore, MultipartUploads):
    """Objects in one bucket; presigned URLs go straight to the S3 server, never through the host."""

    def __init__(self, options: S3Options, *, url: str = "", setting: str = "WEALIST_BLOBSTORE_URL") -> None:
        self.options = options
        self.bucket = options.bucket
        self.url = url or f"s3://{options.bucket}"
        self._setting = setting
        self._session = aioboto3.Session(
            aws_access_key_id=options.access_key,
            aws_secret_access_key=options.secret_key,
            region_name=options.region,
        )
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None
        self._signer: Any = None

    @classmethod
    def from_context(cls, context: AdapterContext) -> S3BlobStore:
        return cls(S3Options.parse(context.url, context.setting), url=context.url, setting=context.setting)

    # ------------------------------------------------------------------------------------------ lifecycle

    def _config(self) -> Config:
        style = self.options.addressing
        if style == "auto":
            style = "path" if self.options.endpoint else "virtual"
        return Config(
            signature_version="s3v4",
            s3={"addressing_style": style},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        )

    async def start(self) -> None:
        if self._client is not None:
            return
        stack = contextlib.AsyncExitStack()
        common = {"config": self._config(), "verify": self.options.verify}
        try:
            self._client = await stack.enter_async_context(
                self._session.client("s3", endpoint_url=self.options.endpoint, **common)
            )
            if self.options.public_endpoint:
                self._signer = await stack.enter_async_context(
                    self._session.client("s3", endpoint_url=self.options.public_endpoint, **common)
                )
            else:
                self._signer = self._client
            self._stack = stack
            await self._ensure_bucket()
        except BaseException:
            self._client = self._signer = self._stack = None
            await stack.aclose()
            raise

    async def _ensure_bucket(self) -> None:
        try:
            await self._client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if (code not in _MISSING and code != "NoSuchBucket") or not self.options.create_bucket:
                raise self._unavailable(exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(exc) from exc
        try:
            kwargs: dict[str, Any] = {"Bucket": self.bucket}
            if self.options.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.options.region}
            await self._client.create_bucket(**kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code not in ("BucketAlreadyOwnedByYou",):
                raise self._unavailable(exc) from exc

    async def check(self) -> None:
        try:
            await self._require().head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable(exc) from exc

    async def close(self) -> None:
        stack, self._stack = self._stack, None
        self._client = self._signer = None
        if stack is not None:
            await stack.aclose()

    def _require(self) -> Any:
        if self._client is None:
            raise AdapterUnavailable(f"The S3 blob store ({self._setting}) is not started.")
        return self._client

    def _unavailable(self, exc: Exception) -> AdapterUnavailable:
        where = self.options.endpoint or "AWS S3"
        return AdapterUnavailable(
            f"{self._setting} names bucket {self.bucket!r} at {where}, which cannot be used ({exc}); "
            "check the endpoint, the credentials and that the bucket exists or may be created."
        )

    # --------------------------------------------------------------------------------------------- objects

    async def _call(self, name: str, **kwargs: Any) -> Any:
        try:
            return await getattr(self._require(), name)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise NotFound(f"No blob has the key {kwargs.get('Key')!r}.") from exc
            raise self._unavailable(exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(exc) from exc

    async def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> BlobInfo:
        validate_key(key)
        content_type = validate_content_type(content_type)
        answer = await self._call("put_object", Key=key, Body=bytes(data), ContentType=content_type)
        return BlobInfo(key=key, size=len(data), content_type=content_type, etag=answer.get("ETag"))

    async def get(self, key: str) -> bytes:
        validate_key(key)
        answer = await self._call("get_object", Key=key)
        async with answer["Body"] as body:
            return bytes(await body.read())

    async def head(self, key: str) -> BlobInfo | None:
        validate_key(key)
        try:
            answer = await self._call("head_object", Key=key)
        except NotFound:
            return None
        return BlobInfo(
            key=key,
            size=int(answer.get("ContentLength", 0)),
            content_type=str(answer.get("ContentType") or "application/octet-stream"),
            etag=answer.get("ETag"),
        )

    async def delete(self, key: str) -> None:
        validate_key(key)
        with contextlib.suppress(NotFound):
            await self._call("delete_object", Key=key)

    async def copy(self, source: str, target: str) -> BlobInfo:
        """Copy ``source`` to ``target`` inside the bucket (server side); ``NotFound`` without a source."""
        validate_key(source)
        validate_key(target)
        await self._call("copy_object", Key=target, CopySource={"Bucket": self.bucket, "Key": source})
        info = await self.head(target)
        if info is None:
            raise NotFound(f"No blob has the key {source!r}.")
        return info

    # --------------------------------------------------------------------------------------- signed URLs

    async def presign_put(
        self, key: str, *, content_type: str, max_size: int, expires_in: int = 900
    ) -> PresignedUrl:
        """A presigned PUT signing the content type; S3 cannot bound a PUT's size, so confirm checks it."""
        validate_key(key)
        content_type = validate_content_type(content_type)
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0:
            raise ValueError(f"max_size must be a whole number of bytes >= 0, not {max_size!r}.")
        expires = self._expiry(expires_in)
        url = await self._presign("put_object", {"Key": key, "ContentType": content_type}, expires_in)
        return PresignedUrl(url=url, method="PUT", expires_at=expires, headers={"Content-Type": content_type})

    async def presign_get(
        self, key: str, *, expires_in: int = 900, filename: str | None = None
    ) -> PresignedUrl:
        validate_key(key)
        params: dict[str, Any] = {"Key": key}
        if filename is not None:
            validate_filename(filename)
            params["ResponseContentDisposition"] = content_disposition(filename)
        expires = self._expiry(expires_in)
        url = await self._presign("get_object", params, expires_in)
        return PresignedUrl(url=url, method="GET", expires_at=expires, headers={})

    async def _presign(self, operation: str, params: dict[str, Any], expires_in: int) -> str:
        if self._signer is None:
            raise AdapterUnavailable(f"The S3 blob store ({self._setting}) is not started.")
        url = await self._signer.generate_presigned_url(
            operation, Params={"Bucket": self.bucket, **params}, ExpiresIn=expires_in
        )
        return str(url)

    @staticmethod
    def _expiry(expires_in: int) -> dt.datetime:
        if (
            isinstance(expires_in, bool)
            or not isinstance(expires_in, int)
            or not 0 < expires_in <= MAX_EXPIRES_IN
        ):
            raise ValueError(
                f"expires_in must be between 1 and {MAX_EXPIRES_IN} seconds, not {expires_in!r}."
            )
        return dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=expires_in)

    # --------------------------------------------------------------------------------------- multipart

    async def create_multipart(self, key: str, *, content_type: str) -> str:
        """Start a multipart upload of ``key``; its upload id."""
        validate_key(key)
        content_type = validate_content_type(content_type)
        answer = await self._call("create_multipart_upload", Key=key, ContentType=content_type)
        return str(answer["UploadId"])

    async def presign_part(
        self, key: str, upload_id: str, part_number: int, *, expires_in: int = 3600
    ) -> PresignedUrl:
        """A URL a browser PUTs part ``part_number`` (1..10000) to; the answer's ETag names the part."""
        validate_key(key)
        if isinstance(part_number, bool) or not isinstance(part_number, int):
            raise ValueError(f"part_number must be a whole number, not {part_number!r}.")
        if not 1 <= part_number <= 10_000:
            raise ValueError(f"part_number must be between 1 and 10000, not {part_number!r}.")
        expires = self._expiry(expires_in)
        url = await self._presign(
            "upload_part", {"Key": key, "UploadId": upload_id, "PartNumber": part_number}, expires_in
        )
        return PresignedUrl(url=url, method="PUT", expires_at=expires, headers={})

    async def complete_multipart(self, key: str, upload_id: str, parts: Sequence[UploadPart]) -> BlobInfo:
        validate_key(key)
        if not parts:
            raise ValueError("A multipart upload completes with at least one part.")
        ordered = sorted(parts, key=lambda part: part.number)
        await self._call(
            "complete_multipart_upload",
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in ordered]},
        )
        info = await self.head(key)
        if info is None:
            raise NotFound(f"No blob has the key {key!r}.")
        return info

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        validate_key(key)
        with contextlib.suppress(NotFound):
            await self._call("abort_multipart_upload", Key=key, UploadId=upload_id)

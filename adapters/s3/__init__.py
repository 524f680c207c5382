"""The S3 adapter of the BlobStore port: MinIO and AWS S3 alike, through aioboto3.

``s3://bucket?endpoint=http://minio:9000&region=us-east-1`` (no endpoint: AWS); credentials from the URL's
user and password or the standard AWS environment and credential chain.
"""

from __future__ import annotations

from wealist_core import AdapterContext, AdapterSpec, Resource, hookimpl


def _blobstore(context: AdapterContext) -> Resource:
    from wealist_adapters.s3.blobstore import S3BlobStore

    return S3BlobStore.from_context(context)


@hookimpl
def wealist_register_adapters() -> list[AdapterSpec]:
    return [AdapterSpec("blobstore", ("s3",), _blobstore, "S3BlobStore")]

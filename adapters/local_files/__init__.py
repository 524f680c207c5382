"""Blobs as files under the data directory; the host itself serves their HMAC-signed URLs."""

from __future__ import annotations

from wealist_core import AdapterContext, AdapterSpec, Resource, hookimpl


def _blobstore(context: AdapterContext) -> Resource:
    from wealist_adapters.local_files.blobstore import LocalBlobStore

    return LocalBlobStore.from_context(context)


@hookimpl
def wealist_register_adapters() -> list[AdapterSpec]:
    return [AdapterSpec("blobstore", ("file",), _blobstore, "LocalBlobStore")]

"""The S3 adapter of the BlobStore port: MinIO and AWS S3 alike, through aioboto3."""

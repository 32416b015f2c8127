"""The media bucket: presigned GET URLs for Instagram, and a peek at objects for validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from igpub.repositories import aws

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

HEAD_BYTES = 128 * 1024


@dataclass(frozen=True)
class ObjectPeek:
    key: str
    size: int
    head: bytes


class MediaStore:
    def __init__(self, bucket: str, *, client: S3Client | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = aws.s3()
        return self._client

    def presigned_url(self, key: str, ttl_s: int) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=ttl_s
        )

    def peek(self, key: str) -> ObjectPeek | None:
        """Size and first bytes of an object; None when it does not exist."""
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{HEAD_BYTES - 1}")
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        head = resp["Body"].read()
        content_range = resp.get("ContentRange", "")
        size = int(content_range.rsplit("/", 1)[-1]) if "/" in content_range else int(resp["ContentLength"])
        return ObjectPeek(key=key, size=size, head=head)

    def upload(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    # ---- igpub.media.prepare (the MediaFunction): originals in, renditions out, next to each other

    def read(self, key: str) -> bytes:
        """The whole object (an image: at most tens of MB)."""
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def download(self, key: str, path: str) -> None:
        """The object into a file (a video: streamed to ephemeral storage, not held in memory)."""
        self.client.download_file(self.bucket, key, path)

    def upload_file(self, key: str, path: str, content_type: str) -> None:
        self.client.upload_file(path, self.bucket, key, ExtraArgs={"ContentType": content_type})

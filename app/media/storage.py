"""Where media bytes live: one small interface, a local directory and an S3-compatible bucket.

Every call that touches the disk or the network runs in a worker thread (boto3 and file I/O
block), so the event loop never waits on them. Callers never hold a transaction open across
them (DESIGN §10): the service writes the file, then commits the row.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import quote, urlencode

from app.media.signing import Signer

# What our keys look like: `<asset id>/<name>.<ext>`; anything else (`..`, `/etc`) is refused.
KEY = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/[a-z0-9]+\.[a-z]+$"
)


class StorageError(Exception):
    """The backend failed (a full disk, an unreachable bucket)."""


def valid_key(key: str) -> bool:
    return KEY.fullmatch(key) is not None


class Storage(Protocol):
    name: str

    async def put(self, key: str, file: IO[bytes], content_type: str) -> None:
        """Store `file` (read from its current position to the end) under `key`."""

    async def get(self, key: str) -> bytes:
        """The bytes stored under `key` (FileNotFoundError if none)."""

    async def delete(self, key: str) -> None:
        """Remove `key`; a key already gone is no error."""

    def public_url(self, key: str) -> str:
        """A lasting URL of `key` (served to anyone where the backend makes it public)."""

    def signed_url(self, key: str, seconds: int) -> str:
        """A URL of `key` that works for `seconds` and is refused once changed or expired."""


class LocalStorage:
    """Files under a directory, served by our own `GET /api/media/files/{key}` (public assets)
    and its signed form (`?expires=&signature=`, HMAC-SHA256 of key and expiry)."""

    name = "local"

    def __init__(self, root: Path, *, public_base: str, signer: Signer) -> None:
        self.root = Path(root)
        self.public_base = public_base.rstrip("/")
        self.signer = signer

    def path(self, key: str) -> Path:
        if not valid_key(key):
            raise FileNotFoundError(key)
        return self.root / key

    def _write(self, key: str, file: IO[bytes]) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed, so a reader never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                shutil.copyfileobj(file, out)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def put(self, key: str, file: IO[bytes], content_type: str) -> None:
        try:
            await asyncio.to_thread(self._write, key, file)
        except OSError as error:
            raise StorageError(f"Could not store the file: {error.strerror}.") from error

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self.path(key).read_bytes)

    def _delete(self, key: str) -> None:
        path = self.path(key)
        path.unlink(missing_ok=True)
        # The asset's folder goes with its last file.
        with_files = path.parent
        if with_files.exists() and not any(with_files.iterdir()):
            with_files.rmdir()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, key)

    def public_url(self, key: str) -> str:
        return f"{self.public_base}/{quote(key)}"

    def signed_url(self, key: str, seconds: int) -> str:
        expires, signature = self.signer.sign(key, seconds)
        return f"{self.public_url(key)}?{urlencode({'expires': expires, 'signature': signature})}"


class S3Storage:
    """An S3-compatible bucket through boto3 (in worker threads). Signed URLs are S3's own
    presigned GETs; public URLs work as far as the bucket's policy makes objects public."""

    name = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        public_url: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url.rstrip("/") if endpoint_url else None
        self.region = region
        self._credentials = (access_key_id, secret_access_key)
        self._public = public_url.rstrip("/") if public_url else None
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id=self._credentials[0],
                aws_secret_access_key=self._credentials[1],
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
            )
        return self._client

    async def put(self, key: str, file: IO[bytes], content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            await asyncio.to_thread(
                self.client.upload_fileobj,
                file,
                self.bucket,
                key,
                ExtraArgs={"ContentType": content_type},
            )
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"Could not store the file: {error}") from error

    def _get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from error
            raise
        with body:
            data: bytes = body.read()
        return data

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._get, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=key)

    def public_url(self, key: str) -> str:
        if self._public:
            return f"{self._public}/{quote(key)}"
        base = self.endpoint_url or f"https://s3.{self.region}.amazonaws.com"
        return f"{base}/{self.bucket}/{quote(key)}"

    def signed_url(self, key: str, seconds: int) -> str:
        # Presigning is local computation (no request), so it may run on the loop.
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds
        )
        return url

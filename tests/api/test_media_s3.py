"""The S3-compatible storage backend against a real S3 server (moto's server mode, started
here on a free port; boto3 talks HTTP to it, nothing is mocked): upload, the 302 to a
presigned URL followed to the bytes, the bucket refusing unsigned reads, thumbnails written to
the bucket, and delete removing every object.

moto checks neither a presigned URL's signature nor its expiry (it answers 200 to both), so
the refusal of tampered and expired links is shown on the local backend
(tests/api/test_media.py); real S3 refuses both with 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from app.db import Database
from app.jobs import run_pending
from app.media import media_for
from app.media.storage import S3Storage
from tests.conftest import client_for
from tests.support.media import PDF, asset_row, png, uploaded

CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        **CREDENTIALS,
    )


@pytest.fixture
def s3_app(make_app: Any, s3_endpoint: str) -> Any:
    bucket = f"media-{uuid.uuid4().hex[:12]}"
    client(s3_endpoint).create_bucket(Bucket=bucket)
    return make_app(
        media_backend="s3",
        s3_bucket=bucket,
        s3_endpoint_url=s3_endpoint,
        s3_access_key_id="test",
        s3_secret_access_key="test",
    )


def keys(endpoint: str, bucket: str) -> list[str]:
    listed = client(endpoint).list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


async def test_s3_upload_signed_redirect_followed_to_the_bytes(
    s3_app: Any, s3_endpoint: str, admin_key: str, database: Database
) -> None:
    storage = media_for(s3_app.state.settings).storage
    assert isinstance(storage, S3Storage)
    async with client_for(s3_app, headers={"x-api-key": admin_key}) as http:
        asset = await uploaded(http, PDF, filename="manual.pdf")
        redirect = await http.get(f"/api/media/{asset['id']}", params={"signed": "true"})
        public = await http.get(f"/api/media/{asset['id']}")
    row = await asset_row(database, asset["id"])
    assert row is not None
    assert keys(s3_endpoint, storage.bucket) == [row.storage_key]
    assert redirect.status_code == 302
    location = redirect.headers["location"]
    assert location.startswith(f"{s3_endpoint}/{storage.bucket}/{row.storage_key}?")
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=3600" in location
    async with httpx.AsyncClient() as outside:
        followed = await outside.get(location)
        unsigned = await outside.get(public.headers["location"])
    assert followed.status_code == 200 and followed.content == PDF
    # The bucket is private: its public URL works only where its policy makes objects public.
    assert public.status_code == 302 and unsigned.status_code == 403


async def test_s3_thumbnails_go_to_the_bucket_and_delete_removes_every_object(
    s3_app: Any, s3_endpoint: str, admin_key: str, database: Database
) -> None:
    storage = media_for(s3_app.state.settings).storage
    assert isinstance(storage, S3Storage)
    async with client_for(s3_app, headers={"x-api-key": admin_key}) as http:
        asset = await uploaded(http, png(900, 300))
        assert await run_pending(database, s3_app.state.settings, queue="media") == 1
        row = await asset_row(database, asset["id"])
        assert row is not None and (row.width, row.height) == (900, 300)
        assert keys(s3_endpoint, storage.bucket) == sorted(row.stored_keys())
        assert len(row.stored_keys()) == 3
        deleted = await http.delete(f"/api/media/{asset['id']}")
    assert deleted.status_code == 200
    assert keys(s3_endpoint, storage.bucket) == []
    with pytest.raises(ClientError):
        client(s3_endpoint).head_object(Bucket=storage.bucket, Key=row.storage_key)

"""One-shot init: create the S3 buckets the platform needs in MinIO.

Idempotent (an existing bucket is fine) and patient (MinIO may still be
starting), so `docker compose up` can run it on every start.
"""

from __future__ import annotations

import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


def log(message: str) -> None:
    print(f"minio-init: {message}", flush=True)


def main() -> int:
    endpoint = os.environ.get("MINIO_ENDPOINT_URL", "http://minio:9000")
    buckets = [b.strip() for b in os.environ.get("MINIO_BUCKETS", "mlflow").split(",") if b.strip()]
    deadline = time.monotonic() + float(os.environ.get("MINIO_INIT_TIMEOUT_SECONDS", "120"))
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=os.environ["MINIO_ROOT_USER"],
        aws_secret_access_key=os.environ["MINIO_ROOT_PASSWORD"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )
    while True:
        try:
            existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
            break
        except (BotoCoreError, ClientError) as exc:
            if time.monotonic() > deadline:
                log(f"giving up: cannot reach MinIO at {endpoint}: {exc}")
                return 1
            log(f"waiting for MinIO at {endpoint}: {exc}")
            time.sleep(2)
    for bucket in buckets:
        if bucket in existing:
            log(f"bucket {bucket!r} already exists")
            continue
        try:
            s3.create_bucket(Bucket=bucket)
        except ClientError as exc:
            # Another init racing us is fine; anything else is a real error.
            if exc.response.get("Error", {}).get("Code") not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                log(f"cannot create bucket {bucket!r}: {exc}")
                return 1
        log(f"created bucket {bucket!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

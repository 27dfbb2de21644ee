"""The artifact buckets as a tar stream, and back: run by backup.sh and restore.sh
inside the minio-init image (boto3, and the MinIO address and login from compose).

    python -c "$(cat objects.py)" export   > objects.tar   # buckets.json + objects/<bucket>/<key>
    python -c "$(cat objects.py)" import   < objects.tar   # prints what the buckets then hold, as JSON

A stream on stdin/stdout, so nothing is written inside the container and no host
folder is mounted into it. `import` makes each bucket hold exactly the archive's
objects (it deletes any other), then reads every object back and hashes it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tarfile

import boto3
from botocore.config import Config


def client():
    return boto3.client(
        "s3",
        endpoint_url=os.environ.get("MINIO_ENDPOINT_URL", "http://minio:9000"),
        aws_access_key_id=os.environ["MINIO_ROOT_USER"],
        aws_secret_access_key=os.environ["MINIO_ROOT_PASSWORD"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5}),
    )


def buckets() -> list[str]:
    return [b.strip() for b in os.environ.get("MINIO_BUCKETS", "mlflow").split(",") if b.strip()]


def keys(s3, bucket: str) -> list[str]:
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        found += [item["Key"] for item in page.get("Contents", [])]
    return found


def export() -> int:
    s3 = client()
    summary = {}
    with tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for bucket in buckets():
            count = size = 0
            for key in keys(s3, bucket):
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                info = tarfile.TarInfo(f"objects/{bucket}/{key}")
                info.size = len(body)
                info.mode = 0o600
                tar.addfile(info, io.BytesIO(body))
                count += 1
                size += len(body)
            summary[bucket] = {"objects": count, "bytes": size}
        listing = json.dumps(summary, indent=2).encode()
        info = tarfile.TarInfo("buckets.json")
        info.size = len(listing)
        info.mode = 0o600
        tar.addfile(info, io.BytesIO(listing))
    return 0


def restore() -> int:
    s3 = client()
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    wanted: dict[str, set[str]] = {}
    with tarfile.open(fileobj=sys.stdin.buffer, mode="r|") as tar:
        for member in tar:
            parts = member.name.split("/", 2)
            if member.name == "buckets.json":
                for bucket in json.load(tar.extractfile(member)):  # type: ignore[arg-type]
                    wanted.setdefault(bucket, set())
                continue
            if not member.isfile() or len(parts) != 3 or parts[0] != "objects":
                continue
            _, bucket, key = parts
            if bucket not in existing:
                s3.create_bucket(Bucket=bucket)
                existing.add(bucket)
            s3.put_object(Bucket=bucket, Key=key, Body=tar.extractfile(member).read())  # type: ignore[union-attr]
            wanted.setdefault(bucket, set()).add(key)
    # What a fresh stack wrote before the restore (a first training run) goes.
    result = {}
    for bucket, restored in wanted.items():
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
        objects = {}
        for key in keys(s3, bucket):
            if key not in restored:
                s3.delete_object(Bucket=bucket, Key=key)
                print(f"restore: deleted {bucket}/{key}, not in the archive", file=sys.stderr)
                continue
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            objects[key] = {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        result[bucket] = objects
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit({"export": export, "import": restore}[sys.argv[1]]())

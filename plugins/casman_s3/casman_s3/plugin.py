"""Registers backend ``s3``. Imports nothing heavy: boto3 loads only in the factory."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from casman.storage import (
    Backend,
    BackendConfigError,
    BackendOption,
    BackendSpec,
    Capabilities,
    CostModel,
    hookimpl,
)
from casman_s3.settings import check_endpoint, network_options, network_settings, where

DEFAULT_REGION = "us-east-1"
ENDPOINT_EXAMPLE = "https://minio.example.org:9000"
NETWORK_OPTIONS = network_options("CASMAN_S3")


def _text(settings: Mapping[str, Any], name: str) -> str | None:
    value = settings.get(name)
    if value is None or str(value).strip() == "":
        return None
    return str(value).strip()


def make_backend(settings: Mapping[str, Any]) -> Backend:
    """The factory: an S3Backend for the resolved options (no network I/O here).

    Every setting is checked before boto3 is imported, so a mistake is one line naming
    the variable to fix.
    """
    bucket = _text(settings, "bucket")
    if bucket is None:
        raise BackendConfigError("backend s3 needs a bucket: set CASMAN_S3_BUCKET")
    access_key = _text(settings, "access_key_id")
    secret_key = _text(settings, "secret_access_key")
    if (access_key is None) != (secret_key is None):
        missing = "AWS_SECRET_ACCESS_KEY" if secret_key is None else "AWS_ACCESS_KEY_ID"
        raise BackendConfigError(
            f"backend s3 has only half of its credentials: set {missing} too, or neither "
            "to use the default AWS credential chain"
        )
    endpoint = _text(settings, "endpoint")
    if endpoint is not None:
        endpoint = check_endpoint(
            endpoint, where("s3", "endpoint", "CASMAN_S3_ENDPOINT"), ENDPOINT_EXAMPLE
        )
    network = network_settings(settings, "s3", NETWORK_OPTIONS)
    # BackendOption has one variable; AWS tools read AWS_REGION as well.
    region = _text(settings, "region") or os.environ.get("AWS_REGION") or DEFAULT_REGION

    from casman_s3.backend import S3Backend

    return S3Backend(
        bucket,
        region=region,
        endpoint=endpoint,
        access_key_id=access_key,
        secret_access_key=secret_key,
        session_token=_text(settings, "session_token"),
        connect_timeout=network.connect_timeout,
        read_timeout=network.read_timeout,
        max_attempts=network.max_attempts,
    )


SPEC = BackendSpec(
    name="s3",
    factory=make_backend,
    description="AWS S3 or an S3-compatible endpoint (MinIO, Ceph…), one object per key.",
    options=(
        BackendOption(
            name="bucket",
            description="Bucket that holds the backups.",
            env="CASMAN_S3_BUCKET",
            required=True,
        ),
        BackendOption(
            name="region",
            description=f"AWS region (also read from AWS_REGION; default {DEFAULT_REGION}).",
            env="AWS_DEFAULT_REGION",
        ),
        BackendOption(
            name="endpoint",
            description=(
                "Endpoint URL (http:// or https://) of an S3-compatible store; empty for AWS."
            ),
            env="CASMAN_S3_ENDPOINT",
        ),
        BackendOption(
            name="access_key_id",
            description="Access key id; empty to use the default AWS credential chain.",
            env="AWS_ACCESS_KEY_ID",
        ),
        BackendOption(
            name="secret_access_key",
            description="Secret access key; empty to use the default AWS credential chain.",
            env="AWS_SECRET_ACCESS_KEY",
            secret=True,
        ),
        BackendOption(
            name="session_token",
            description="Session token of temporary credentials, if any.",
            env="AWS_SESSION_TOKEN",
            secret=True,
        ),
        *NETWORK_OPTIONS,
    ),
    capabilities=Capabilities(
        # AWS S3 has both If-None-Match and If-Match on PutObject (since 2024); an older
        # S3-compatible store may not.
        conditional_writes=True,
        # S3 is pay-as-you-go: count nothing against a limit unless `s3: {quota: …}` is set.
        cost_model=CostModel(default_limits={}, label="S3"),
        max_single_put_bytes=5 * 1024**3,
    ),
)


@hookimpl
def casman_register_backends(register: Callable[[BackendSpec], None]) -> None:
    register(SPEC)

"""Registers backend ``r2``. Imports nothing heavy: boto3 loads only in the factory."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from casman_s3.settings import check_endpoint, network_options, network_settings, where

from casman.storage import (
    Backend,
    BackendConfigError,
    BackendOption,
    BackendSpec,
    Capabilities,
    CostModel,
    hookimpl,
)

DEFAULT_BUCKET = "casman-databases"
REGION = "auto"
ENDPOINT_TEMPLATE = "https://{account_id}.r2.cloudflarestorage.com"
ENDPOINT_EXAMPLE = "https://<account id>.eu.r2.cloudflarestorage.com"
NETWORK_OPTIONS = network_options("R2")
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9]{1,64}")

R2_FREE_TIER = CostModel(
    # R2 bills PUT/LIST (and COPY, multipart) as Class A, GET/HEAD as Class B; DELETE is
    # free. A 412 on a conditional PUT is billed too (the wrapper counts it).
    classes={"put": "A", "list": "A", "get": "B", "head": "B", "delete": None},
    default_limits={"storage_gb": 10, "class_a": 1_000_000, "class_b": 10_000_000},
    label="R2 Free Tier",
)


def _text(settings: Mapping[str, Any], name: str) -> str | None:
    value = settings.get(name)
    if value is None or str(value).strip() == "":
        return None
    return str(value).strip()


def endpoint_for(settings: Mapping[str, Any]) -> str:
    """``endpoint`` if set (tests, jurisdictions such as ``.eu``), else the account's URL.

    Both are checked here, so a malformed value is one line naming R2_ENDPOINT or
    R2_ACCOUNT_ID instead of a botocore traceback.
    """
    endpoint = _text(settings, "endpoint")
    if endpoint is not None:
        return check_endpoint(endpoint, where("r2", "endpoint", "R2_ENDPOINT"), ENDPOINT_EXAMPLE)
    account_id = _text(settings, "account_id")
    if account_id is None:
        raise BackendConfigError(
            "backend r2 needs R2_ACCOUNT_ID (or R2_ENDPOINT) to know which account to use"
        )
    if not _ACCOUNT_ID.fullmatch(account_id):
        raise BackendConfigError(
            f"{where('r2', 'account_id', 'R2_ACCOUNT_ID')} must be your Cloudflare account id "
            "(letters and digits, as in the dashboard's URL); or set R2_ENDPOINT instead"
        )
    return ENDPOINT_TEMPLATE.format(account_id=account_id)


def make_backend(settings: Mapping[str, Any]) -> Backend:
    """The factory: an S3Backend on the R2 endpoint (no network I/O here).

    Unlike ``s3`` there is no default credential chain for R2: both keys are required.
    """
    missing = [
        env
        for name, env in (
            ("access_key_id", "R2_ACCESS_KEY_ID"),
            ("secret_access_key", "R2_SECRET_ACCESS_KEY"),
        )
        if _text(settings, name) is None
    ]
    if missing:
        raise BackendConfigError(f"backend r2 needs credentials: set {' and '.join(missing)}")
    endpoint = endpoint_for(settings)
    network = network_settings(settings, "r2", NETWORK_OPTIONS)
    from casman_s3 import Hints, S3Backend

    hints = Hints(
        service="R2",
        bucket="R2_BUCKET_NAME",
        endpoint="R2_ENDPOINT / R2_ACCOUNT_ID",
        access_key="R2_ACCESS_KEY_ID",
        secret_key="R2_SECRET_ACCESS_KEY",
        connect_timeout="R2_CONNECT_TIMEOUT",
        read_timeout="R2_READ_TIMEOUT",
    )
    return S3Backend(
        _text(settings, "bucket_name") or DEFAULT_BUCKET,
        region=REGION,
        endpoint=endpoint,
        access_key_id=_text(settings, "access_key_id"),
        secret_access_key=_text(settings, "secret_access_key"),
        hints=hints,
        max_single_put_bytes=SPEC.capabilities.max_single_put_bytes,
        connect_timeout=network.connect_timeout,
        read_timeout=network.read_timeout,
        max_attempts=network.max_attempts,
    )


SPEC = BackendSpec(
    name="r2",
    factory=make_backend,
    description="Cloudflare R2 (S3 API), with the free tier's quota enforced by default.",
    options=(
        BackendOption(
            name="account_id",
            description="Cloudflare account id; gives the endpoint unless `endpoint` is set.",
            env="R2_ACCOUNT_ID",
        ),
        BackendOption(
            name="access_key_id",
            description="R2 API token's access key id.",
            env="R2_ACCESS_KEY_ID",
            required=True,
        ),
        BackendOption(
            name="secret_access_key",
            description="R2 API token's secret access key.",
            env="R2_SECRET_ACCESS_KEY",
            secret=True,
            required=True,
        ),
        BackendOption(
            name="bucket_name",
            description="Bucket that holds the backups.",
            env="R2_BUCKET_NAME",
            default=DEFAULT_BUCKET,
        ),
        BackendOption(
            name="endpoint",
            description=(
                "Endpoint URL (http:// or https://); overrides the account's (tests, EU "
                "jurisdiction)."
            ),
            env="R2_ENDPOINT",
        ),
        *NETWORK_OPTIONS,
    ),
    capabilities=Capabilities(
        conditional_writes=True,
        cost_model=R2_FREE_TIER,
        max_single_put_bytes=5 * 1000**3,  # R2's single-upload limit, rounded down
    ),
)


@hookimpl
def casman_register_backends(register: Callable[[BackendSpec], None]) -> None:
    register(SPEC)

"""Backend ``r2``: conformance against moto (R2_ENDPOINT → the server) and its options."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

import pytest
from casman_r2 import R2_FREE_TIER, endpoint_for
from casman_s3 import S3Backend
from casman_s3.settings import Network, mask_url
from casman_s3.testing import blackhole, closed_port

from casman.storage import (
    BackendConfigError,
    BackendHandle,
    BackendUnavailableError,
    QuotaExceededError,
    Storage,
    content_md5,
    quota,
)
from casman.testing import (
    BackendConformance,
    describe_settings,
    get_backend_spec,
    get_plugin_manager,
    resolve_options,
)
from casman.testing.moto import FAKE_CREDENTIALS

SECRET = "r2-secret-that-must-never-be-printed-0123456789"


def r2_environ(moto_server: str, bucket: str) -> dict[str, str]:
    return {
        "R2_ENDPOINT": moto_server,
        "R2_ACCESS_KEY_ID": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "R2_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "R2_BUCKET_NAME": bucket,
    }


def open_r2(environ: Mapping[str, str]) -> S3Backend:
    spec = get_backend_spec("r2")
    backend = spec.factory(resolve_options(spec, {}, environ))
    assert isinstance(backend, S3Backend)
    return backend


class TestR2Conformance(BackendConformance):
    backend_name = "r2"

    @pytest.fixture
    def backend(self, moto_server: str, s3_bucket: str) -> S3Backend:
        return open_r2(r2_environ(moto_server, s3_bucket))


def test_spec_declares_r2_billing() -> None:
    capabilities = get_backend_spec("r2").capabilities
    assert capabilities.conditional_writes
    model = capabilities.cost_model
    assert model is R2_FREE_TIER
    assert dict(model.classes) == {"put": "A", "list": "A", "get": "B", "head": "B", "delete": None}
    assert dict(model.default_limits) == {
        "storage_gb": 10,
        "class_a": 1_000_000,
        "class_b": 10_000_000,
    }
    assert model.label == "R2 Free Tier"
    secret = {o.name for o in get_backend_spec("r2").options if o.secret}
    assert secret == {"secret_access_key"}


def test_endpoint_is_derived_from_the_account() -> None:
    assert endpoint_for({"account_id": "abc123"}) == "https://abc123.r2.cloudflarestorage.com"
    assert endpoint_for({"account_id": "abc123", "endpoint": "http://x:9"}) == "http://x:9"
    backend = open_r2(
        {"R2_ACCOUNT_ID": "abc123", "R2_ACCESS_KEY_ID": "id", "R2_SECRET_ACCESS_KEY": SECRET}
    )
    assert backend.endpoint == "https://abc123.r2.cloudflarestorage.com"
    assert backend.bucket == "casman-databases"


def test_account_or_endpoint_is_required() -> None:
    with pytest.raises(BackendConfigError) as caught:
        open_r2({"R2_ACCESS_KEY_ID": "id", "R2_SECRET_ACCESS_KEY": SECRET})
    assert "R2_ACCOUNT_ID" in str(caught.value)
    assert "R2_ENDPOINT" in str(caught.value)


def test_missing_credentials_are_named_not_shown() -> None:
    spec = get_backend_spec("r2")
    with pytest.raises(BackendConfigError) as caught:
        resolve_options(spec, {}, {"R2_ACCOUNT_ID": "abc", "R2_ACCESS_KEY_ID": "id"})
    assert "R2_SECRET_ACCESS_KEY" in str(caught.value)
    with pytest.raises(BackendConfigError) as caught:
        spec.factory({"account_id": "abc", "secret_access_key": SECRET})
    assert str(caught.value) == "backend r2 needs credentials: set R2_ACCESS_KEY_ID"
    with pytest.raises(BackendConfigError, match="R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY"):
        spec.factory({"account_id": "abc"})


def test_wrong_bucket_names_r2_variable(moto_server: str, s3_bucket: str) -> None:
    environ = r2_environ(moto_server, "no-such-r2-bucket")
    environ["R2_SECRET_ACCESS_KEY"] = SECRET
    with pytest.raises(BackendConfigError) as caught:
        open_r2(environ).list_page("", None, 1)
    assert str(caught.value) == "bucket no-such-r2-bucket does not exist; check R2_BUCKET_NAME"
    assert SECRET not in repr(caught.value)


def test_quota_counts_real_requests_with_the_free_tier_by_default(
    moto_server: str, s3_bucket: str, tmp_path: Path
) -> None:
    """No ``quota`` setting: the registered free tier applies and real requests count."""
    spec = get_backend_spec("r2")
    backend = open_r2(r2_environ(moto_server, s3_bucket))
    handle = BackendHandle("r2", spec, backend, {}, tmp_path)
    store = Storage(handle, get_plugin_manager().hook, purpose="backup")
    store.put("backups/a", b"abc", {}, if_none_match="*")
    store.put("backups/b", b"de", {})
    store.list_page("backups/")
    store.head("backups/a")
    store.delete("backups/b")
    used = quota.usage(handle)
    assert (used.class_a, used.class_b, used.storage_bytes) == (3, 1, 3)
    assert used.limits == {"storage_gb": 10, "class_a": 1_000_000, "class_b": 10_000_000}
    assert used.label == "R2 Free Tier"
    assert (tmp_path / ".r2_quota_tracker.json").exists()


def test_configured_quota_blocks_before_sending(
    moto_server: str, s3_bucket: str, tmp_path: Path
) -> None:
    spec = get_backend_spec("r2")
    backend = open_r2(r2_environ(moto_server, s3_bucket))
    handle = BackendHandle("r2", spec, backend, {"quota": {"class_a": 2}}, tmp_path)
    store = Storage(handle, get_plugin_manager().hook, purpose="backup")
    store.put("backups/a", b"abc", {})
    store.put("backups/b", b"abc", {})
    with pytest.raises(QuotaExceededError, match="operation 'backup' blocked"):
        store.put("backups/c", b"g", {}, md5=content_md5(b"g"))
    keys = [info.key for info in backend.list_page("backups/", None, 10).objects]
    assert keys == ["backups/a", "backups/b"]


# -- endpoint, network bounds, metadata, README ------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("ftp://x", "uses an unsupported scheme ftp://"),
        ("not a url", "contains spaces or control characters"),
        ("localhost:9000", "has no http:// or https:// scheme"),
    ],
)
def test_malformed_r2_endpoint_names_r2_endpoint(value: str, problem: str) -> None:
    with pytest.raises(BackendConfigError) as caught:
        open_r2({"R2_ENDPOINT": value, "R2_ACCESS_KEY_ID": "id", "R2_SECRET_ACCESS_KEY": SECRET})
    assert str(caught.value) == (
        f"R2_ENDPOINT (or r2.endpoint in config.yaml) {problem}: set it to an http:// or "
        "https:// URL with a host, e.g. https://<account id>.eu.r2.cloudflarestorage.com"
    )


def test_malformed_account_id_names_r2_account_id() -> None:
    with pytest.raises(BackendConfigError) as caught:
        open_r2(
            {"R2_ACCOUNT_ID": "abc/def@x", "R2_ACCESS_KEY_ID": "id", "R2_SECRET_ACCESS_KEY": SECRET}
        )
    assert str(caught.value).startswith(
        "R2_ACCOUNT_ID (or r2.account_id in config.yaml) must be your Cloudflare account id"
    )
    assert "abc/def" not in str(caught.value)


def test_network_options_are_declared_with_r2_names() -> None:
    options = {o.name: o for o in get_backend_spec("r2").options}
    assert options["connect_timeout"].env == "R2_CONNECT_TIMEOUT"
    assert options["read_timeout"].env == "R2_READ_TIMEOUT"
    assert options["max_attempts"].env == "R2_MAX_ATTEMPTS"
    assert (
        options["connect_timeout"].default,
        options["read_timeout"].default,
        options["max_attempts"].default,
    ) == ("5", "20", "1")
    environ = {"R2_ACCOUNT_ID": "abc", "R2_ACCESS_KEY_ID": "id", "R2_SECRET_ACCESS_KEY": SECRET}
    assert open_r2(environ).network == Network(5.0, 20.0, 1)
    with pytest.raises(BackendConfigError) as caught:
        open_r2({**environ, "R2_MAX_ATTEMPTS": "99"})
    assert str(caught.value).startswith(
        "R2_MAX_ATTEMPTS (or r2.max_attempts in config.yaml) must be a whole number from 1 to 10"
    )


def test_blackholed_r2_head_fails_within_r2_read_timeout() -> None:
    with blackhole() as server:
        backend = open_r2(
            {
                "R2_ENDPOINT": server.url,
                "R2_ACCESS_KEY_ID": "id",
                "R2_SECRET_ACCESS_KEY": SECRET,
                "R2_READ_TIMEOUT": "1",
                "R2_MAX_ATTEMPTS": "1",
            }
        )
        with pytest.raises(BackendUnavailableError) as caught:
            backend.head("k")
    # one connection that was never answered, and the 1 s timeout is the one that ended it
    # (the message names the timeout in force); no stopwatch, which a busy machine breaks
    assert server.connections == 1
    assert str(caught.value) == (
        f"R2 endpoint {server.url} did not answer within 1 s; try again later or raise "
        "R2_READ_TIMEOUT"
    )
    assert caught.value.request_sent is True


def test_r2_endpoint_password_is_masked_everywhere() -> None:
    password = "r2-endpoint-password-4471"
    endpoint = closed_port().replace("http://", f"http://tok:{password}@")
    environ = {
        "R2_ENDPOINT": endpoint,
        "R2_ACCESS_KEY_ID": "id",
        "R2_SECRET_ACCESS_KEY": SECRET,
        "R2_MAX_ATTEMPTS": "1",
    }
    spec = get_backend_spec("r2")
    options = resolve_options(spec, {}, environ)
    backend = open_r2(environ)
    with pytest.raises(BackendUnavailableError) as caught:
        backend.head("k")
    assert caught.value.request_sent is False
    shown = [
        str(caught.value),
        repr(caught.value),
        repr(backend),
        repr(describe_settings(spec, options)),
    ]
    assert all(password not in text and SECRET not in text for text in shown)
    assert mask_url(endpoint) in str(caught.value)


def test_non_ascii_metadata_round_trips_through_r2(moto_server: str, s3_bucket: str) -> None:
    backend = open_r2(r2_environ(moto_server, s3_bucket))
    metadata = {"operation": "Ωmega ✓ café", "note": "=?utf-8?b?eA==?=", "blank": ""}
    backend.put("k", b"x", metadata=metadata, content_md5=content_md5(b"x"))
    assert dict(backend.head("k").metadata) == metadata
    assert dict(backend.get("k")[1].metadata) == metadata


def test_readme_commands_parse() -> None:
    """Every ``casman …`` line of the README is accepted by the CLI (``--backend`` placement)."""
    from click.testing import CliRunner

    from casman.cli import cli

    readme = Path(__file__).resolve().parents[1] / "README.md"
    commands: list[list[str]] = []
    in_block = False
    for line in readme.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_block = not in_block
        elif in_block and line.startswith("casman "):
            commands.append(shlex.split(line.partition("#")[0])[1:])
    assert ["sync", "--backend", "r2", "backup"] in commands
    for args in commands:
        result = CliRunner().invoke(cli, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)

"""Backend ``s3`` passes casman's conformance suite against a moto server over HTTP."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from casman_s3 import S3Backend

from casman.storage import content_md5
from casman.testing import BackendConformance


class TestS3Conformance(BackendConformance):
    backend_name = "s3"

    @pytest.fixture
    def backend(self, moto_server: str, s3_bucket: str) -> S3Backend:
        return S3Backend(s3_bucket, endpoint=moto_server)


def test_list_reports_storage_class(moto_server: str, s3_bucket: str) -> None:
    backend = S3Backend(s3_bucket, endpoint=moto_server)
    backend.put("a/b", b"x", metadata={}, content_md5=content_md5(b"x"))
    (info,) = backend.list_page("a/", None, 10).objects
    assert info.storage_class == "STANDARD"
    assert info.last_modified is not None


def test_factory_reads_the_resolved_options(moto_server: str, s3_bucket: str) -> None:
    from casman.testing import get_backend_spec, resolve_options

    spec = get_backend_spec("s3")
    environ = {"CASMAN_S3_BUCKET": s3_bucket, "CASMAN_S3_ENDPOINT": moto_server}
    backend = spec.factory(resolve_options(spec, {}, environ))
    assert isinstance(backend, S3Backend)
    assert backend.bucket == s3_bucket
    assert backend.endpoint == moto_server
    assert backend.list_page("", None, 10).objects == ()


def readme_commands(readme: Path) -> list[list[str]]:
    """The ``casman …`` lines of a README's code blocks, as argument lists (comments cut)."""
    commands: list[list[str]] = []
    in_block = False
    for line in readme.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_block = not in_block
        elif in_block and line.startswith("casman "):
            commands.append(shlex.split(line.partition("#")[0])[1:])
    return commands


def test_readme_commands_parse() -> None:
    """Every command the README shows is accepted by casman's CLI (``--backend`` placement)."""
    from click.testing import CliRunner

    from casman.cli import cli

    commands = readme_commands(Path(__file__).resolve().parents[1] / "README.md")
    assert ["sync", "--backend", "s3", "backup"] in commands
    for args in commands:
        result = CliRunner().invoke(cli, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)

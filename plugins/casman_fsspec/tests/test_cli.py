"""``casman sync --backend fsspec`` end to end: sync, checkpoint, list, repair, maintain,
over a real SFTP server on 127.0.0.1 (through paramiko and through sshfs) and over
``memory://``, through the real CLI.

The SFTP password travels in ``CASMAN_FSSPEC_OPTIONS`` or config.yaml and must never be
printed. A filesystem without atomic writes is published to with plain writes: nothing
conditional is sent, and nothing is lost.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import fsspec
import pytest
from casman_fsspec.backend import FsspecBackend
from fsspec.implementations.memory import MemoryFileSystem

from casman.storage import content_md5
from casman.testing import CasmanRunner

from .conftest import SFTPLogin


def _add_parts(casman: CasmanRunner, count: int) -> None:
    casman.ok("parts", "add", "ANTENNA", str(count), "1")
    casman.ok("parts", "add", "LNA", str(count), "1")


def _parts(casman: CasmanRunner) -> list[str]:
    return sorted(p["part_number"] for p in json.loads(casman.ok("parts", "list", "--json").stdout))


def _round_trip(casman: CasmanRunner, secret: str | None = None) -> dict[str, Any]:
    """Checkpoint, list, damage, repair, sync again, maintain: what a user does."""

    def sync(*args: str) -> str:
        output = casman.ok("sync", "--backend", "fsspec", *args).output
        assert secret is None or secret not in output
        return output

    _add_parts(casman, 2)
    out = sync("backup")
    assert "parts.db: checkpoint backups/parts.db/" in out
    listing = json.loads(sync("list", "--json"))
    (checkpoint,) = listing["checkpoints"]
    assert set(checkpoint["keys"]) == {"parts.db", "assembled_casm.db"}

    before = _parts(casman)
    (casman.database_dir / "parts.db").write_bytes(b"\x00" * 4096)
    casman.fails("parts", "list")
    assert "parts.db was damaged: set aside" in sync("restore")
    assert _parts(casman) == before

    _add_parts(casman, 1)
    sync("sync")
    status = json.loads(sync("status", "--json"))
    assert status["reachable"] is True and status["backend"] == "fsspec"
    report = json.loads(sync("maintain", "--json"))
    assert report["problems"] == {}
    assert set(checkpoint["keys"].values()) <= set(report["verified"])
    return dict(checkpoint)


def test_backup_list_restore_over_sftp(casman_runner: CasmanRunner, sftp: SFTPLogin) -> None:
    folder = f"nas-{uuid.uuid4().hex[:10]}/casman"
    casman = casman_runner.with_env(
        CASMAN_FSSPEC_URL=sftp.url(folder),
        CASMAN_FSSPEC_OPTIONS=json.dumps(sftp.options()),
    )
    checkpoint = _round_trip(casman, secret=sftp.password)
    # on the server: plain SQLite files, metadata beside them, no lock or temp file left
    stored = sftp.server.root / folder / str(checkpoint["keys"]["parts.db"])
    with sqlite3.connect(f"file:{stored}?mode=ro", uri=True) as connection:
        assert connection.execute("select count(*) from parts").fetchone() == (4,)
    connection.close()
    names = sorted(p.name for p in (sftp.server.root / folder).rglob("*") if p.is_file())
    assert [n for n in names if n.endswith("@lock") or n.endswith(".tmp")] == []
    assert "head.json" in names and "head.json@meta.json" in names


def test_a_second_site_syncs_from_sftp_configured_in_config_yaml(
    casman_runner: CasmanRunner, sftp: SFTPLogin, tmp_path: Path
) -> None:
    folder = f"nas-{uuid.uuid4().hex[:10]}"
    config = tmp_path / "config.yaml"
    config.write_text(
        "fsspec:\n"
        f"  url: {sftp.url(folder)}\n"
        "  options:\n"
        + "".join(f"    {name}: {json.dumps(value)}\n" for name, value in sftp.options().items())
    )
    site_a = casman_runner.with_env(CASMAN_CONFIG=str(config))
    _add_parts(site_a, 2)
    site_a.ok("sync", "--backend", "fsspec", "backup")
    site_b = CasmanRunner(tmp_path / "site-b", {"CASMAN_CONFIG": str(config)})
    (tmp_path / "site-b").mkdir()
    out = site_b.ok("sync", "--backend", "fsspec", "sync").output
    assert "received" in out and sftp.password not in out
    assert _parts(site_b) == _parts(site_a)
    status = site_b.ok("sync", "--backend", "fsspec", "status").output
    assert sftp.password not in status


def test_backup_list_restore_over_memory(casman_runner: CasmanRunner) -> None:
    url = f"memory://casman-{uuid.uuid4().hex[:10]}"
    casman = casman_runner.with_env(CASMAN_FSSPEC_URL=url)
    checkpoint = _round_trip(casman)
    fs = fsspec.filesystem("memory")
    path = url.removeprefix("memory:/") + "/" + str(checkpoint["keys"]["parts.db"])
    assert fs.cat_file(path)[:16] == b"SQLite format 3\x00"  # the plain database


class NoAtomicWrites(MemoryFileSystem):  # type: ignore[misc]
    """A filesystem fsspec knows but casman knows no atomic operation of."""

    protocol = "noatomic"


def test_a_filesystem_without_atomic_writes_is_published_to_with_plain_writes(
    casman_runner: CasmanRunner, tmp_path: Path
) -> None:
    """What docs/writing-a-backend.md and the README promise for such a filesystem."""
    fsspec.register_implementation("noatomic", NoAtomicWrites, clobber=True)
    url = f"noatomic://plain-{uuid.uuid4().hex}"
    backend = FsspecBackend(url)
    assert not backend.capabilities.conditional_writes and backend.guarantees.startswith("none")
    with pytest.raises(NotImplementedError, match="no atomic conditional writes"):
        backend.put("k", b"1", metadata={}, content_md5=content_md5(b"1"), if_none_match="*")
    site_a = casman_runner.with_env(CASMAN_FSSPEC_URL=url)
    _add_parts(site_a, 1)
    done = site_a.with_env(CASMAN_TRACE_PLUGINS="1").ok("sync", "--backend", "fsspec", "backup")
    assert "parts.db: checkpoint backups/parts.db/" in done.stdout
    puts = [line for line in done.stderr.splitlines() if " op=put " in line]
    assert any("key=head.json" in line for line in puts)
    assert any("key=array.json" in line for line in puts)
    assert [line for line in puts if "if_none_match" in line or "if_match" in line] == []
    site_b = CasmanRunner(tmp_path / "site-b", {"CASMAN_FSSPEC_URL": url})
    (tmp_path / "site-b").mkdir()
    assert "received" in site_b.ok("sync", "--backend", "fsspec", "sync").output
    assert _parts(site_b) == _parts(site_a)


def test_a_missing_protocol_package_is_one_line(casman_runner: CasmanRunner) -> None:
    casman = casman_runner.with_env(CASMAN_FSSPEC_URL="nosuchproto://x/y")
    failed = casman.fails("sync", "--backend", "fsspec", "backup")
    assert "fsspec does not know the protocol 'nosuchproto'" in failed.output
    assert len(failed.output.strip().splitlines()) == 1


@pytest.mark.parametrize("options", ["not json", "[1, 2]"])
def test_bad_options_are_one_line(casman_runner: CasmanRunner, options: str) -> None:
    casman = casman_runner.with_env(CASMAN_FSSPEC_URL="memory://x", CASMAN_FSSPEC_OPTIONS=options)
    failed = casman.fails("sync", "--backend", "fsspec", "list")
    assert "CASMAN_FSSPEC_OPTIONS must be a JSON object" in failed.output

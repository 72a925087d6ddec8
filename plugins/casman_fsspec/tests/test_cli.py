"""``casman sync --backend fsspec`` end to end: backup, list, restore, maintain, sync, over a
real SFTP server on 127.0.0.1 and over ``memory://``, through the real CLI.

The SFTP password travels in ``CASMAN_FSSPEC_OPTIONS`` or config.yaml and must never be
printed. A filesystem without atomic writes is refused for publishing, in one line.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from casman.testing import CasmanRunner
from casman.testing.sftp import SFTPServerInfo


def _add_parts(casman: CasmanRunner, count: int) -> None:
    casman.ok("parts", "add", "ANTENNA", str(count), "1")
    casman.ok("parts", "add", "LNA", str(count), "1")


def _parts(casman: CasmanRunner) -> list[str]:
    return sorted(p["part_number"] for p in json.loads(casman.ok("parts", "list", "--json").stdout))


def _round_trip(casman: CasmanRunner, secret: str | None = None) -> list[dict[str, object]]:
    """Backup, list, damage, restore, back up again, maintain: what a user does."""

    def sync(*args: str) -> str:
        output = casman.ok("sync", "--backend", "fsspec", *args).output
        assert secret is None or secret not in output
        return output

    _add_parts(casman, 2)
    assert "parts.db: backed up to backups/parts.db/" in sync("backup")
    listing = json.loads(sync("list", "--json"))
    assert {entry["database"] for entry in listing} == {"parts.db", "assembled_casm.db"}
    parts_entry = next(entry for entry in listing if entry["database"] == "parts.db")
    assert parts_entry["records"] == 4

    before = _parts(casman)
    (casman.database_dir / "parts.db").write_bytes(b"\x00" * 4096)
    casman.fails("parts", "list")
    assert "restored parts.db" in sync("restore", str(parts_entry["key"]), "--no-backup")
    assert _parts(casman) == before

    _add_parts(casman, 1)
    sync("backup")
    status = json.loads(sync("status", "--json"))
    assert status["reachable"] is True and status["backend"] == "fsspec"
    report = json.loads(sync("maintain", "--json"))
    assert report["problems"] == {} and len(report["verified"]) == 3  # assembled: unchanged
    listing = json.loads(sync("list", "--json"))
    return listing  # type: ignore[no-any-return]


def test_backup_list_restore_over_sftp(
    casman_runner: CasmanRunner, sftp_server: SFTPServerInfo
) -> None:
    folder = f"nas-{uuid.uuid4().hex[:10]}/casman"
    casman = casman_runner.with_env(
        CASMAN_FSSPEC_URL=sftp_server.url(folder),
        CASMAN_FSSPEC_OPTIONS=json.dumps(sftp_server.options()),
    )
    listing = _round_trip(casman, secret=sftp_server.password)
    # on the server: plain SQLite files, metadata beside them, no lock or temp file left
    newest = next(e for e in listing if e["database"] == "parts.db")
    stored = sftp_server.root / folder / str(newest["key"])
    with sqlite3.connect(f"file:{stored}?mode=ro", uri=True) as connection:
        assert connection.execute("select count(*) from parts").fetchone() == (6,)
    connection.close()
    names = sorted(p.name for p in (sftp_server.root / folder).rglob("*") if p.is_file())
    assert [n for n in names if n.endswith("@lock") or n.endswith(".tmp")] == []
    assert "HEAD.json" in names and "HEAD.json@meta.json" in names


def test_a_second_site_syncs_from_sftp_configured_in_config_yaml(
    casman_runner: CasmanRunner, sftp_server: SFTPServerInfo, tmp_path: Path
) -> None:
    folder = f"nas-{uuid.uuid4().hex[:10]}"
    config = tmp_path / "config.yaml"
    config.write_text(
        "fsspec:\n"
        f"  url: {sftp_server.url(folder)}\n"
        "  options:\n"
        + "".join(
            f"    {name}: {json.dumps(value)}\n" for name, value in sftp_server.options().items()
        )
    )
    site_a = casman_runner.with_env(CASMAN_CONFIG=str(config))
    _add_parts(site_a, 2)
    site_a.ok("sync", "--backend", "fsspec", "backup")
    site_b = CasmanRunner(tmp_path / "site-b", {"CASMAN_CONFIG": str(config)})
    (tmp_path / "site-b").mkdir()
    out = site_b.ok("sync", "--backend", "fsspec", "sync").output
    assert "fast-forwarded" in out and sftp_server.password not in out
    assert _parts(site_b) == _parts(site_a)
    status = site_b.ok("sync", "--backend", "fsspec", "status").output
    assert sftp_server.password not in status


def test_backup_list_restore_over_memory(casman_runner: CasmanRunner) -> None:
    url = f"memory://casman-{uuid.uuid4().hex[:10]}"
    casman = casman_runner.with_env(CASMAN_FSSPEC_URL=url)
    listing = _round_trip(casman)
    fs = fsspec.filesystem("memory")
    newest = next(e for e in listing if e["database"] == "parts.db")
    path = url.removeprefix("memory:/") + "/" + str(newest["key"])
    assert fs.cat_file(path)[:16] == b"SQLite format 3\x00"  # the plain database


class NoAtomicWrites(MemoryFileSystem):  # type: ignore[misc]
    """A filesystem fsspec knows but casman knows no atomic operation of."""

    protocol = "noatomic"


def test_a_filesystem_without_atomic_writes_is_refused_for_publishing(
    casman_runner: CasmanRunner,
) -> None:
    fsspec.register_implementation("noatomic", NoAtomicWrites, clobber=True)
    casman = casman_runner.with_env(CASMAN_FSSPEC_URL=f"noatomic://plain-{uuid.uuid4().hex}")
    _add_parts(casman, 1)
    failed = casman.fails("sync", "--backend", "fsspec", "backup")
    assert "no conditional writes" in failed.output
    assert len(failed.output.strip().splitlines()) == 1
    plugins = json.loads(casman.ok("plugins", "--json").stdout)
    spec = next(b for b in plugins["backends"] if b["name"] == "fsspec")
    assert spec["plugin"] == "fsspec"


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

"""Checkpoints are made rarely and by policy (``backup_on_hours``), never per change."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from casman.config import load_config
from casman.db import parts
from casman.db.connection import open_databases
from casman.domain.parts import PartType
from casman.domain.timestamps import utc_now
from casman.sync.engine import converge
from casman.sync.session import Session, open_session
from casman.sync.store.head import read_head
from casman.sync.uploader import checkpoint_if_due


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(tmp_path / "store"))
    monkeypatch.setenv("CASMAN_AUTO_BACKUP", "false")
    monkeypatch.delenv("CASMAN_CONFIG", raising=False)
    config = dataclasses.replace(load_config(), database_dir=tmp_path / "db")
    return open_session(config, "local")


def _scan(session: Session) -> None:
    conn = open_databases(session.database_dir)
    parts.add_parts(conn, PartType.ANTENNA, 1, "P1")
    conn.close()
    converge(session)


def _later(session: Session, hours: float) -> Session:
    moment = utc_now() + timedelta(hours=hours)
    return dataclasses.replace(session, clock=lambda: moment)


def test_the_first_checkpoint_then_one_per_period_with_changes(session: Session) -> None:
    _scan(session)
    assert checkpoint_if_due(session, session.config) is not None  # none existed
    _scan(session)
    assert checkpoint_if_due(session, session.config) is None  # younger than a day
    assert checkpoint_if_due(_later(session, 25), session.config) is not None
    head = read_head(session.storage)
    assert head is not None and len(head.checkpoints) == 2
    # a day later without any change: nothing new to keep
    assert checkpoint_if_due(_later(session, 50), session.config) is None


def test_no_checkpoint_without_changes_or_when_turned_off(session: Session) -> None:
    converge(session)
    assert checkpoint_if_due(session, session.config) is None
    _scan(session)
    off = dataclasses.replace(
        session.config, sync=dataclasses.replace(session.config.sync, backup_on_hours=0)
    )
    assert checkpoint_if_due(session, off) is None

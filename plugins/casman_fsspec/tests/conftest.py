"""Servers on 127.0.0.1 from casman.testing: SFTP (asyncssh) and S3 (moto), per session.

Imported rather than named in ``pytest_plugins``: pytest only accepts ``pytest_plugins``
in the top-level conftest, and this one sits below the repository's rootdir.
"""

from casman.testing.cli import casman_runner
from casman.testing.moto import moto_server, s3_bucket
from casman.testing.sftp import sftp_server

__all__ = ["casman_runner", "moto_server", "s3_bucket", "sftp_server"]

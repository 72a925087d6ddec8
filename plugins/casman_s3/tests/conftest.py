"""The moto server fixtures from casman.testing.

Imported rather than named in ``pytest_plugins``: pytest only accepts ``pytest_plugins``
in the top-level conftest, and this one sits below the repository's rootdir.
"""

from casman.testing.moto import moto_server, s3_bucket

__all__ = ["moto_server", "s3_bucket"]

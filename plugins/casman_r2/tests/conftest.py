"""The moto server fixtures from casman.testing (imported: see casman_s3's conftest)."""

from casman.testing.moto import moto_server, s3_bucket

__all__ = ["moto_server", "s3_bucket"]

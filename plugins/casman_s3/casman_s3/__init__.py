"""casman storage backend ``s3``: AWS S3 and S3-compatible endpoints.

:class:`S3Backend` is also the client ``casman-r2`` builds on. Importing this package does
not import boto3; constructing a backend does.
"""

from casman_s3.backend import S3Backend
from casman_s3.errors import Hints

__all__ = ["Hints", "S3Backend"]

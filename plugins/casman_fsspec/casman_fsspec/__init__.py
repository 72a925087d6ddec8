"""casman backend ``fsspec``: any filesystem fsspec knows (sftp, gcs, azure, webdav, smb, s3
through s3fs, memory, file) as a backup store.

The plugin module (:mod:`casman_fsspec.plugin`) is what the ``casman`` entry point loads;
fsspec and the protocol's own package are imported only when a command opens the store.
"""

__version__ = "0.2.0"

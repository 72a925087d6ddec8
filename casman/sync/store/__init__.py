"""The store side of sync: keys, the array's identity, the head index, record segments and
checkpoints. Every request goes through :class:`casman.storage.operations.Storage` (and so
through the ``casman_storage_op`` hook); everything read is checked here before the site
sees it."""

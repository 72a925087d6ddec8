"""casman storage backend ``r2``: Cloudflare R2 through casman-s3's client.

R2 speaks the S3 API; what differs is configuration (account endpoint, region ``auto``),
the names users set (``R2_*``) and billing, which the quota wrapper enforces from the cost
model registered in :mod:`casman_r2.plugin`.
"""

from casman_r2.plugin import R2_FREE_TIER, SPEC, endpoint_for, make_backend

__all__ = ["R2_FREE_TIER", "SPEC", "endpoint_for", "make_backend"]

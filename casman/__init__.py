"""casman: the assembly manager of the CASM radio-telescope array."""

__version__ = "0.1.0"

"""Pure domain rules of the CASM array: no I/O, no casman imports outside this package."""

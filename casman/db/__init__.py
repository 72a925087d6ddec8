"""SQLite storage: the two databases of the spec, one module per table family."""

"""One module per CLI command (see `nncells.cli`)."""

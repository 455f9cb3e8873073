"""What a run produces: the in-memory result and its summary (`result`), sinks and the Parquet
files and datasets (`store`)."""

"""data_api: serves the UCI Covertype data in timed batches, per group."""

"""Root pytest configuration: keep the CLI entry module out of doctest collection."""

collect_ignore = ["src/adaptive2/__main__.py"]

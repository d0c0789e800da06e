"""Reference data files shipped with the package (each value carries its source)."""

"""Sichuan divisions, the five carbon-sink zones and the former poverty counties (see offsets.regions)."""

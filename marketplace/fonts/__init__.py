"""Fonts for the documents the marketplace renders (certificates): their sources and how they are embedded."""

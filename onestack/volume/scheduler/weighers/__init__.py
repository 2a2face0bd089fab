"""Cinder's pool weighers, one class per file."""

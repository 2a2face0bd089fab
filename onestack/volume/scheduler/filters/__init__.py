"""Cinder's pool filters, one class per file."""

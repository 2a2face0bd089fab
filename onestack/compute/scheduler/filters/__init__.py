"""Host filters, one class per module; registry.py maps their names to classes."""

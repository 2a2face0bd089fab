"""The object ring: which devices hold each partition (``ring.py``) and how it is built (``builder.py``)."""

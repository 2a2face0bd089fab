"""The conductor: the one place agents' reports become rows, and where builds are orchestrated."""

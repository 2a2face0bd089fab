"""HTTP clients services use to reach each other when they run in separate processes."""

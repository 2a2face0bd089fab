"""onestack: a cloud operating system with OpenStack's APIs."""

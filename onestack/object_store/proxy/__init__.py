"""The proxy: Swift's API (accounts, containers, objects) as a pipeline of middleware over the
controllers, in front of the container service (database) and the object servers (the ring)."""

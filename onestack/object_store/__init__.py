"""Object storage (Swift v1 at /object-store, and an S3 front door): proxy, ring, object agents."""

"""Block storage (Cinder v3): volumes, types, snapshots, backups, attachments, its scheduler and agents."""

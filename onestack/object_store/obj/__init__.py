"""The object servers' side: the disk backend (``diskfile.py``), the object server (``server.py``)
and its HTTP face (``http.py``), the clients the proxy and replicators use (``client.py``), and
the per-host daemons: replicator, auditor, updater (async pendings); ``agent.py`` runs them."""

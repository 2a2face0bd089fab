"""The process's short-lived cache of what an object request reads about its account and container
(Swift's proxy keeps the same in memcache for ``recheck_container_existence``, 60 s).

An object PUT, GET, HEAD or DELETE needs the container's existence, ACLs and metadata (and the
account's, for quotas) before it touches an object server: a database read per request. This
cache keeps each (account, container) pair's infos for ``ttl`` seconds (``object_store.
info_cache_ttl``; 0 turns it off), at most ``size`` pairs. Rules:

- the counts in a cached info (object count, bytes used) are as old as the entry: whoever needs
  them exact (the quota middlewares, when a quota is set) reads the database instead; container
  and account HEAD/GET/listings never use this cache;
- every container or account write of this process drops what it changed once it committed, and
  a read that started before such a write does not store its (older) answer (``generation``);
- another process's writes (several ``onestack serve`` proxies on one database) are seen here
  within ``ttl``: an ACL or metadata change, or a deleted container, may act that long later
  there, as in Swift between memcache refreshes (issue 11's rule on process-local caches).
"""

from __future__ import annotations

from time import monotonic

from onestack.object_store.service.info import AccountInfo, ContainerInfo

Infos = tuple[AccountInfo | None, ContainerInfo | None]


class InfoCache:
    def __init__(self, ttl: float, size: int = 4096) -> None:
        self.ttl = ttl
        self.size = size
        self.generation = 0  # moves on every forget: a read begun before it must not be stored
        self._entries: dict[tuple[str, str], tuple[float, Infos]] = {}

    def get(self, account: str, container: str) -> Infos | None:
        found = self._entries.get((account, container))
        if found is None:
            return None
        if found[0] <= monotonic():
            del self._entries[(account, container)]
            return None
        return found[1]

    def put(self, account: str, container: str, generation: int, infos: Infos) -> None:
        """Keep ``infos`` read since ``generation`` (not when a write came between, nor a missing
        container: creating it must be seen at once)."""
        if self.ttl <= 0 or generation != self.generation or infos[1] is None:
            return
        now = monotonic()
        if len(self._entries) >= self.size:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            while len(self._entries) >= self.size:  # the oldest stored go first
                del self._entries[next(iter(self._entries))]
        self._entries[(account, container)] = (now + self.ttl, infos)

    def forget(self, account: str, container: str | None = None) -> None:
        """After a committed write: the container's entry, or every entry of the account."""
        self.generation += 1
        if container is not None:
            self._entries.pop((account, container), None)
        else:
            for key in [k for k in self._entries if k[0] == account]:
                del self._entries[key]

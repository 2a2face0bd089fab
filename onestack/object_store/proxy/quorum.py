"""Which status the proxy answers from its object servers' answers (Swift's ``best_response``).

Pure rules, one per verb, so each can be tested on its own:

- a write's answer is the highest status of the first class (2xx, 3xx, 4xx) that reached the
  quorum, else 503;
- a DELETE is the same, except that when no class reached the quorum the 404s count as 204s —
  but the answer is never a status only such a stand-in gave ([204, 404, 404] is 404: a quorum
  of replicas never had the object; [204, 404, 503] is 204);
- a POST that found the object on some but fewer than a quorum of primaries also asks handoffs
  (the caller does), and a 404 against an existence proof is 503, never 404;
- a GET/HEAD that found no source answers the best of the statuses it collected, quorum over
  those only (a handoff's 404 without a tombstone is not one of them).
"""

from __future__ import annotations

from collections.abc import Collection

DELETE_OVERRIDES = {404: 204}  # Swift's _delete_object: status_overrides


def quorum_size(n: int) -> int:
    return n // 2 + 1


def best_status(statuses: list[int], quorum: int, avoid: Collection[int] = ()) -> int | None:
    """Swift's _compute_quorum_response: the highest status of the first class (2xx, 3xx, 4xx)
    that reached the quorum, skipping the answers at the indices ``avoid`` (stand-ins); None when
    no class did."""
    for hundred in (200, 300, 400):
        in_class = [(i, s) for i, s in enumerate(statuses) if hundred <= s < hundred + 100]
        if len(in_class) < quorum:
            continue
        real = [s for i, s in in_class if i not in avoid]
        if real:
            return max(real)
    return None


def with_overrides(statuses: list[int], quorum: int, overrides: dict[int, int]) -> int | None:
    """Swift's best_response with ``overrides``: applied only when the statuses as they are have no
    quorum, and never answered for their own sake."""
    status = best_status(statuses, quorum)
    if status is not None:
        return status
    faked = {i for i, s in enumerate(statuses) if s in overrides}
    return best_status([overrides.get(s, s) for s in statuses], quorum, faked)


def delete_status(statuses: list[int], quorum: int) -> int | None:
    return with_overrides(statuses, quorum, DELETE_OVERRIDES)


def post_status(statuses: list[int], quorum: int) -> int | None:
    """``statuses``: the primaries' answers followed by the handoffs' asked for the primaries'
    404s. A 404 when some replica accepted the POST cannot be right: None (503), as Swift says."""
    status = best_status(statuses, quorum)
    if status == 404 and 202 in statuses:
        return None
    return status


def read_status(statuses: list[int]) -> int:
    """A GET/HEAD that found no replica to answer from: the best of what it collected (primaries'
    answers, handoffs' 404s of a tombstone), quorum over those; 503 when none or no quorum."""
    if not statuses:
        return 503
    return best_status(statuses, quorum_size(len(statuses))) or 503

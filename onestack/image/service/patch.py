"""JSON patch for PATCH /v2/images/{id}: parsing both patch dialects and applying one operation.

Pure functions (no database): service/images.py ``update_image`` loads the image, runs every
operation through here and stores the result only when all of them succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from onestack.core.api.faults import BadRequest, Conflict, Forbidden
from onestack.image.models import Image
from onestack.image.service.schemas import clean_core, clean_property, clean_tag, clean_tags

PATCH_MEDIA_TYPES = ("application/openstack-images-v2.1-json-patch", "application/openstack-images-v2.0-json-patch")
PATCH_OPS = ("add", "replace", "remove")


@dataclass(frozen=True)
class PatchOp:
    op: str
    path: tuple[str, ...]
    value: Any = None
    has_value: bool = False


def decode_path(path: Any) -> tuple[str, ...]:
    if not isinstance(path, str) or not path.startswith("/") or path == "/":
        raise BadRequest(f"Invalid JSON pointer for this resource: {path!r}.")
    parts = tuple(p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/"))
    if any(not p for p in parts) and parts[-1:] != ("-",):
        raise BadRequest(f"Invalid JSON pointer for this resource: {path!r}.")
    if len(parts) > 2 or (len(parts) == 2 and parts[0] not in ("locations", "tags")):
        raise BadRequest(f"Nested paths are not allowed: {path!r}.")
    return parts


def parse_patch(body: Any) -> list[PatchOp]:
    """Both patch dialects: ``{"op": "add", "path": "/x"}`` and ``{"add": "/x"}``."""
    if not isinstance(body, list):
        raise BadRequest("A JSON-patch request body must be a list of operations.")
    ops: list[PatchOp] = []
    for raw in body:
        if not isinstance(raw, dict):
            raise BadRequest("Each patch operation must be a JSON object.")
        if "op" in raw:
            op, path = raw.get("op"), raw.get("path")
        else:
            named = [k for k in PATCH_OPS if k in raw]
            if len(named) != 1:
                raise BadRequest("Each patch operation names exactly one of add, replace or remove.")
            op, path = named[0], raw[named[0]]
        if op not in PATCH_OPS:
            raise BadRequest(f"Unsupported patch operation {op!r}: use add, replace or remove.")
        if op != "remove" and "value" not in raw:
            raise BadRequest(f"Operation '{op}' needs a 'value'.")
        ops.append(PatchOp(op, decode_path(path), raw.get("value"), "value" in raw))
    return ops


def apply_core(image: Image, op: PatchOp, name: str, is_admin: bool) -> None:
    if op.op == "remove":
        raise Forbidden(f"Attribute '{name}' is a core property and cannot be removed.")
    value = clean_core(name, op.value)
    if name in ("disk_format", "container_format") and value != getattr(image, name) and image.status != "queued":
        raise Forbidden(f"Attribute '{name}' can be only replaced for a queued image.")
    if name == "owner" and value != image.owner and not is_admin:
        raise Forbidden("Only an administrator may change the owner of an image.")
    setattr(image, name, value)


def apply_tags(tags: list[str], op: PatchOp) -> list[str]:
    """``/tags`` as a whole, or one element (``/tags/N``, ``/tags/-``) as jsonpatch diffs send."""
    if len(op.path) == 1:
        if op.op == "remove":
            raise Forbidden("Attribute 'tags' is a core property and cannot be removed.")
        return clean_tags(op.value)
    where = op.path[1]
    if where == "-" and op.op == "add":
        index = len(tags)
    elif where.isdigit() and int(where) <= len(tags) - (0 if op.op == "add" else 1):
        index = int(where)
    else:
        raise BadRequest(f"Invalid tag position {where!r} for '{op.op}'.")
    out = list(tags)
    if op.op == "remove":
        del out[index]
        return out
    tag = clean_tag(op.value)
    if op.op == "replace":
        out[index] = tag
    elif tag not in out:
        out.insert(index, tag)
    return [t for i, t in enumerate(out) if t not in out[:i]]


def apply_custom(props: dict[str, str], op: PatchOp, name: str) -> None:
    if op.op == "remove":
        if name not in props:
            raise Conflict(f"Property {name} does not exist.")
        del props[name]
        return
    if op.op == "replace" and name not in props:
        raise Conflict(f"Property {name} does not exist.")
    value = clean_property(name, op.value)
    if value is None:
        props.pop(name, None)
    else:
        props[name] = value

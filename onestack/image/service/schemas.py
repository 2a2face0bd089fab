"""What an image and a member look like: field rules, and the JSON-Schema documents clients read.

The rules here are the ones Glance applies to request bodies (create and patch): which
attributes exist, which are read-only or reserved, allowed formats and value types. The
schema documents served at /v2/schemas/* are written from the same tables.
"""

from __future__ import annotations

import re
from typing import Any

from onestack.core.api.faults import BadRequest, Forbidden
from onestack.core.api.parse import is_uuid

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
STATUSES = ("queued", "saving", "active", "killed", "deleted", "pending_delete", "deactivated",
            "uploading", "importing")
MEMBER_STATUSES = ("pending", "accepted", "rejected")

# Attributes the server computes; a client that tries to set them gets 403.
READ_ONLY = frozenset({
    "created_at", "updated_at", "status", "checksum", "os_hash_algo", "os_hash_value", "size",
    "virtual_size", "direct_url", "self", "file", "schema", "id", "stores",
})
# Attributes that exist only inside the server.
RESERVED = frozenset({"location", "deleted", "deleted_at"})
RESERVED_PREFIX = "os_glance_"
# Core attributes a client may set (stored as columns, never removable).
WRITABLE_CORE = ("name", "visibility", "protected", "os_hidden", "disk_format", "container_format",
                 "min_disk", "min_ram", "owner", "tags")
# The id pattern the served schema documents state; values are checked with core's is_uuid.
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
# Well-known custom properties whose values must look like image ids.
UUID_PROPERTIES = ("kernel_id", "ramdisk_id")
MAX_LEN = 255
MAX_INT = 2**31 - 1  # min_disk, min_ram


def check_settable(name: str) -> None:
    """403 for attributes no client may set (read-only, reserved, os_glance_*)."""
    if name in READ_ONLY:
        raise Forbidden(f"Attribute '{name}' is read-only.")
    if name in RESERVED or name.startswith(RESERVED_PREFIX):
        raise Forbidden(f"Attribute '{name}' is reserved.")


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"Invalid value for '{name}': {value!r} is not of type 'boolean'.")
    return value


def _non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"Invalid value for '{name}': {value!r} is not of type 'integer'.")
    if value < 0:
        raise BadRequest(f"Invalid value for '{name}': {value} is less than the minimum of 0.")
    if value > MAX_INT:  # the column is a 32-bit INTEGER, as in Glance; PostgreSQL and MySQL enforce it
        raise BadRequest(f"Invalid value for '{name}': {value} is greater than the maximum of {MAX_INT}.")
    return value


def _short_string(name: str, value: Any, *, nullable: bool) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"Invalid value for '{name}': {value!r} is not of type 'string'.")
    if len(value) > MAX_LEN:
        raise BadRequest(f"Invalid value for '{name}': longer than {MAX_LEN} characters.")
    return value


def _enum(name: str, value: Any, allowed: tuple[str, ...], *, nullable: bool) -> str | None:
    if value is None and nullable:
        return None
    if value not in allowed:
        raise BadRequest(f"Invalid value for '{name}': {value!r} is not one of {', '.join(allowed)}.")
    return str(value)


def clean_tags(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise BadRequest("Invalid value for 'tags': a list of strings is required.")
    out: list[str] = []
    for tag in value:
        clean_tag(tag)
        if tag not in out:
            out.append(tag)
    return out


def clean_tag(tag: Any) -> str:
    if not isinstance(tag, str) or not tag:
        raise BadRequest("An image tag is a non-empty string.")
    if len(tag) > MAX_LEN:
        raise BadRequest(f"An image tag is at most {MAX_LEN} characters long.")
    return tag


def clean_core(name: str, value: Any) -> Any:
    """Validate the value of one writable core attribute; 400 when it does not fit."""
    if name in ("protected", "os_hidden"):
        return _bool(name, value)
    if name in ("min_disk", "min_ram"):
        return _non_negative_int(name, value)
    if name == "visibility":
        return _enum(name, value, VISIBILITIES, nullable=False)
    if name == "disk_format":
        return _enum(name, value, DISK_FORMATS, nullable=True)
    if name == "container_format":
        return _enum(name, value, CONTAINER_FORMATS, nullable=True)
    if name == "tags":
        return clean_tags(value)
    return _short_string(name, value, nullable=True)  # name, owner


def clean_property(name: str, value: Any) -> str | None:
    """Validate a custom property: string values only (None means "not set")."""
    if not name or len(name) > MAX_LEN:
        raise BadRequest(f"Property names are 1 to {MAX_LEN} characters long: {name!r}.")
    if value is None and name in UUID_PROPERTIES:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"Invalid value for property '{name}': {value!r} is not of type 'string'.")
    if name in UUID_PROPERTIES and not is_uuid(value):
        raise BadRequest(f"Invalid value for property '{name}': it must be an image id.")
    return value


# --- documents served at /v2/schemas/* ---------------------------------------------------

def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": ["null", kind], **extra}


def image_schema() -> dict[str, Any]:
    """The image document, as JSON Schema (clients validate patches against it)."""
    ro = {"readOnly": True}
    props: dict[str, Any] = {
        "id": {"type": "string", "pattern": UUID_RE.pattern, "description": "The image's identifier."},
        "name": _nullable("string", maxLength=MAX_LEN, description="Human-readable name; need not be unique."),
        "status": {"type": "string", "enum": list(STATUSES), "description": "Where the image is in its life.", **ro},
        "visibility": {"type": "string", "enum": list(VISIBILITIES), "description": "Who may see the image."},
        "protected": {"type": "boolean", "description": "A protected image cannot be deleted."},
        "os_hidden": {"type": "boolean", "description": "Hidden images are left out of default listings."},
        "checksum": _nullable("string", maxLength=32, description="MD5 of the image data.", **ro),
        "os_hash_algo": _nullable("string", maxLength=64, description="Algorithm of os_hash_value.", **ro),
        "os_hash_value": _nullable("string", maxLength=128, description="Secure hash of the data.", **ro),
        "owner": _nullable("string", maxLength=MAX_LEN, description="Project that owns the image."),
        "size": _nullable("integer", description="Bytes of image data.", **ro),
        "virtual_size": _nullable("integer", description="Bytes of the virtual disk.", **ro),
        "min_ram": {"type": "integer", "minimum": 0, "description": "Least RAM (MiB) to boot."},
        "min_disk": {"type": "integer", "minimum": 0, "description": "Least disk (GiB) to boot."},
        "container_format": _nullable("string", enum=[None, *CONTAINER_FORMATS],
                                      description="How the data is wrapped."),
        "disk_format": _nullable("string", enum=[None, *DISK_FORMATS], description="Format of the disk."),
        "created_at": {"type": "string", "description": "When the image was created.", **ro},
        "updated_at": {"type": "string", "description": "When the image last changed.", **ro},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": MAX_LEN},
                 "description": "Labels attached to the image."},
        "direct_url": {"type": "string", "description": "Store URL of the data (when shown).", **ro},
        "locations": {"type": "array", "items": {"type": "object"}, "description": "Where the data lives."},
        "self": {"type": "string", "description": "Link to this document.", **ro},
        "file": {"type": "string", "description": "Link to the image data.", **ro},
        "schema": {"type": "string", "description": "Link to this schema.", **ro},
        "stores": {"type": "string", "description": "Comma-separated stores holding the data.", **ro},
        "kernel_id": _nullable("string", pattern=UUID_RE.pattern, description="Kernel image for AMI-style boots."),
        "ramdisk_id": _nullable("string", pattern=UUID_RE.pattern, description="Ramdisk image for AMI-style boots."),
        "os_distro": {"type": "string", "description": "Operating system distribution (e.g. cirros)."},
        "os_version": {"type": "string", "description": "Operating system version."},
        "architecture": {"type": "string", "description": "CPU architecture the image needs."},
        "description": {"type": "string", "description": "Free text about the image."},
    }
    return {
        "name": "image",
        "properties": props,
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def images_schema() -> dict[str, Any]:
    return {
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema()},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def member_schema() -> dict[str, Any]:
    return {
        "name": "member",
        "properties": {
            "created_at": {"type": "string", "description": "When the image was shared with the member."},
            "updated_at": {"type": "string", "description": "When the membership last changed."},
            "image_id": {"type": "string", "pattern": UUID_RE.pattern, "description": "The shared image."},
            "member_id": {"type": "string", "description": "Project the image is shared with."},
            "status": {"type": "string", "enum": list(MEMBER_STATUSES),
                       "description": "Whether the member took up the image."},
            "schema": {"type": "string", "readOnly": True},
        },
    }


def members_schema() -> dict[str, Any]:
    return {
        "name": "members",
        "properties": {
            "members": {"type": "array", "items": member_schema()},
            "schema": {"type": "string"},
        },
        "links": [{"rel": "describedby", "href": "{schema}"}],
    }

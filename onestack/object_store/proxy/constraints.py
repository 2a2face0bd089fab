"""Swift's constraints (``swift/common/constraints.py``): names and metadata a request may carry.

Shared by the account, container and object controllers and any middleware that writes metadata;
the limits come from ``[object_store]`` and are the ones /info advertises."""

from __future__ import annotations

from onestack.core.config import ObjectStoreConfig
from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.request import Headers, decode_text

META_PREFIXES = {"account": "x-account-meta-", "container": "x-container-meta-", "object": "x-object-meta-"}


def check_metadata(config: ObjectStoreConfig, headers: Headers, target: str) -> None:
    """400 with Swift's words when the ``X-<target>-Meta-*`` headers break a limit."""
    prefix = META_PREFIXES[target]
    count = 0
    size = 0
    for key, value in headers.items():
        if isinstance(value, str) and len(value) > config.max_header_size:
            raise SwiftError(400, f"Header value too long: {key[:config.max_meta_name_length]}")
        if not key.startswith(prefix):
            continue
        name = key[len(prefix):]
        if not name:
            raise SwiftError(400, "Metadata name cannot be empty")
        count += 1
        size += len(name) + len(value)
        if len(name) > config.max_meta_name_length:
            raise SwiftError(400, f"Metadata name too long: {prefix}{name}")
        if len(value) > config.max_meta_value_length:
            raise SwiftError(400, f"Metadata value longer than {config.max_meta_value_length}: {prefix}{name}")
        if count > config.max_meta_count:
            raise SwiftError(400, f"Too many metadata items; max {config.max_meta_count}")
        if size > config.max_meta_overall_size:
            raise SwiftError(400, f"Total metadata too large; max {config.max_meta_overall_size}")


def check_container_name(config: ObjectStoreConfig, name: str) -> None:
    if len(name.encode()) > config.max_container_name_length:
        raise SwiftError(400, f"Container name length of {len(name.encode())} longer than "
                              f"{config.max_container_name_length}")
    if "/" in name:
        raise SwiftError(400, "Container name cannot contain slashes")


def check_object_name(config: ObjectStoreConfig, name: str) -> None:
    if len(name.encode()) > config.max_object_name_length:
        raise SwiftError(400, f"Object name length of {len(name.encode())} longer than {config.max_object_name_length}")


def check_object_size(config: ObjectStoreConfig, length: int | None) -> None:
    if length is not None and length > config.max_file_size:
        raise SwiftError(413, "Your request is too large.")


def check_account_format(value: str) -> str:
    """Swift's check_account_format: a percent-encoded account name from a header (Destination-
    Account, X-Copy-From-Account, X-Symlink-Target-Account), decoded; 412 when empty or with a slash."""
    name = decode_text(value)
    if not name:
        raise SwiftError(412, "Account name cannot be empty")
    if "/" in name:
        raise SwiftError(412, "Account name cannot contain slashes")
    return name

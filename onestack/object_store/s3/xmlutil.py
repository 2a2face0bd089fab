"""S3's XML documents: built from nested dicts and lists, parsed with a size cap and no entities."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_BODY = 1024 * 1024  # S3 caps request documents (multi-delete, complete) well below this


def _fill(parent: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _add(parent, key, child)
    elif isinstance(value, bool):
        parent.text = "true" if value else "false"
    elif value is not None:
        parent.text = str(value)


def _add(parent: ET.Element, key: str, value: Any) -> None:
    # A list is the element repeated (S3's <Contents>…</Contents><Contents>…</Contents>).
    items: Iterable[Any] = value if isinstance(value, list) else [value]
    for item in items:
        _fill(ET.SubElement(parent, key), item)


def to_xml(root: str, doc: dict[str, Any], *, namespace: bool = False) -> bytes:
    elem = ET.Element(root, {"xmlns": NS} if namespace else {})
    _fill(elem, doc)
    rendered = ET.tostring(elem, encoding="unicode").encode("utf-8")
    return b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + rendered


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse(data: bytes) -> ET.Element:
    """The document's root; MalformedXML when it is not XML (DTDs and entities refused)."""
    from onestack.object_store.s3.errors import S3Error

    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise S3Error("MalformedXML")
    try:
        return ET.fromstring(data)
    except ET.ParseError:
        raise S3Error("MalformedXML") from None


def children(elem: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in elem if local(c.tag) == name]


def text(elem: ET.Element, name: str) -> str | None:
    found = children(elem, name)
    return None if not found else (found[0].text or "")

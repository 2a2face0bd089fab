"""Swift's slo middleware: static large objects.

- ``PUT ?multipart-manifest=put`` takes a JSON list of segments (``path`` with optional ``etag``,
  ``size_bytes`` and ``range``, or inline base64 ``data``), HEADs every named segment as the
  caller and answers 400 with Swift's list of problems (missing, Etag/Size Mismatch, too small,
  unsatisfiable range); else it stores the manifest (what each segment is: name, bytes, hash,
  range, sub_slo) with ``X-Static-Large-Object: True``, the large object's ETag (md5 of the
  segments' etags) and size in sysmeta, and container-listing overrides so the listing shows the
  total size and ``slo_etag``.
- ``GET``/``HEAD`` of a manifest answer the large object: its size, ``"<slo etag>"``, conditionals
  against that ETag, ranges across segments, nested manifests expanded; the segments are read as
  the caller (their containers' ACLs apply) and streamed one at a time.
- ``?multipart-manifest=get`` answers the stored manifest (``&format=raw``: in PUT's format);
  ``DELETE ?multipart-manifest=delete`` deletes the segments, nested ones too, then the manifest,
  answering like a bulk delete.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import json
import mimetypes
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from onestack.object_store import ranges
from onestack.object_store.errors import SwiftError
from onestack.object_store.middleware.bulk import delete_report, report_body
from onestack.object_store.middleware.large import (
    Piece,
    best_match,
    call,
    is_conditional,
    large_response,
    manifest_head,
    md5_hex,
    overlapping,
    status_line,
    token_headers,
    unquote_etag,
)
from onestack.object_store.proxy.request import (
    Handler,
    Headers,
    Middleware,
    SwiftRequest,
    SwiftResponse,
)
from onestack.object_store.state import ObjectStoreState

MAX_MANIFEST_SEGMENTS = 1000
MAX_MANIFEST_SIZE = 8 * 1024 * 1024
YIELD_FREQUENCY = 10
HEAD_CONCURRENCY = 4  # segments HEADed at once while checking a manifest (Swift's concurrency)
MAX_NESTING = 10  # sub-manifests deeper than this end the read (a manifest naming itself)
SYSMETA_ETAG = "x-object-sysmeta-slo-etag"
SYSMETA_SIZE = "x-object-sysmeta-slo-size"
OVERRIDE = "x-object-sysmeta-container-update-override-"
BACKEND_OVERRIDE = "x-backend-container-update-override-"
SLO_KEYS = {"path": {"etag", "size_bytes", "range"}, "data": set()}
SOURCE = "SLO"


def is_slo(headers: Headers) -> bool:
    return headers.get("x-static-large-object", "").lower() in ("true", "1", "yes", "on", "t", "y")


def _bad(errors: list[str]) -> SwiftError:
    return SwiftError(400, "".join(e + "\n" for e in errors), headers={"content-type": "text/plain"})


def parse_manifest(body: bytes, req_path: str) -> list[dict[str, Any]]:
    """The PUT body's segments checked for shape (Swift's parse_and_validate_input)."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: arrays nested past the parser's depth
        raise SwiftError(400, "Manifest must be valid JSON.\n") from None
    if not isinstance(parsed, list):
        raise SwiftError(400, "Manifest must be a list.\n")
    _v, account, _c, _o = SwiftRequest("GET", req_path).parts
    errors: list[str] = []
    last = len(parsed) - 1
    for index, seg in enumerate(parsed):
        if not isinstance(seg, dict):
            errors.append(f"Index {index}: not a JSON object")
            continue
        kind = next((k for k in SLO_KEYS if k in seg), None)
        if kind is None:
            errors.append(f"Index {index}: expected keys to include one of 'path' or 'data'")
            continue
        extra = sorted(k for k in seg if k not in SLO_KEYS[kind] | {kind})
        if extra:
            errors.append(f"Index {index}: extraneous keys " + ", ".join(json.dumps(k) for k in extra))
            continue
        if kind == "data":
            try:
                data = base64.b64decode(seg["data"], validate=True) if isinstance(seg["data"], str) else None
            except (binascii.Error, ValueError):
                data = None
            if data is None:
                errors.append(f"Index {index}: data must be valid base64")
            elif not data:
                errors.append(f"Index {index}: too small; each segment must be at least 1 byte.")
            else:
                seg["data"] = base64.b64encode(data).decode("ascii")
            continue
        error = _check_path_segment(seg, index, last, account or "", req_path)
        if error:
            errors.append(error)
    if parsed and all("data" in s for s in parsed if isinstance(s, dict)):
        errors.append("Inline data segments require at least one object-backed segment.")
    if errors:
        raise _bad(errors)
    return parsed


def _check_path_segment(seg: dict[str, Any], index: int, last: int, account: str, req_path: str) -> str | None:
    path = seg["path"]
    if not isinstance(path, str):
        return f'Index {index}: "path" must be a string'
    if seg.get("etag") is not None and not isinstance(seg["etag"], str):
        return f'Index {index}: "etag" must be a string or null (if provided)'
    if "/" not in path.strip("/"):
        return f"Index {index}: path does not refer to an object. Path must be of the form /container/object."
    size = seg.get("size_bytes")
    if size is not None:
        try:
            size = seg["size_bytes"] = int(size)
        except (TypeError, ValueError):
            return f"Index {index}: invalid size_bytes"
        if size < 1 and index != last:
            return f"Index {index}: too small; each segment must be at least 1 byte."
    version = req_path.split("/", 2)[1]
    if f"/{version}/{account}/{path.lstrip('/')}" == req_path:
        return f"Index {index}: manifest must not include itself as a segment"
    if seg.get("range"):
        spec = str(seg["range"])
        if "," in spec:
            return f"Index {index}: multiple ranges (only one allowed)"
        if ranges.parse_range(f"bytes={spec}") is None:
            return f"Index {index}: invalid range"
        if size is not None and not ranges.byte_ranges(f"bytes={spec}", size):
            return f"Index {index}: unsatisfiable range"
    return None


def _range_of(seg: dict[str, Any]) -> tuple[int, int]:
    """[start, end) of a stored segment within its object."""
    if seg.get("range"):
        first, _, last = str(seg["range"]).partition("-")
        return int(first), int(last) + 1
    return 0, int(seg["bytes"])


def _length(seg: dict[str, Any]) -> int:
    if "data" in seg:
        return len(base64.b64decode(seg["data"]))
    start, end = _range_of(seg)
    return end - start


def slo_etag_of(segments: list[dict[str, Any]]) -> str:
    parts = []
    for seg in segments:
        if "data" in seg:
            parts.append(md5_hex(base64.b64decode(seg["data"])))
        elif seg.get("range"):
            parts.append(f"{seg['hash']}:{seg['range']};")
        else:
            parts.append(seg["hash"])
    return md5_hex("".join(parts).encode("ascii"))


class StaticLargeObject:
    def __init__(self, state: ObjectStoreState, app: Handler) -> None:
        self.state = state
        self.app = app

    async def __call__(self, req: SwiftRequest) -> SwiftResponse:
        try:
            _v, account, container, obj = req.parts
        except ValueError:
            return await self.app(req)
        if account is None or container is None:
            return await self.app(req)
        if obj is None:
            if req.method == "GET":
                return await self.container_listing(req)
            return await self.app(req)
        mode = req.query.get("multipart-manifest")
        if req.method == "PUT" and mode == "put":
            return await self.put(req)
        if req.method == "DELETE" and mode == "delete":
            return await self.delete(req)
        if req.method in ("GET", "HEAD"):
            return await self.get_or_head(req)
        if "x-static-large-object" in req.headers:
            raise SwiftError(400, "X-Static-Large-Object is a reserved header. To create a static large object "
                                  "add query param multipart-manifest=put.")
        return await self.app(req)

    # --- listings ---

    async def container_listing(self, req: SwiftRequest) -> SwiftResponse:
        """Listing rows of manifests carry ``slo_etag`` apart from their hash, as Swift shows them."""
        resp = await self.app(req)
        if not resp.ok or not resp.headers.get("content-type", "").startswith("application/json"):
            return resp
        body = await resp.read()
        try:
            listing = json.loads(body)
        except ValueError:
            return resp
        if not isinstance(listing, list):
            return resp
        changed = False
        for item in listing:
            if not isinstance(item, dict):
                continue
            tag = item.get("slo_etag")
            if isinstance(tag, str) and not tag.startswith('"'):
                # Rows that keep it apart already: shown quoted, as Swift's listings show it.
                item["slo_etag"] = f'"{tag}"'
                changed = True
            if not isinstance(item.get("hash"), str) or ";" not in item["hash"]:
                continue
            value, *params = [p.strip() for p in item["hash"].split(";")]
            kept = []
            for param in params:
                key, _, val = param.partition("=")
                if key.strip() == "slo_etag":
                    item["slo_etag"] = f'"{val.strip()}"'
                    changed = True
                else:
                    kept.append(f"; {param}")
            item["hash"] = value + "".join(kept)
        if changed:
            resp.body = json.dumps(listing).encode("ascii")
            resp.headers["content-length"] = str(len(resp.body))
        return resp

    # --- PUT ---

    async def put(self, req: SwiftRequest) -> SwiftResponse:
        if req.headers.get("x-copy-from"):
            raise SwiftError(405, "Multipart Manifest PUTs cannot be COPY requests")
        length = req.content_length
        if length is None and req.headers.get("transfer-encoding", "").lower() != "chunked":
            raise SwiftError(411)
        if length is not None and length > MAX_MANIFEST_SIZE:
            raise SwiftError(413, f"Manifest File > {MAX_MANIFEST_SIZE} bytes")
        try:
            body = await req.body.read(MAX_MANIFEST_SIZE)
        except SwiftError as err:
            if err.status == 413:
                raise SwiftError(413, f"Manifest File > {MAX_MANIFEST_SIZE} bytes") from None
            raise
        parsed = parse_manifest(body, req.path)
        if len([s for s in parsed if "path" in s]) > MAX_MANIFEST_SEGMENTS:
            raise SwiftError(413, f"Number of object-backed segments must be <= {MAX_MANIFEST_SEGMENTS}")
        fmt = best_match(req.headers.get("accept")) or "text/plain"
        version, account, _c, _o = req.parts
        heads: dict[str, SwiftResponse] = {}
        limit = asyncio.Semaphore(HEAD_CONCURRENCY)

        async def head(name: str) -> None:
            async with limit:
                path = f"/{version}/{account}/{name.lstrip('/')}"
                resp = await call(self, req.sub("HEAD", path, headers=token_headers(req), source=SOURCE))
                await resp.close()
                heads[name] = resp

        await asyncio.gather(*(head(name) for name in dict.fromkeys(s["path"] for s in parsed if "path" in s)))
        problems: list[list[str]] = []
        stored: list[dict[str, Any]] = []
        total = 0
        for index, seg in enumerate(parsed):
            if "data" in seg:
                stored.append({"data": seg["data"]})
                total += _length(seg)
                continue
            length_of, entry = _validate(seg, heads[seg["path"]], index == len(parsed) - 1, problems)
            total += length_of
            stored.append(entry)
        if problems:
            body_out = report_body(fmt, {}, problems, "upload")
            return SwiftResponse(400, Headers({"content-type": fmt, "content-length": str(len(body_out))}), body_out)
        slo_etag = slo_etag_of(stored)
        client_etag = unquote_etag(req.headers.get("etag"))
        if client_etag and client_etag != slo_etag:
            raise SwiftError(422)
        manifest = json.dumps(stored).encode("utf-8")
        manifest_md5 = md5_hex(manifest)
        headers = req.headers.copy()
        for name in ("content-length", "transfer-encoding", "etag"):
            headers.pop(name, None)
        headers.update({
            "content-length": str(len(manifest)), "etag": manifest_md5, "x-static-large-object": "True",
            SYSMETA_ETAG: slo_etag, SYSMETA_SIZE: str(total),
        })
        # The listing shows the manifest's md5 with the large object's ETag as a parameter (the SLO
        # middleware's listing filter splits it out), and the total size.
        # A middleware above (s3api) may have set the override with parameters of its own: kept.
        value, sep, params = headers.get(OVERRIDE + "etag", "").partition(";")
        override = f"{value.strip() or manifest_md5}{sep}{params}; slo_etag={slo_etag}"
        for prefix in (OVERRIDE, BACKEND_OVERRIDE):
            headers[prefix + "etag"] = override
            headers[prefix + "size"] = str(total)
        if not headers.get("content-type"):
            guessed, _enc = mimetypes.guess_type(req.obj or "")
            headers["content-type"] = guessed or "application/octet-stream"
        query = {k: v for k, v in req.query.items() if k not in ("multipart-manifest", "heartbeat")}
        sub = req.sub("PUT", req.path, headers=headers, body=manifest, query=query)
        resp = await self.app(sub)
        if resp.ok:
            resp.headers["etag"] = f'"{slo_etag}"'
        return resp

    # --- GET / HEAD ---

    async def get_or_head(self, req: SwiftRequest) -> SwiftResponse:
        mode = req.query.get("multipart-manifest")
        if mode == "get":
            return await self.manifest_get(req)
        if is_conditional(req):
            head = await manifest_head(self.app, req)
            if not head.ok or not is_slo(head.headers):
                return await self.app(req)
            if req.method == "HEAD" and SYSMETA_SIZE in head.headers and SYSMETA_ETAG in head.headers:
                return await self._answer(req, head.headers, None)
            manifest = await self._fetch_manifest(req, req.path)
            return await self._answer(req, manifest.headers, await manifest.read())
        resp = await self.app(req)
        if not resp.ok or not is_slo(resp.headers):
            return resp
        if req.method == "HEAD":
            if SYSMETA_SIZE in resp.headers and SYSMETA_ETAG in resp.headers:
                return await self._answer(req, resp.headers, None)
            resp = await self._fetch_manifest(req, req.path)
        body = await _read_limited(resp)
        return await self._answer(req, resp.headers, body)

    async def _answer(self, req: SwiftRequest, headers: Headers, manifest: bytes | None) -> SwiftResponse:
        segments: list[dict[str, Any]] | None = None
        if manifest is not None:
            segments = _load(manifest)
        size_text, etag = headers.get(SYSMETA_SIZE), headers.get(SYSMETA_ETAG)
        if size_text is None or not size_text.isdigit() or not etag:
            if segments is None:
                segments = _load(await (await self._fetch_manifest(req, req.path)).read())
            size, etag = sum(_length(s) for s in segments), slo_etag_of(segments)
        else:
            size = int(size_text)
        base = _client_headers(headers)
        if manifest is not None:
            base["x-manifest-etag"] = md5_hex(manifest)
        account_root = "/".join(req.path.split("/", 3)[:3])

        def pieces(start: int, end: int) -> AsyncIterator[Piece]:
            assert segments is not None
            return self._pieces(req, account_root, segments, start, end, 0)

        if req.method == "GET" and segments is None:
            segments = _load(await (await self._fetch_manifest(req, req.path)).read())
        return await large_response(req, self.app, base, size, etag, pieces, SOURCE)

    async def _pieces(self, req: SwiftRequest, root: str, segments: list[dict[str, Any]], start: int, end: int,
                      depth: int) -> AsyncIterator[Piece]:
        """The plain pieces covering [start, end) of the large object these segments make."""
        for seg, lo, hi in overlapping(((seg, _length(seg)) for seg in segments), start, end):
            if "data" in seg:
                yield Piece(path="", start=lo, end=hi, data=base64.b64decode(seg["data"]))
                continue
            first, _last = _range_of(seg)
            path = f"{root}/{seg['name'].lstrip('/')}"
            if seg.get("sub_slo"):
                if depth >= MAX_NESTING:
                    raise SwiftError(409, f"Max recursion depth exceeded on {seg['name']}")
                sub = _load(await (await self._fetch_manifest(req, path)).read())
                async for piece in self._pieces(req, root, sub, first + lo, first + hi, depth + 1):
                    yield piece
                continue
            yield Piece(path=path, start=first + lo, end=first + hi, etag=seg.get("hash"),
                        full_size=int(seg["bytes"]))

    async def _fetch_manifest(self, req: SwiftRequest, path: str) -> SwiftResponse:
        resp = await call(self.app, req.sub("GET", path, headers=token_headers(req), query={"multipart-manifest": "get"},
                                            source=SOURCE))
        if resp.ok and is_slo(resp.headers):
            return resp
        await resp.close()
        if resp.status in (401, 403):
            raise SwiftError(resp.status)
        raise SwiftError(409, f"Unable to load SLO manifest or segment: {path} ({status_line(resp.status)})")

    async def manifest_get(self, req: SwiftRequest) -> SwiftResponse:
        resp = await self.app(req)
        if not resp.ok or not is_slo(resp.headers) or req.method != "GET":
            if resp.ok and is_slo(resp.headers):
                resp.headers["content-type"] = "application/json; charset=utf-8"
            return resp
        body = await _read_limited(resp)
        headers = Headers(resp.headers)
        for key in list(headers):
            if key.startswith(("x-object-sysmeta-slo-", OVERRIDE)):
                del headers[key]
        if req.query.get("format") == "raw":
            out = []
            for seg in _load(body):
                if "data" in seg:
                    out.append({"data": seg["data"]})
                    continue
                item = {"path": seg["name"], "etag": seg["hash"], "size_bytes": seg["bytes"]}
                if seg.get("range"):
                    item["range"] = seg["range"]
                out.append(item)
            body = json.dumps(out).encode("utf-8")
            headers["etag"] = md5_hex(body)
            headers["content-type"] = _strip_swift_bytes(headers.get("content-type", ""))
        else:
            headers["content-type"] = "application/json; charset=utf-8"
        headers["content-length"] = str(len(body))
        return SwiftResponse(resp.status, headers, body)

    # --- DELETE ---

    async def delete(self, req: SwiftRequest) -> SwiftResponse:
        fmt = best_match(req.headers.get("accept"))
        _v, _a, container, obj = req.parts
        return SwiftResponse(200, Headers({"content-type": fmt or "text/plain"}),
                             delete_report(self.app, req, fmt, SOURCE, names=self._to_delete(req, f"/{container}/{obj}")))

    async def _to_delete(self, req: SwiftRequest, name: str) -> AsyncIterator[dict[str, Any]]:
        """Every segment (nested manifests' too), each manifest after its segments."""
        root = "/".join(req.path.split("/", 3)[:3])
        pending: list[dict[str, Any]] = [{"name": name, "sub_slo": True}]
        while pending:
            if len(pending) > MAX_MANIFEST_SEGMENTS * 10:
                raise SwiftError(400, "Too many buffered slo segments to delete.")
            seg = pending.pop(0)
            if "data" in seg:
                continue
            if seg.get("sub_slo"):
                try:
                    pending.extend(await self._segments_of(req, f"{root}/{seg['name'].lstrip('/')}"))
                except SwiftError as err:
                    seg["error"] = {"code": err.status, "message": err.body.decode("utf-8", "replace")}
                pending.append({"name": seg["name"], **({"error": seg["error"]} if "error" in seg else {})})
            else:
                yield {"name": seg["name"], **({"error": seg["error"]} if "error" in seg else {})}

    async def _segments_of(self, req: SwiftRequest, path: str) -> list[dict[str, Any]]:
        resp = await call(self.app, req.sub("GET", path, headers=token_headers(req), query={"multipart-manifest": "get"},
                                            source=SOURCE))
        if resp.ok and is_slo(resp.headers):
            return _load(await _read_limited(resp))
        await resp.close()
        if resp.ok:
            raise SwiftError(400, "Not an SLO manifest")
        if resp.status == 404:
            raise SwiftError(404, "SLO manifest not found")
        if resp.status == 401:
            raise SwiftError(401, "401 Unauthorized")
        raise SwiftError(500, "Unable to load SLO manifest or segment.")


def _validate(seg: dict[str, Any], head: SwiftResponse, last: bool, problems: list[list[str]]
              ) -> tuple[int, dict[str, Any]]:
    name = seg["path"]
    quoted = quote(name.encode("utf-8"), safe="/")
    if not head.ok:
        problems.append([quoted, status_line(head.status)])
        return 0, {}
    size = int(head.headers.get("content-length", "0") or 0)
    length = size
    rng = None
    if seg.get("range"):
        wanted = ranges.byte_ranges(f"bytes={seg['range']}", size)
        if not wanted:
            problems.append([quoted, "Unsatisfiable Range"])
        elif wanted[0] != (0, size):
            rng = f"{wanted[0][0]}-{wanted[0][1] - 1}"
            length = wanted[0][1] - wanted[0][0]
    if length < 1 and not last:
        problems.append([quoted, "Too small; each segment must be at least 1 byte."])
    if seg.get("size_bytes") is not None and seg["size_bytes"] != size:
        problems.append([quoted, "Size Mismatch"])
    etag = unquote_etag(head.headers.get("etag"))
    if seg.get("etag") is not None and unquote_etag(seg["etag"]) != etag:
        problems.append([quoted, "Etag Mismatch"])
    entry: dict[str, Any] = {
        "name": "/" + name.lstrip("/"), "bytes": size, "hash": etag,
        "content_type": head.headers.get("content-type", ""),
        "last_modified": _iso(head.headers.get("last-modified")),
    }
    if rng:
        entry["range"] = rng
    if is_slo(head.headers):
        entry["sub_slo"] = True
    return length, entry


def _iso(http_date: str | None) -> str:
    try:
        when = email.utils.parsedate_to_datetime(http_date or "")
    except (TypeError, ValueError, IndexError):
        return ""
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _load(body: bytes) -> list[dict[str, Any]]:
    try:
        segments = json.loads(body)
    except (ValueError, RecursionError):
        raise SwiftError(500, "Unable to load SLO manifest") from None
    if not isinstance(segments, list):
        raise SwiftError(500, "Unable to load SLO manifest")
    return segments


async def _read_limited(resp: SwiftResponse) -> bytes:
    body = await resp.read()
    if len(body) > MAX_MANIFEST_SIZE * 2:
        raise SwiftError(500, "Unable to load SLO manifest")
    return body


def _strip_swift_bytes(content_type: str) -> str:
    return ";".join(p for p in content_type.split(";") if not p.strip().startswith("swift_bytes="))


def _client_headers(headers: Headers) -> Headers:
    out = Headers()
    for key, value in headers.items():
        if key.startswith(("x-object-sysmeta-slo-", OVERRIDE)):
            continue
        out[key] = value
    if "content-type" in out:
        out["content-type"] = _strip_swift_bytes(out["content-type"])
    out["x-static-large-object"] = "True"
    return out


def factory(state: ObjectStoreState) -> Middleware | None:
    state.info.register("slo", max_manifest_segments=MAX_MANIFEST_SEGMENTS, max_manifest_size=MAX_MANIFEST_SIZE,
                        yield_frequency=YIELD_FREQUENCY, min_segment_size=1, allow_async_delete=False)

    def middleware(app: Handler) -> Handler:
        return StaticLargeObject(state, app)

    return middleware

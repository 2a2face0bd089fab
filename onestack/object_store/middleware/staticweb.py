"""Swift's staticweb: a public container (``.r:*``) served as a web site to anonymous browsers
(or to anyone sending ``X-Web-Mode: true``).

The container's metadata drives it: ``X-Container-Meta-Web-Index`` (the page served for the
container's root and for every pseudo-directory), ``-Web-Listings: true`` (an HTML listing where
there is no index; the container must also allow ``.rlistings``), ``-Web-Listings-CSS`` (a style
sheet for it), ``-Web-Error`` (``<status><suffix>``, e.g. ``404error.html``, served for errors) and
``-Web-Directory-Type`` (objects of that type, empty, are directories). A directory asked without
its trailing slash is redirected (301) to it. Everything is read through sub-requests, so the
container's ACLs decide as they do for the browser's own requests.
"""

from __future__ import annotations

import html
import json
from urllib.parse import quote

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.container import get_infos
from onestack.object_store.proxy.request import (
    Handler,
    Headers,
    Middleware,
    SwiftRequest,
    SwiftResponse,
    error_response,
)
from onestack.object_store.service.info import ContainerInfo
from onestack.object_store.state import ObjectStoreState

SOURCE = "SW"
GENERATOR = "staticweb"
TRUE = ("true", "1", "yes", "on", "t", "y")
STYLE = ("  <style type=\"text/css\">\n   h1 {font-size: 1em; font-weight: bold;}\n"
         "   th {text-align: left; padding: 0px 1em 0px 1em;}\n   td {padding: 0px 1em 0px 1em;}\n"
         "   a {text-decoration: none;}\n  </style>\n")


def human_readable(size: int) -> str:
    """Swift's listing sizes: powers of 1024, rounded at each step, with ``Ki``/``Mi``/... suffixes."""
    value = float(size)
    suffixes = "KMGTPEZY"
    index = -1
    while value >= 1024 and index + 1 < len(suffixes):
        index += 1
        value = round(value / 1024)
    return f"{int(value)}" if index < 0 else f"{round(value)}{suffixes[index]}i"


class Site:
    """One static-web request: the container's web settings and the sub-requests that serve it."""

    def __init__(self, app: Handler, req: SwiftRequest, info: ContainerInfo | None) -> None:
        self.app = app
        self.req = req
        meta = info.meta if info else {}
        self.index = meta.get("x-container-meta-web-index", "").strip()
        self.error = meta.get("x-container-meta-web-error", "").strip()
        self.listings = meta.get("x-container-meta-web-listings", "").strip()
        self.label = meta.get("x-container-meta-web-listings-label", "").strip()
        self.css = meta.get("x-container-meta-web-listings-css", "").strip()
        self.dir_type = meta.get("x-container-meta-web-directory-type", "").strip() or "application/directory"
        _version, account, container, _obj = req.parts
        self.root = f"/v1/{account}/{container}"

    async def get(self, path: str, query: dict[str, str] | None = None) -> SwiftResponse:
        sub = self.req.sub(self.req.method if not query else "GET", path, headers=self.req.headers.copy(),
                           query=query, source=SOURCE)
        try:
            return await self.app(sub)
        except SwiftError as err:
            return error_response(err)

    async def error_page(self, resp: SwiftResponse) -> SwiftResponse:
        """The container's ``<status><web-error>`` object in place of an error's body, when it has one."""
        if not self.error:
            return resp
        page = await self.get(f"{self.root}/{resp.status}{self.error}")
        if not page.ok:
            await page.close()
            return resp
        await resp.close()
        return SwiftResponse(resp.status, page.headers, page.body)

    def redirect_with_slash(self) -> SwiftResponse:
        location = f"{self.req.host_url}{self.req.script_name}{quote(self.req.path + '/')}"
        return SwiftResponse(301, Headers({"location": location, "content-type": "text/html; charset=UTF-8"}))

    async def container(self) -> SwiftResponse:
        if not self.listings and not self.index:
            if self.req.headers.get("x-web-mode", "").lower() in TRUE:
                raise SwiftError(404)
            return await self.app(self.req)
        if not self.req.path.endswith("/"):
            return self.redirect_with_slash()
        if not self.index:
            return await self.listing("")
        resp = await self.get(self.root + "/" + self.index)
        if resp.status == 404:
            await resp.close()
            return await self.listing("")
        if not resp.ok and not 300 <= resp.status < 400:
            return await self.error_page(resp)
        return resp

    async def object(self, obj: str) -> SwiftResponse:
        resp = await self.get(self.req.path)
        status = resp.status
        if resp.ok or 300 <= status < 400:
            length = resp.headers.get("content-length", "0")
            is_dir = resp.headers.get("content-type") == self.dir_type and (int(length) if length.isdigit() else 0) <= 1
            if not is_dir:
                return resp
            await resp.close()
            status = 404
        elif status != 404:
            self.error = ""
            return await self.error_page(resp)
        if not self.listings and not self.index:
            return resp if status == resp.status else error_response(SwiftError(404))
        await resp.close()
        if self.index:
            page = await self.get(self.req.path.rstrip("/") + "/" + self.index)
            if page.ok or 300 <= page.status < 400:
                if not self.req.path.endswith("/"):
                    await page.close()
                    return self.redirect_with_slash()
                return page
            await page.close()
            if page.status != 404:
                return await self.error_page(page)
        if not self.req.path.endswith("/"):
            found = await self.get(self.root, {"format": "json", "limit": "1", "delimiter": "/",
                                               "prefix": obj + "/"})
            body = await found.read()
            if not found.ok or not body or not json.loads(body):
                return await self.error_page(error_response(SwiftError(404)))
            return self.redirect_with_slash()
        return await self.listing(obj)

    async def listing(self, prefix: str) -> SwiftResponse:
        label = self.req.path
        if self.label:
            label = f"{self.label}/{'/'.join(self.req.path.split('/')[4:])}"
        head = f"<!DOCTYPE html>\n<html>\n <head>\n  <title>Listing of {html.escape(label)}</title>\n"
        head += f"  <link rel=\"stylesheet\" type=\"text/css\" href=\"{self.css_path(prefix)}\" />\n" \
            if self.css else STYLE
        if self.listings.lower() not in TRUE:
            body = head + " </head>\n <body>\n  <h1>Web Listing Disabled</h1>\n" \
                "  <p>The owner of this web site has disabled web listing.</p>\n"
            if self.index:
                body += (f"  <h1>Index File Not Found</h1>\n  <p>The owner of this web site has set "
                         f"<b>X-Container-Meta-Web-Index: {html.escape(self.index)}</b>. "
                         "However, this file is not found.</p>\n")
            body += " </body>\n</html>\n"
            return await self.error_page(SwiftResponse(404, Headers({"content-type": "text/html; charset=UTF-8"}),
                                                       body.encode()))
        query = {"format": "json", "delimiter": "/"}
        if prefix:
            query["prefix"] = prefix
        resp = await self.get(self.root, query)
        raw = await resp.read()
        if not resp.ok:
            return await self.error_page(resp)
        items = json.loads(raw) if raw else []
        if prefix and not items:
            return await self.error_page(error_response(SwiftError(404)))
        rows = [(f"  <h1 id=\"title\">Listing of {html.escape(label)}</h1>\n  <table id=\"listing\">\n"
                "   <tr id=\"heading\">\n    <th class=\"colname\">Name</th>\n    <th class=\"colsize\">Size</th>\n"
                 "    <th class=\"coldate\">Date</th>\n   </tr>\n")]
        if prefix:
            rows.append("   <tr id=\"parent\" class=\"item\">\n    <td class=\"colname\"><a href=\"../\">../</a></td>\n"
                        "    <td class=\"colsize\">&nbsp;</td>\n    <td class=\"coldate\">&nbsp;</td>\n   </tr>\n")
        for item in items:
            if "subdir" in item:
                sub = item["subdir"][len(prefix):]
                rows.append(f"   <tr class=\"item subdir\">\n    <td class=\"colname\"><a href=\"./"
                            f"{quote(sub).replace('.', '%2E')}\">{html.escape(sub)}</a></td>\n"
                            "    <td class=\"colsize\">&nbsp;</td>\n    <td class=\"coldate\">&nbsp;</td>\n   </tr>\n")
        for item in items:
            if "name" in item:
                name = item["name"][len(prefix):]
                types = " ".join("type-" + html.escape(t.lower()) for t in item.get("content_type", "").split("/"))
                date = html.escape(item.get("last_modified", "")).split(".")[0].replace("T", " ")
                rows.append(f"   <tr class=\"item {types}\">\n    <td class=\"colname\"><a href=\"./"
                            f"{quote(name).replace('.', '%2E')}\">{html.escape(name)}</a></td>\n"
                            f"    <td class=\"colsize\">{human_readable(int(item.get('bytes', 0)))}</td>\n"
                            f"    <td class=\"coldate\">{date}</td>\n   </tr>\n")
        body = head + " </head>\n <body>\n" + "".join(rows) + "  </table>\n </body>\n</html>\n"
        return SwiftResponse(200, Headers({"content-type": "text/html; charset=UTF-8",
                                           "x-backend-content-generator": GENERATOR}), body.encode())

    def css_path(self, prefix: str) -> str:
        if self.css.startswith(("/", "http://", "https://")):
            return quote(self.css, ":/")
        return "../" * prefix.count("/") + quote(self.css)


def factory(state: ObjectStoreState) -> Middleware | None:
    state.info.register("staticweb")

    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            if req.method not in ("GET", "HEAD") or req.ctx.source or req.ctx.pre_authed:
                return await app(req)
            if req.ctx.authorize is None:
                return await app(req)  # no auth middleware has looked at it: nothing to serve as a site
            web_mode = req.headers.get("x-web-mode", "").lower() in TRUE
            if req.ctx.auth is not None and not req.ctx.signed_by and not web_mode:
                return await app(req)
            try:
                _version, account, container, obj = req.parts
            except ValueError:
                return await app(req)
            if not account or not container:
                return await app(req)
            try:
                if obj:  # as the object controller reads it next (the info cache)
                    _, info = await get_infos(state, req, account, container)
                else:
                    info = await state.containers.container_info(account, container)
            except NotImplementedError:
                return await app(req)
            site = Site(app, req, info)
            if obj:
                return await site.object(obj)
            req.acl = info.read_acl if info else None
            try:
                await req.authorize()
            except SwiftError as err:
                return await site.error_page(error_response(err))
            return await site.container()

        return handle

    return middleware

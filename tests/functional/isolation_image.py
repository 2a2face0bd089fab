"""Image's rows of the isolation matrix (test_isolation.py).

Glance answers 404 for an image the caller cannot see (alt_demo's private one, or one shared
with another project) and 403 for one it sees but does not own (community, or shared with
demo); a private metadef namespace of another project is 404 on every route under it.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.functional.isolation_support import (
    Actors,
    Probe,
    Seeded,
    ServiceMatrix,
    glance_shape,
    ok,
    register,
    view,
)

V2 = "/image/v2"


def _image(a: Actors, name: str, visibility: str) -> str:
    return str(ok(a.alt_http.post(f"{V2}/images", json={
        "name": name, "visibility": visibility, "disk_format": "raw", "container_format": "bare"}))["id"])


def seed(a: Actors) -> Seeded:
    ids = a.ids()
    tag = uuid.uuid4().hex[:10]
    alt, admin = a.alt_http, a.admin_http
    ids["private"] = _image(a, f"iso-private-{tag}", "private")
    ids["hidden_shared"] = _image(a, f"iso-shared-{tag}", "shared")
    ids["community"] = _image(a, f"iso-community-{tag}", "community")
    ids["shared_with_demo"] = _image(a, f"iso-for-demo-{tag}", "shared")
    ok(alt.post(f"{V2}/images/{ids['hidden_shared']}/members", json={"member": ids["admin_project"]}))
    ok(alt.post(f"{V2}/images/{ids['shared_with_demo']}/members", json={"member": ids["demo_project"]}))
    ids["demo_image"] = str(ok(a.demo_http.post(f"{V2}/images", json={"name": f"iso-demo-{tag}"}))["id"])
    ids["tag"] = f"iso-tag-{tag}"
    for image in ("private", "community"):
        ok(alt.put(f"{V2}/images/{ids[image]}/tags/{ids['tag']}"))
    ns = ids["ns"] = f"iso-ns-{tag}"
    ok(admin.post(f"{V2}/metadefs/namespaces", json={
        "namespace": ns, "visibility": "private", "protected": False,
        "objects": [{"name": "obj", "properties": {}}], "tags": [{"name": "mtag"}],
        "properties": {"prop": {"title": "prop", "type": "string"}}}))
    ok(admin.post(f"{V2}/metadefs/namespaces/{ns}/resource_types", json={"name": "OS::Glance::Image"}))
    ids.update(obj="obj", mtag="mtag", prop="prop", rtype="OS::Glance::Image", store="file",
               missing=str(uuid.uuid4()))
    tasks = ok(admin.get(f"{V2}/tasks"))["tasks"]
    ids["task"] = tasks[0]["id"] if tasks else ids["missing"]
    secrets = {ids["private"], ids["hidden_shared"], ns, f"iso-private-{tag}", f"iso-shared-{tag}"}

    def snapshot() -> Any:
        views: list[Any] = []
        for image in ("private", "hidden_shared", "community", "shared_with_demo"):
            views.append(view(alt.get(f"{V2}/images/{ids[image]}")))
            if "shared" in image:  # only shared images have members (403 for others)
                views.append(view(alt.get(f"{V2}/images/{ids[image]}/members")))
        for path in ("", "/objects", "/properties", "/tags", "/resource_types"):
            views.append(view(admin.get(f"{V2}/metadefs/namespaces/{ns}{path}")))
        return views

    cleanup = [(alt, "DELETE", f"{V2}/images/{ids[image]}")
               for image in ("private", "hidden_shared", "community", "shared_with_demo")]
    cleanup += [(a.demo_http, "DELETE", f"{V2}/images/{ids['demo_image']}"),
                (admin, "DELETE", f"{V2}/metadefs/namespaces/{ns}")]
    return Seeded(ids, secrets, snapshot, cleanup)


IMG = r"/v2/images/\{image_id\}"
NS = r"/v2/metadefs/namespaces/\{ns\}"
HIDDEN = {"image_id": "private", "member_id": "admin_project", "tag": "tag", "store_id": "store"}
SHARED = {**HIDDEN, "image_id": "hidden_shared"}
COMMUNITY = {**HIDDEN, "image_id": "community"}
FOR_DEMO = {**HIDDEN, "image_id": "shared_with_demo"}
NS_PARAMS = {"name": "obj", "rtype": "rtype"}
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTETS = {"Content-Type": "application/octet-stream"}
STEAL = [{"op": "replace", "path": "/name", "value": "stolen"}]

ROWS: tuple[Probe, ...] = (
    Probe("GET", r"/|/versions|/v2/?", None, "version documents: the same for every caller"),
    Probe("GET", r"/v2/schemas/.*", 200, sweep=False),
    Probe("GET", r"/v2/info/(import|stores|usage)", 200),
    Probe("GET", r"/v2/info/stores/detail", 403),
    Probe("GET", r"/v2/images", 200),
    Probe("GET", r"/v2/images", 200, query="visibility=all"),
    Probe("GET", r"/v2/images", 400, query="marker={private}"),  # not found as a marker either
    Probe("GET", r"/v2/images", 200, query="visibility=shared&member_status=all"),
    Probe("POST", r"/v2/images", 403, body=lambda ids: {"name": "stolen", "owner": ids["alt_project"]}),
    Probe("POST", r"/v2/images", 409, body=lambda ids: {"name": "stolen", "id": ids["private"]}),
    Probe("PATCH", IMG, 403, params={"image_id": "demo_image"}, headers=PATCH,
          body=lambda ids: [{"op": "replace", "path": "/owner", "value": ids["alt_project"]}]),
    # publicizing an image is an admin's, even one's own
    Probe("POST", r"/v2/images", 403, body={"name": "stolen", "visibility": "public"}),
    Probe("PATCH", IMG, 403, params={"image_id": "demo_image"}, headers=PATCH,
          body=[{"op": "replace", "path": "/visibility", "value": "public"}]),
    Probe("GET DELETE PATCH POST PUT", r"/v2/images/", 404),
    # what demo cannot see: alt's private image, and one shared with another project
    *(Probe("GET DELETE", IMG, 404, params=p) for p in (HIDDEN, SHARED)),
    *(Probe("PATCH", IMG, 404, params=p, body=STEAL, headers=PATCH) for p in (HIDDEN, SHARED)),
    Probe("POST", IMG + r"/actions/(de|re)activate", 404, params=HIDDEN),
    Probe("GET", IMG + "/(file|tasks)", 404, params=HIDDEN),
    Probe("PUT", IMG + "/(file|stage)", 404, params=HIDDEN, headers=OCTETS),
    Probe("POST", IMG + "/import", 404, params=HIDDEN, body={"method": {"name": "glance-direct"}}),
    Probe("POST", IMG + "/import", 404, params=HIDDEN,
          body={"method": {"name": "web-download", "uri": "http://127.0.0.1/x.img"}}),
    Probe("GET", IMG + "/locations", 404, params=HIDDEN),
    Probe("POST", IMG + "/locations", 404, params=HIDDEN, body={"url": "file:///nowhere/x"}),
    # locations are a service's: a seen, queued image of another project is still 403
    Probe("GET", IMG + "/locations", 403, params=COMMUNITY),
    Probe("POST", IMG + "/locations", 403, params=COMMUNITY, body={"url": "file:///nowhere/x"}),
    Probe("DELETE", r"/v2/stores/\{store_id\}/\{image_id\}", 404, params=HIDDEN),
    Probe("DELETE", r"/v2/stores/\{store_id\}/\{image_id\}", 403, params=COMMUNITY),
    Probe("GET", IMG + r"/members(/\{member_id\})?", 404, params=HIDDEN),
    Probe("POST", IMG + "/members", 404, params=SHARED, body=lambda ids: {"member": ids["demo_project"]}),
    Probe("PUT", IMG + r"/members/\{member_id\}", 404, params=SHARED, body={"status": "accepted"}),
    Probe("DELETE", IMG + r"/members/\{member_id\}", 404, params=SHARED),
    Probe("PUT DELETE", IMG + r"/tags/\{tag\}", 404, params=HIDDEN),
    # what demo sees but does not own: a community image, one shared with demo
    *(Probe("GET", IMG, 200, params=p) for p in (COMMUNITY, FOR_DEMO)),
    *(Probe("PATCH", IMG, 403, params=p, body=STEAL, headers=PATCH) for p in (COMMUNITY, FOR_DEMO)),
    *(Probe("DELETE", IMG, 403, params=p) for p in (COMMUNITY, FOR_DEMO)),
    Probe("POST", IMG + r"/actions/(de|re)activate", 403, params=COMMUNITY),
    Probe("PUT", IMG + "/(file|stage)", 403, params=COMMUNITY, headers=OCTETS),
    Probe("PUT DELETE", IMG + r"/tags/\{tag\}", 403, params=COMMUNITY),
    Probe("POST", IMG + "/members", 403, params=FOR_DEMO, body=lambda ids: {"member": ids["admin_project"]}),
    Probe("PUT", IMG + r"/members/\{member_id\}", 403, params={**FOR_DEMO, "member_id": "alt_project"},
          body={"status": "accepted"}),
    Probe("DELETE", IMG + r"/members/\{member_id\}", 403, params={**FOR_DEMO, "member_id": "demo_project"}),
    # the image cache is an admin API; an image demo cannot see is not found first, as Glance
    Probe("GET DELETE", r"/v2/cache", 403),
    Probe("POST", r"/v2/cache/(clean|prune)", 403),
    Probe("PUT DELETE", r"/v2/cache/\{image_id\}", 404, params=HIDDEN),
    Probe("PUT DELETE", r"/v2/cache/\{image_id\}", 403, params=COMMUNITY),
    # tasks are an admin API
    Probe("GET", r"/v2/tasks", 403),
    Probe("POST", r"/v2/tasks", 403, body={"type": "import", "input": {}}),
    Probe("GET DELETE", r"/v2/tasks/\{task_id\}", 403, params={"task_id": "task"}),
    # metadefs: admin's private namespace is not there for demo
    Probe("GET", r"/v2/metadefs/(namespaces|resource_types)", 200),
    Probe("POST", r"/v2/metadefs/namespaces", 403, body={"namespace": "stolen"}),
    Probe("GET PUT DELETE", NS, 404, params=NS_PARAMS, body=lambda ids: {"namespace": ids["ns"]}),
    Probe("GET DELETE", NS + "/(resource_types|objects|properties|tags)", 404, params=NS_PARAMS),
    Probe("POST", NS + "/(resource_types|objects|properties|tags)", 404, params=NS_PARAMS,
          body={"name": "stolen", "title": "stolen", "type": "string"}),
    Probe("DELETE", NS + r"/resource_types/\{rtype\}", 404, params=NS_PARAMS),
    Probe("GET PUT DELETE", NS + r"/(objects|properties)/\{name\}", 404, params={**NS_PARAMS, "name": "obj"},
          body={"name": "obj", "title": "obj", "type": "string"}),
    Probe("GET POST PUT DELETE", NS + r"/tags/\{name\}", 404, params={**NS_PARAMS, "name": "mtag"},
          body={"name": "mtag"}),
)

MATRIX = register(ServiceMatrix(
    service="image", prefix="/image", error=glance_shape, seed=seed, probes=ROWS,
    filters=("owner={alt_project}", "visibility=private", "member_status=all", "visibility=all&owner={alt_project}",
             "name=iso-private", "tag={tag}")))

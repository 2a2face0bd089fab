"""Metadata definitions (Glance's /v2/metadefs) against a real cloud: raw HTTP, openstacksdk and the CLI."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.functional.cloud import RunningCloud
from tests.functional.glance_client import Api, client_fixtures


def unique(prefix: str = "ns") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


api, demo_api, alt_api = client_fixtures()


def make_ns(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"namespace": unique(), "visibility": "public", **fields}
    resp = api("POST", "/metadefs/namespaces", body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def snapshot(api: Api, ns: str) -> dict[str, Any]:
    resp = api("GET", f"/metadefs/namespaces/{ns}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_resource_types_are_seeded(api: Api, demo_api: Api) -> None:
    for client in (api, demo_api):
        resp = client("GET", "/metadefs/resource_types")
        assert resp.status_code == 200
        names = [r["name"] for r in resp.json()["resource_types"]]
        for wanted in ("OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Flavor", "OS::Nova::Server"):
            assert wanted in names
        assert all(r["created_at"].endswith("Z") for r in resp.json()["resource_types"])


def test_namespace_lifecycle_and_protection(api: Api) -> None:
    name = unique()
    resp = api("POST", "/metadefs/namespaces", {
        "namespace": name, "display_name": "Shown", "description": "Tempest-like", "visibility": "public",
        "protected": True, "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "hw_"}],
    })
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["namespace"] == name and body["owner"] == api.project_id
    assert body["protected"] is True and body["visibility"] == "public"
    assert body["self"] == f"/v2/metadefs/namespaces/{name}"
    assert body["schema"] == "/v2/schemas/metadefs/namespace"
    assert [a["name"] for a in body["resource_type_associations"]] == ["OS::Glance::Image"]

    listed = api("GET", "/metadefs/namespaces").json()
    assert name in [n["namespace"] for n in listed["namespaces"]]
    assert listed["schema"] == "/v2/schemas/metadefs/namespaces"

    # Protected: the namespace survives a delete, and nothing about it changes.
    before = snapshot(api, name)
    resp = api("DELETE", f"/metadefs/namespaces/{name}")
    assert resp.status_code == 403
    assert snapshot(api, name) == before

    # PUT replaces the fields (omitted ones go back to the defaults, as in Glance).
    resp = api("PUT", f"/metadefs/namespaces/{name}", {"namespace": name, "description": "now private",
                                                        "visibility": "private", "protected": False})
    assert resp.status_code == 200, resp.text
    assert resp.json()["visibility"] == "private" and resp.json()["protected"] is False
    assert "display_name" not in resp.json()

    assert api("DELETE", f"/metadefs/namespaces/{name}").status_code == 204
    assert api("GET", f"/metadefs/namespaces/{name}").status_code == 404
    assert api("DELETE", f"/metadefs/namespaces/{name}").status_code == 404


def test_duplicates_conflict_and_bad_input(api: Api) -> None:
    ns = make_ns(api)["namespace"]
    assert api("POST", "/metadefs/namespaces", {"namespace": ns}).status_code == 409
    before = snapshot(api, ns)
    bad_bodies = [
        {},  # namespace is required
        {"namespace": ns + "x", "visibility": "shared"},
        {"namespace": ns + "x", "protected": "yes"},
        {"namespace": ns + "x", "unknown_field": 1},
        {"namespace": "x" * 81},
        {"namespace": ""},
    ]
    for bad in bad_bodies:
        resp = api("POST", "/metadefs/namespaces", bad)
        assert resp.status_code == 400, (bad, resp.text)
        if bad.get("namespace"):
            assert api("GET", f"/metadefs/namespaces/{bad['namespace']}").status_code == 404
    resp = api("POST", "/metadefs/namespaces", content=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    # Bad children leave the namespace untouched.
    assert api("POST", f"/metadefs/namespaces/{ns}/properties", {"name": "p", "type": "string"}).status_code == 400
    assert api("POST", f"/metadefs/namespaces/{ns}/properties",
               {"name": "p", "title": "P", "type": "colour"}).status_code == 400
    assert api("POST", f"/metadefs/namespaces/{ns}/objects", {"description": "no name"}).status_code == 400
    assert api("POST", f"/metadefs/namespaces/{ns}/tags", {"tags": [{"name": "a"}, {"name": "a"}]}).status_code == 409
    assert snapshot(api, ns) == before
    for query in ("limit=-1", "limit=abc", "sort_dir=up", "sort_key=owner", "visibility=shared", "marker=nope"):
        assert api("GET", f"/metadefs/namespaces?{query}").status_code == 400, query
    api("DELETE", f"/metadefs/namespaces/{ns}")


def test_rename_conflict_and_rename(api: Api) -> None:
    first, second = make_ns(api)["namespace"], make_ns(api)["namespace"]
    assert api("POST", f"/metadefs/namespaces/{first}/tags/t1").status_code == 201
    assert api("PUT", f"/metadefs/namespaces/{first}", {"namespace": second}).status_code == 409
    renamed = unique()
    resp = api("PUT", f"/metadefs/namespaces/{first}", {"namespace": renamed, "visibility": "public"})
    assert resp.status_code == 200, resp.text
    assert api("GET", f"/metadefs/namespaces/{first}").status_code == 404
    assert [t["name"] for t in api("GET", f"/metadefs/namespaces/{renamed}/tags").json()["tags"]] == ["t1"]
    for ns in (renamed, second):
        assert api("DELETE", f"/metadefs/namespaces/{ns}").status_code == 204


def test_visibility_between_projects(api: Api, demo_api: Api, alt_api: Api) -> None:
    private = make_ns(api, visibility="private", owner=demo_api.project_id)["namespace"]
    public = make_ns(api, visibility="public", owner=demo_api.project_id)["namespace"]
    assert api("POST", f"/metadefs/namespaces/{private}/objects", {"name": "obj"}).status_code == 201
    assert demo_api("GET", f"/metadefs/namespaces/{private}").status_code == 200
    assert demo_api("GET", f"/metadefs/namespaces/{private}/objects/obj").status_code == 200
    for path in ("", "/objects", "/objects/obj", "/properties", "/tags", "/resource_types"):
        assert alt_api("GET", f"/metadefs/namespaces/{private}{path}").status_code == 404, path
    assert alt_api("GET", f"/metadefs/namespaces/{public}").status_code == 200
    alt_names = [n["namespace"] for n in alt_api("GET", "/metadefs/namespaces?limit=1000").json()["namespaces"]]
    assert public in alt_names and private not in alt_names
    demo_private = demo_api("GET", "/metadefs/namespaces?visibility=private&limit=1000").json()["namespaces"]
    assert private in [n["namespace"] for n in demo_private]
    assert all(n["visibility"] == "private" for n in demo_private)
    # Writes are for admins only; the namespace does not change.
    before = snapshot(api, private)
    assert demo_api("POST", "/metadefs/namespaces", {"namespace": unique()}).status_code == 403
    assert demo_api("PUT", f"/metadefs/namespaces/{private}", {"namespace": private}).status_code == 403
    assert demo_api("DELETE", f"/metadefs/namespaces/{private}").status_code == 403
    assert demo_api("POST", f"/metadefs/namespaces/{private}/tags/x").status_code == 403
    assert snapshot(api, private) == before
    for ns in (private, public):
        assert api("DELETE", f"/metadefs/namespaces/{ns}").status_code == 204


def test_objects_crud(api: Api) -> None:
    ns = make_ns(api)["namespace"]
    obj = {"name": "cpu", "description": "CPU limits", "required": ["cores"],
           "properties": {"cores": {"title": "Cores", "type": "integer", "minimum": 1}}}
    resp = api("POST", f"/metadefs/namespaces/{ns}/objects", obj)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["self"] == f"/v2/metadefs/namespaces/{ns}/objects/cpu"
    assert body["properties"]["cores"]["minimum"] == 1 and body["required"] == ["cores"]
    assert api("POST", f"/metadefs/namespaces/{ns}/objects", obj).status_code == 409
    resp = api("PUT", f"/metadefs/namespaces/{ns}/objects/cpu", {"name": "cpu2", "description": "renamed"})
    assert resp.status_code == 200 and resp.json()["name"] == "cpu2"
    assert api("GET", f"/metadefs/namespaces/{ns}/objects/cpu").status_code == 404
    assert api("GET", f"/metadefs/namespaces/{ns}/objects/cpu2").json()["description"] == "renamed"
    assert api("POST", f"/metadefs/namespaces/{ns}/objects", {"name": "other"}).status_code == 201
    names = [o["name"] for o in api("GET", f"/metadefs/namespaces/{ns}/objects").json()["objects"]]
    assert sorted(names) == ["cpu2", "other"]
    assert [o["name"] for o in snapshot(api, ns)["objects"]] == ["cpu2", "other"]
    assert api("DELETE", f"/metadefs/namespaces/{ns}/objects/cpu2").status_code == 204
    assert api("DELETE", f"/metadefs/namespaces/{ns}/objects").status_code == 204
    assert api("GET", f"/metadefs/namespaces/{ns}/objects").json()["objects"] == []
    api("DELETE", f"/metadefs/namespaces/{ns}")


def test_properties_crud_with_resource_type_names(api: Api) -> None:
    ns = make_ns(api)["namespace"]
    rtype = api("GET", "/metadefs/resource_types").json()["resource_types"][0]["name"]
    enum = ["xen", "qemu", "kvm"]
    resp = api("POST", f"/metadefs/namespaces/{ns}/properties",
               {"name": rtype, "title": "Hypervisor", "type": "string", "enum": enum})
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"name": rtype, "title": "Hypervisor", "type": "string", "enum": enum}
    assert api("GET", f"/metadefs/namespaces/{ns}/properties/{rtype}").json()["name"] == rtype
    listed = api("GET", f"/metadefs/namespaces/{ns}/properties").json()
    assert listed["properties"] == {rtype: {"title": "Hypervisor", "type": "string", "enum": enum}}
    resp = api("PUT", f"/metadefs/namespaces/{ns}/properties/{rtype}",
               {"name": rtype, "title": "Changed", "type": "string", "enum": enum})
    assert resp.status_code == 200 and resp.json()["title"] == "Changed"
    assert api("DELETE", f"/metadefs/namespaces/{ns}/properties/{rtype}").status_code == 204
    assert api("GET", f"/metadefs/namespaces/{ns}/properties").json()["properties"] == {}
    assert api("DELETE", f"/metadefs/namespaces/{ns}/properties/{rtype}").status_code == 404
    api("DELETE", f"/metadefs/namespaces/{ns}")


def test_tags(api: Api) -> None:
    ns = make_ns(api)["namespace"]
    tags = [{"name": "sample-tag1"}, {"name": "sample-tag2"}, {"name": "sample-tag3"}]
    resp = api("POST", f"/metadefs/namespaces/{ns}/tags", {"tags": tags})
    assert resp.status_code == 201 and resp.json() == {"tags": tags}
    assert len(api("GET", f"/metadefs/namespaces/{ns}/tags").json()["tags"]) == 3
    # Without the append header a bulk POST replaces; with it, adds.
    api("POST", f"/metadefs/namespaces/{ns}/tags", {"tags": [{"name": "only"}]})
    api("POST", f"/metadefs/namespaces/{ns}/tags", {"tags": [{"name": "more"}]},
        headers={"X-Openstack-Append": "True"})
    names = {t["name"] for t in api("GET", f"/metadefs/namespaces/{ns}/tags").json()["tags"]}
    assert names == {"only", "more"}
    resp = api("POST", f"/metadefs/namespaces/{ns}/tags/single")
    assert resp.status_code == 201 and resp.json()["name"] == "single"
    assert api("POST", f"/metadefs/namespaces/{ns}/tags/single").status_code == 409
    resp = api("PUT", f"/metadefs/namespaces/{ns}/tags/single", {"name": "renamed"})
    assert resp.status_code == 200 and resp.json()["name"] == "renamed"
    assert api("GET", f"/metadefs/namespaces/{ns}/tags/renamed").status_code == 200
    assert api("DELETE", f"/metadefs/namespaces/{ns}/tags/renamed").status_code == 204
    assert api("GET", f"/metadefs/namespaces/{ns}/tags/renamed").status_code == 404
    page = api("GET", f"/metadefs/namespaces/{ns}/tags?limit=1&sort_key=name&sort_dir=asc").json()
    assert [t["name"] for t in page["tags"]] == ["more"] and "marker=more" in page["next"]
    assert api("DELETE", f"/metadefs/namespaces/{ns}/tags").status_code == 204
    assert api("GET", f"/metadefs/namespaces/{ns}/tags").json()["tags"] == []
    api("DELETE", f"/metadefs/namespaces/{ns}")


def test_resource_type_associations(api: Api) -> None:
    ns = make_ns(api)["namespace"]
    resp = api("POST", f"/metadefs/namespaces/{ns}/resource_types",
               {"name": "OS::Nova::Flavor", "prefix": "hw:", "properties_target": "image"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["name"] == "OS::Nova::Flavor" and resp.json()["prefix"] == "hw:"
    assert api("POST", f"/metadefs/namespaces/{ns}/resource_types", {"name": "OS::Nova::Flavor"}).status_code == 409
    api("POST", f"/metadefs/namespaces/{ns}/properties", {"name": "cpu_policy", "title": "CPU", "type": "string"})
    shown = api("GET", f"/metadefs/namespaces/{ns}?resource_type=OS::Nova::Flavor").json()
    assert list(shown["properties"]) == ["hw:cpu_policy"]
    filtered = api("GET", "/metadefs/namespaces?resource_types=OS::Nova::Flavor&limit=1000").json()["namespaces"]
    assert ns in [n["namespace"] for n in filtered]
    # An unknown resource type is created by its first association, as Glance does.
    new_type = f"OS::Test::{uuid.uuid4().hex[:6]}"
    assert api("POST", f"/metadefs/namespaces/{ns}/resource_types", {"name": new_type}).status_code == 201
    assert new_type in [r["name"] for r in api("GET", "/metadefs/resource_types").json()["resource_types"]]
    assocs = api("GET", f"/metadefs/namespaces/{ns}/resource_types").json()["resource_type_associations"]
    assert {a["name"] for a in assocs} == {"OS::Nova::Flavor", new_type}
    assert api("DELETE", f"/metadefs/namespaces/{ns}/resource_types/OS::Nova::Flavor").status_code == 204
    assert api("DELETE", f"/metadefs/namespaces/{ns}/resource_types/OS::Nova::Flavor").status_code == 404
    api("DELETE", f"/metadefs/namespaces/{ns}")


def test_namespace_pagination(api: Api) -> None:
    tag = unique("page")
    made = [make_ns(api, resource_type_associations=[{"name": tag}])["namespace"] for _ in range(3)]
    seen: list[str] = []
    url = f"/metadefs/namespaces?resource_types={tag}&limit=2&sort_key=namespace&sort_dir=asc"
    while url:
        body = api("GET", url.removeprefix("/v2")).json()
        seen += [n["namespace"] for n in body["namespaces"]]
        url = body.get("next", "")
    assert seen == sorted(made)
    for ns in made:
        api("DELETE", f"/metadefs/namespaces/{ns}")


def test_schemas(demo_api: Api) -> None:
    expected = {"namespace": "namespace", "namespaces": "namespaces", "object": "object", "objects": "objects",
                "property": "property", "properties": "properties", "resource_type": "resource_type_association",
                "resource_types": "resource_type_associations", "tag": "tag", "tags": "tags"}
    for path, name in expected.items():
        resp = demo_api("GET", f"/schemas/metadefs/{path}")
        assert resp.status_code == 200, path
        assert resp.json()["name"] == name


def test_unauthenticated(cloud: RunningCloud) -> None:
    resp = httpx.get(f"{cloud.base_url}/image/v2/metadefs/namespaces")
    assert resp.status_code == 401


def test_sdk_and_cli(cloud: RunningCloud, admin: Any, api: Api) -> None:
    name = unique("sdk")
    ns = admin.image.create_metadef_namespace(namespace=name, visibility="public", display_name="via sdk")
    assert ns.namespace == name
    assert name in [n.namespace for n in admin.image.metadef_namespaces()]
    admin.image.create_metadef_property(name, name="p1", title="P1", type="string")
    assert [p.name for p in admin.image.metadef_properties(name)] == ["p1"]
    assert "OS::Glance::Image" in [r.name for r in admin.image.metadef_resource_types()]
    shown = cloud.cli("image", "metadef", "namespace", "show", name)
    assert shown["namespace"] == name
    listed = cloud.cli("image", "metadef", "namespace", "list")
    assert name in [n["namespace"] for n in listed]
    cloud.cli("image", "metadef", "namespace", "delete", name, json_out=False)
    assert api("GET", f"/metadefs/namespaces/{name}").status_code == 404
    created = cloud.cli("image", "metadef", "namespace", "create", unique("cli"), "--public")
    assert created["visibility"] == "public"
    cloud.cli("image", "metadef", "namespace", "delete", created["namespace"], json_out=False)


def test_cli_objects_properties_and_resource_types(cloud: RunningCloud, api: Api) -> None:
    ns = make_ns(api)["namespace"]
    obj = cloud.cli("image", "metadef", "object", "create", "--namespace", ns, "obj1")
    assert obj["name"] == "obj1"
    assert [o["name"] for o in cloud.cli("image", "metadef", "object", "list", ns)] == ["obj1"]
    prop = cloud.cli("image", "metadef", "property", "create", "--name", "p1", "--title", "P1", "--type", "string",
                     "--schema", '{"enum": ["a", "b"]}', ns)
    assert prop["name"] == "p1"
    shown = cloud.cli("image", "metadef", "property", "show", ns, "p1")
    assert shown["title"] == "P1" and shown["enum"] == ["a", "b"]
    types = [r["Name"] for r in cloud.cli("image", "metadef", "resource", "type", "list")]
    assert "OS::Glance::Image" in types
    cloud.cli("image", "metadef", "resource", "type", "association", "create", ns, "OS::Glance::Image")
    assocs = cloud.cli("image", "metadef", "resource", "type", "association", "list", ns)
    assert [a["Name"] for a in assocs] == ["OS::Glance::Image"]
    cloud.cli("image", "metadef", "property", "delete", ns, "p1", json_out=False)
    cloud.cli("image", "metadef", "object", "delete", ns, "obj1", json_out=False)
    assert api("GET", f"/metadefs/namespaces/{ns}/objects").json()["objects"] == []
    assert api("DELETE", f"/metadefs/namespaces/{ns}").status_code == 204

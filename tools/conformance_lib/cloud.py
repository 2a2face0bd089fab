"""The onestack Tempest talks to: one this tool starts, or one already running."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conformance_lib.tempest_conf import (
    TEMPEST_CONTAINER_FORMATS,
    TEMPEST_DISK_FORMATS,
    ComputeFacts,
    ImageFacts,
    NetworkFacts,
    ObjectStoreFacts,
    VolumeFacts,
    clear_cidr,
    ordered_formats,
)

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Target:
    base_url: str
    data_dir: Path | None
    admin_password: str
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def identity_url(self) -> str:
        return f"{self.base_url}/identity"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_from_url(url: str) -> str:
    """Accept the server root, the identity endpoint or its /v3 and return the server root."""
    url = url.rstrip("/")
    for suffix in ("/v3", "/identity"):
        url = url.removesuffix(suffix)
    return url


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def start_onestack(workdir: Path, config_toml: str | None, timeout: float = 90.0,
                   extra_env: dict[str, str] | None = None) -> Target:
    """``onestack up`` on a free port with a fresh data dir under ``workdir``."""
    data_dir = workdir / "data"
    port = free_port()
    env = dict(os.environ)
    # Tempest creates hundreds of users; bcrypt's minimum cost keeps the run short.
    env["ONESTACK_IDENTITY__PASSWORD_HASH_ROUNDS"] = "4"
    env.update(extra_env or {})
    cmd = [sys.executable, "-m", "onestack", "up", "--host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(data_dir)]
    if config_toml is not None:
        config = workdir / "onestack.toml"
        config.write_text(config_toml)
        cmd += ["--config", str(config)]
    log_path = workdir / "onestack.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while not _healthy(base_url):
        if proc.poll() is not None:
            raise SystemExit(f"conformance: onestack exited with {proc.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"conformance: onestack did not answer /healthz in {timeout:.0f}s; see {log_path}")
        time.sleep(0.2)
    secrets = json.loads((data_dir / "secrets.json").read_text())
    return Target(base_url, data_dir, str(secrets["admin"]), proc=proc, log_path=log_path)


def attach(url: str | None, data_dir: Path | None, admin_password: str | None) -> Target:
    """A onestack that is already running; the URL and password default to its data dir's files."""
    if url is None:
        if data_dir is None:
            raise SystemExit("conformance: --url needs --data-dir or --admin-password")
        clouds = yaml.safe_load((data_dir / "clouds.yaml").read_text())
        url = str(clouds["clouds"]["devstack-admin"]["auth"]["auth_url"])
    if admin_password is None:
        if data_dir is None:
            raise SystemExit("conformance: give --data-dir (for secrets.json) or --admin-password")
        admin_password = str(json.loads((data_dir / "secrets.json").read_text())["admin"])
    base = base_from_url(url)
    if not _healthy(base):
        raise SystemExit(f"conformance: nothing healthy answers at {base}/healthz")
    return Target(base, data_dir, admin_password)


def _request(url: str, body: dict[str, Any] | None = None, token: str | None = None, method: str | None = None,
             data: bytes | None = None, content_type: str = "application/json",
             extra_headers: dict[str, str] | None = None) -> tuple[dict[str, Any], Any]:
    headers = {"Content-Type": content_type, "Accept": "application/json", **(extra_headers or {})}
    if token:
        headers["X-Auth-Token"] = token
    if body is not None:
        data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers, method=method or ("POST" if data else "GET"))
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
        return dict(resp.headers), json.loads(raw) if raw.strip() else {}


@dataclass
class Admin:
    """An admin token and the public endpoint of every service type in its catalog."""

    token: str
    endpoints: dict[str, str]


def admin_session(target: Target) -> Admin:
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": target.admin_password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    try:
        headers, doc = _request(f"{target.identity_url}/v3/auth/tokens", auth)
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"conformance: admin cannot authenticate at {target.identity_url}: {exc}") from None
    endpoints = {}
    for entry in doc.get("token", {}).get("catalog", []):
        public = [e["url"] for e in entry.get("endpoints", []) if e.get("interface") == "public"]
        endpoints[str(entry.get("type"))] = public[0].rstrip("/") if public else ""
    token = next(v for k, v in headers.items() if k.lower() == "x-subject-token")
    return Admin(token, endpoints)


def catalog_types(target: Target) -> set[str]:
    """Service types in the admin's catalog (which services Tempest should expect)."""
    return set(admin_session(target).endpoints)


def _schema_enum(image_url: str, token: str, prop: str) -> list[str] | None:
    try:
        _, schema = _request(f"{image_url}/v2/schemas/image", token=token)
        values = schema["properties"][prop]["enum"]
    except (OSError, ValueError, KeyError, TypeError):  # no schema yet: Tempest's defaults
        return None
    return [str(v) for v in values if v] or None


def _public_images(image_url: str, token: str) -> list[str]:
    """Ids of the active public images: the built-in ones ``onestack up`` registers first.

    Those carry ``onestack_builtin=true``; within a group the oldest comes first (then by name,
    as the two built-ins are made in the same second).
    """
    try:
        _, doc = _request(f"{image_url}/v2/images?visibility=public&limit=100", token=token)
        images = [i for i in doc.get("images", []) if i.get("status") == "active"]
    except (OSError, ValueError, AttributeError):
        return []
    images.sort(key=lambda i: (str(i.get("onestack_builtin")).lower() != "true",
                               str(i.get("created_at", "")), str(i.get("name", ""))))
    return [str(i["id"]) for i in images]


def _has_image_cache(image_url: str, token: str) -> bool:
    """Does the cache API answer (GET /v2/cache as admin: 200; 404 when the site has no cache)?"""
    try:
        _, doc = _request(f"{image_url}/v2/cache", token=token)
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and "cached_images" in doc


def _refuses_bogus_qcow2(image_url: str, token: str) -> bool:
    """Upload bytes that are not a qcow2 as a qcow2 image: does the cloud refuse them?

    Tempest's ``image_format_enforcement`` must say what the cloud does, so ask it. When
    uploads do not work at all the answer is Tempest's default (True).
    """
    try:
        _, image = _request(f"{image_url}/v2/images", {
            "name": "conformance-format-probe", "disk_format": "qcow2", "container_format": "bare"}, token=token)
    except (OSError, ValueError):
        return True
    try:
        _request(f"{image_url}/v2/images/{image['id']}/file", token=token, method="PUT",
                 data=b"not a qcow2 image " * 64, content_type="application/octet-stream")
        return False
    except OSError:  # refused (4xx), or no upload API yet (404, 5xx): Tempest's default either way
        return True
    finally:
        try:
            _request(f"{image_url}/v2/images/{image['id']}", token=token, method="DELETE")
        except OSError:
            pass


def _import_methods(image_url: str, token: str) -> tuple[str, ...]:
    try:
        _, doc = _request(f"{image_url}/v2/info/import", token=token)
        return tuple(str(m) for m in doc["import-methods"]["value"])
    except (OSError, ValueError, KeyError, TypeError):
        return ()


def image_facts(target: Target, admin: Admin, http_image: str | None = None) -> ImageFacts:
    """Formats, built-in images, import methods and format enforcement of the cloud's image service."""
    image_url = admin.endpoints.get("image")
    if not image_url:
        return ImageFacts()
    refs = _public_images(image_url, admin.token)
    return ImageFacts(
        container_formats=ordered_formats(_schema_enum(image_url, admin.token, "container_format"),
                                          TEMPEST_CONTAINER_FORMATS),
        disk_formats=ordered_formats(_schema_enum(image_url, admin.token, "disk_format"), TEMPEST_DISK_FORMATS),
        image_ref=refs[0] if refs else None,
        image_ref_alt=refs[1] if len(refs) > 1 else (refs[0] if refs else None),
        format_enforcement=_refuses_bogus_qcow2(image_url, admin.token),
        import_methods=_import_methods(image_url, admin.token),
        http_image=http_image,
        caching=_has_image_cache(image_url, admin.token),
    )


def _compute_hosts(compute_url: str, placement_url: str | None, token: str) -> int:
    """Enabled nova-compute services; the resource providers in placement when os-services is missing."""
    try:
        _, doc = _request(f"{compute_url}/os-services?binary=nova-compute", token=token)
        hosts = {s["host"] for s in doc.get("services", []) if s.get("status") == "enabled"}
        if hosts:
            return len(hosts)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if placement_url:
        try:
            _, doc = _request(f"{placement_url}/resource_providers", token=token)
            roots = [rp for rp in doc.get("resource_providers", [])
                     if rp.get("root_provider_uuid", rp.get("uuid")) == rp.get("uuid")]
            if roots:
                return len(roots)
        except (OSError, ValueError, TypeError):
            pass
    return 1


MULTIATTACH_TRAIT = "COMPUTE_VOLUME_MULTI_ATTACH"


def _hosts_multiattach(placement_url: str | None, token: str) -> bool:
    """Every compute node (root provider) has Nova's COMPUTE_VOLUME_MULTI_ATTACH capability trait."""
    if not placement_url:
        return False
    version = {"OpenStack-API-Version": "placement 1.18"}  # provider traits (1.6), ?required= (1.18)
    try:
        _, doc = _request(f"{placement_url}/resource_providers", token=token, extra_headers=version)
        roots = {rp["uuid"] for rp in doc.get("resource_providers", [])
                 if rp.get("root_provider_uuid", rp.get("uuid")) == rp.get("uuid")}
        _, doc = _request(f"{placement_url}/resource_providers?required={MULTIATTACH_TRAIT}", token=token,
                          extra_headers=version)
        with_trait = {rp["uuid"] for rp in doc.get("resource_providers", [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return bool(roots) and roots <= with_trait


def _flavor_exists(compute_url: str, token: str, flavor_id: str) -> bool:
    try:
        _request(f"{compute_url}/flavors/{flavor_id}", token=token)
        return True
    except (OSError, ValueError):
        return False


def compute_facts(admin: Admin) -> ComputeFacts:
    """Microversion range, compute hosts and the flavors Tempest boots, from the running cloud."""
    compute_url = admin.endpoints.get("compute")
    if not compute_url:
        return ComputeFacts()
    defaults = ComputeFacts()
    try:
        _, doc = _request(compute_url, token=admin.token)
        version = doc.get("version", {})
        low, high = str(version.get("min_version") or "2.1"), str(version.get("version") or "2.1")
    except (OSError, ValueError, AttributeError):
        low, high = defaults.min_microversion, defaults.max_microversion
    flavors = [f for f in (defaults.flavor_ref, defaults.flavor_ref_alt) if _flavor_exists(compute_url, admin.token, f)]
    if len(flavors) < 2:
        raise SystemExit(f"conformance: the cloud lacks DevStack's flavors {defaults.flavor_ref} (m1.tiny) and "
                         f"{defaults.flavor_ref_alt} (m1.small) that Tempest boots and resizes to")
    return ComputeFacts(
        hosts=_compute_hosts(compute_url, admin.endpoints.get("placement"), admin.token),
        min_microversion=low, max_microversion=high,
        multiattach_hosts=_hosts_multiattach(admin.endpoints.get("placement"), admin.token))


def _all_pages(url: str, collection: str, token: str) -> list[dict[str, Any]]:
    """Every item of a Neutron collection, following its ``<collection>_links`` next links."""
    items: list[dict[str, Any]] = []
    while url:
        _, doc = _request(url, token=token)
        items += doc.get(collection, [])
        nxt = [link["href"] for link in doc.get(f"{collection}_links", []) if link.get("rel") == "next"]
        url = nxt[0] if nxt and doc.get(collection) else ""
    return items


def network_facts(admin: Admin) -> NetworkFacts:
    """Extensions, DevStack's public and private networks, and a free project CIDR, from the cloud.

    The extension list is exactly what GET /v2.0/extensions answers: Tempest then runs the tests
    of every extension the cloud claims and skips the others, so a claim nothing backs shows up
    as failures.
    """
    network_url = admin.endpoints.get("network")
    if not network_url:
        return NetworkFacts()
    base = f"{network_url}/v2.0"
    try:
        _, doc = _request(f"{base}/extensions", token=admin.token)
        aliases = sorted(str(e["alias"]) for e in doc.get("extensions", []))
        networks = _all_pages(f"{base}/networks?limit=500", "networks", admin.token)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"conformance: the network service at {network_url} does not answer its "
                         f"extensions, networks and subnets: {exc}") from None
    try:
        subnets = _all_pages(f"{base}/subnets?limit=500", "subnets", admin.token)
    except urllib.error.HTTPError as exc:
        if exc.code != 404:  # a cloud without subnets yet has nothing Tempest's CIDR could clash with
            raise SystemExit(f"conformance: GET {base}/subnets failed: {exc}") from None
        subnets = []
    # DevStack's "public": the default external network (else the first external one by name).
    external = sorted((n for n in networks if n.get("router:external")),
                      key=lambda n: (not n.get("is_default"), str(n.get("name")), str(n["id"])))
    public = external[0] if external else None
    private = [n for n in networks if n.get("name") == "private" and not n.get("router:external")]
    return NetworkFacts(
        extensions=tuple(aliases),
        public_network_id=str(public["id"]) if public else None,
        public_network_name=str(public["name"]) if public and public.get("name") else None,
        fixed_network_name="private" if len(private) == 1 else None,
        project_network_cidr=clear_cidr([str(s["cidr"]) for s in subnets if s.get("cidr")]),
    )


def _answers(url: str, token: str, body: dict[str, Any] | None = None, ok: tuple[int, ...] = (200,)) -> bool:
    """Does ``url`` answer with one of ``ok``? (A stub module or a missing route answers 404/405.)"""
    try:
        _request(url, body, token=token)
        return 200 in ok
    except urllib.error.HTTPError as exc:
        return exc.code in ok
    except (OSError, ValueError):
        return False


def volume_root(volume_url: str) -> str:
    """The version-discovery root of a ``.../volume/v3/<project>`` catalog URL."""
    head, sep, _ = volume_url.rstrip("/").rpartition("/v3")
    return head if sep else volume_url.rstrip("/")


def _multiattach_type(volume_url: str, token: str, pools: list[dict[str, Any]]) -> str | None:
    """A public volume type with ``multiattach="<is> True"`` (DevStack's ``multiattach`` first) that
    a pool can hold (it reports the ``multiattach`` capability); None when there is none."""
    if not any(str(p.get("capabilities", {}).get("multiattach")).lower() == "true" for p in pools):
        return None
    try:
        _, doc = _request(f"{volume_url}/types?is_public=true", token=token)
    except (OSError, ValueError, AttributeError):
        return None
    names = sorted(str(t["name"]) for t in doc.get("volume_types", [])
                   if t.get("is_public", t.get("os-volume-type-access:is_public", True)) and t.get("name")
                   and str((t.get("extra_specs") or {}).get("multiattach", "")).strip() == "<is> True")
    return "multiattach" if "multiattach" in names else (names[0] if names else None)


def volume_facts(admin: Admin) -> VolumeFacts:
    """Microversions, pools, extensions, services and which APIs answer, from the running
    block-storage service (catalog type volumev3, else block-storage).

    Tempest runs a feature's tests only when told it is there, so every flag is asked of the
    cloud: a collection that answers 200, or a manage call with an empty body that Cinder
    refuses with 400 (nothing is created) rather than 404 (no such route).
    """
    volume_url = admin.endpoints.get("volumev3") or admin.endpoints.get("block-storage")
    if not volume_url:
        return VolumeFacts()
    token = admin.token
    low = high = None
    try:
        # The discovery root answers 300 with every version; urllib raises on it, so ask /v3/.
        _, doc = _request(f"{volume_root(volume_url)}/v3/", token=token)
        v3 = (doc.get("versions") or [doc.get("version") or {}])[0]
        if v3.get("version") and v3.get("min_version"):
            low, high = str(v3["min_version"]), str(v3["version"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    pools: list[dict[str, Any]] = []
    try:
        _, doc = _request(f"{volume_url}/scheduler-stats/get_pools?detail=true", token=token)
        pools = sorted(doc.get("pools", []), key=lambda p: str(p.get("name")))
    except (OSError, ValueError, AttributeError):
        pass
    backends = sorted({str(p.get("capabilities", {}).get("volume_backend_name") or
                           str(p.get("name", "")).partition("@")[2].partition("#")[0])
                       for p in pools} - {""})
    first = pools[0].get("capabilities", {}) if pools else {}
    aliases: list[str] = []
    binaries: list[str] = []
    try:
        _, doc = _request(f"{volume_url}/extensions", token=token)
        aliases = sorted(str(e["alias"]) for e in doc.get("extensions", []))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    try:
        _, doc = _request(f"{volume_url}/os-services", token=token)
        binaries = sorted({str(s["binary"]) for s in doc.get("services", [])})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return VolumeFacts(
        min_microversion=low, max_microversion=high, backend_names=tuple(backends),
        storage_protocol=str(first["storage_protocol"]) if first.get("storage_protocol") else None,
        vendor_name=str(first["vendor_name"]) if first.get("vendor_name") else None,
        extensions=tuple(aliases), binaries=tuple(binaries),
        volumes=_answers(f"{volume_url}/volumes?limit=1", token),
        snapshots=_answers(f"{volume_url}/snapshots?limit=1", token),
        backups="cinder-backup" in binaries or _answers(f"{volume_url}/backups?limit=1", token),
        manage_volume=_answers(f"{volume_url}/os-volume-manage", token, {}, ok=(400,)),
        manage_snapshot=_answers(f"{volume_url}/os-snapshot-manage", token, {}, ok=(400,)),
        multiattach_type=_multiattach_type(volume_url, token, pools),
    )


def object_store_root(object_url: str) -> str:
    """The proxy's root (where ``/info`` is) of a ``.../v1/AUTH_<project>`` catalog URL."""
    head, sep, _ = object_url.rstrip("/").rpartition("/v1/")
    return head if sep else object_url.rstrip("/")


def object_store_facts(admin: Admin) -> ObjectStoreFacts:
    """The sections of the object store's ``GET /info`` (what the cluster advertises).

    Swift lists a middleware in /info only when it is in the pipeline, and Tempest runs an
    optional API's tests only when ``discoverable_apis`` names it, so the list is exactly /info's.
    """
    object_url = admin.endpoints.get("object-store")
    if not object_url:
        return ObjectStoreFacts()
    try:
        _, info = _request(f"{object_store_root(object_url)}/info")
    except (OSError, ValueError):
        return ObjectStoreFacts()
    if not isinstance(info, dict):
        return ObjectStoreFacts()
    sections = tuple(sorted(str(k) for k in info if k != "admin"))
    tempurl = info.get("tempurl")
    allowed = tempurl.get("allowed_digests") if isinstance(tempurl, dict) else None
    digests = tuple(str(d) for d in allowed or ())
    return ObjectStoreFacts(discoverable=True, sections=sections, tempurl_digests=digests)

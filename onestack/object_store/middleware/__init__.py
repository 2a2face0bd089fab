"""Swift's proxy middleware, one module each (``factory(state) -> Middleware | None``), collected
here in one table; ``proxy/pipeline.py`` orders them as Swift's pipeline does."""

from __future__ import annotations

from onestack.object_store.middleware import (
    account_quotas,
    authtoken,
    bulk,
    catch_errors,
    container_quotas,
    copy,
    crossdomain,
    dlo,
    formpost,
    gatekeeper,
    healthcheck,
    keystoneauth,
    listing_formats,
    object_versioning,
    slo,
    staticweb,
    symlink,
    tempurl,
    versioned_writes,
)
from onestack.object_store.proxy.pipeline import Factory
from onestack.object_store.s3 import middleware as s3api

FACTORIES: dict[str, Factory] = {
    "catch_errors": catch_errors.factory, "gatekeeper": gatekeeper.factory, "healthcheck": healthcheck.factory,
    "crossdomain": crossdomain.factory,
    "listing_formats": listing_formats.factory, "bulk": bulk.factory, "tempurl": tempurl.factory,
    "s3api": s3api.factory, "authtoken": authtoken.factory, "keystoneauth": keystoneauth.factory,
    "formpost": formpost.factory, "staticweb": staticweb.factory, "copy": copy.factory,
    "container_quotas": container_quotas.factory, "account_quotas": account_quotas.factory,
    "slo": slo.factory, "dlo": dlo.factory, "versioned_writes": versioned_writes.factory,
    "object_versioning": object_versioning.factory, "symlink": symlink.factory,
}

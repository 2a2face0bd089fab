"""Default image policy, in OpenStack's rule language, with Glance's personas.

Targets carry the image's owning project as ``project_id`` (and ``owner``), its
``visibility``, and ``member_id`` (the caller's project when it is a member of the image),
so that an operator's Glance policy file keeps working. Whether an image is visible at all
is decided before policy (an image you may not see is a 404, never a 403).
"""

from __future__ import annotations

_ADMIN = "role:admin"
# A member (or stronger) of the project that owns the target image.
_OWNER_MEMBER = "role:member and project_id:%(project_id)s"
# Any project-scoped reader; visibility has already narrowed what they can reach.
_READER = "role:reader"

DEFAULT_RULES: dict[str, str] = {
    "default": "rule:admin",
    "admin": _ADMIN,
    "context_is_admin": _ADMIN,
    "admin_or_owner_member": f"rule:context_is_admin or ({_OWNER_MEMBER})",
    "admin_or_reader": f"rule:context_is_admin or {_READER}",
    # Images.
    "add_image": "rule:admin_or_owner_member",
    "get_image": "rule:admin_or_reader",
    "get_images": "rule:admin_or_reader",
    "modify_image": "rule:admin_or_owner_member",
    "delete_image": "rule:admin_or_owner_member",
    "publicize_image": "rule:context_is_admin",
    "communitize_image": "rule:admin_or_owner_member",
    "deactivate": "rule:admin_or_owner_member",
    "reactivate": "rule:admin_or_owner_member",
    "add_image_tag": "rule:admin_or_owner_member",
    "delete_image_tag": "rule:admin_or_owner_member",
    # Image data (used by the data path).
    "upload_image": "rule:admin_or_owner_member",
    "download_image": "rule:context_is_admin or role:member",
    "import_image": "rule:admin_or_owner_member",
    "delete_image_location": "rule:context_is_admin",
    "get_image_location": "rule:context_is_admin",
    "set_image_location": "rule:context_is_admin",
    # Image API 2.17 locations: Glance's service_api rule (a service, e.g. Nova or Cinder, or an admin).
    "service_api": "role:service or role:admin",
    "add_image_location": f"rule:service_api or ({_OWNER_MEMBER} and project_id:%(owner)s)",
    "fetch_image_location": "rule:service_api",
    # Sharing: the owner manages members; each member answers for itself.
    "add_member": "rule:admin_or_owner_member",
    "delete_member": "rule:admin_or_owner_member",
    "get_member": f"rule:context_is_admin or ({_READER} and (project_id:%(project_id)s or project_id:%(member_id)s))",
    "get_members": f"rule:context_is_admin or ({_READER} and (project_id:%(project_id)s or project_id:%(member_id)s))",
    "modify_member": "rule:context_is_admin or (role:member and project_id:%(member_id)s)",
    # The image cache API (/v2/cache): administrators only, as Glance.
    "cache_image": "rule:context_is_admin",
    "cache_list": "rule:context_is_admin",
    "cache_delete": "rule:context_is_admin",
    "cache_clean": "rule:context_is_admin",
    "cache_prune": "rule:context_is_admin",
}

_METADEF_READ = "role:admin or role:reader"
# Glance's rule names, so an operator's policy file applies unchanged. Reads need a role
# in some project (visibility then decides what is seen); writes are admin-only, as in Glance.
METADEF_RULES: dict[str, str] = {
    "metadef_default": _METADEF_READ,
    "metadef_admin": "role:admin",
    **{rule: "rule:metadef_default" for rule in (
        "get_metadef_namespace", "get_metadef_namespaces", "get_metadef_object", "get_metadef_objects",
        "get_metadef_property", "get_metadef_properties", "get_metadef_tag", "get_metadef_tags",
        "list_metadef_resource_types", "get_metadef_resource_type")},
    **{rule: "rule:metadef_admin" for rule in (
        "add_metadef_namespace", "modify_metadef_namespace", "delete_metadef_namespace",
        "add_metadef_object", "modify_metadef_object", "delete_metadef_object",
        "add_metadef_property", "modify_metadef_property", "remove_metadef_property",
        "add_metadef_tag", "add_metadef_tags", "modify_metadef_tag", "delete_metadef_tag", "delete_metadef_tags",
        "add_metadef_resource_type_association", "remove_metadef_resource_type_association")},
}
# Glance: the tasks API is for admins; the per-action rules are open and tasks_api_access gates them.
TASK_RULES: dict[str, str] = {
    "tasks_api_access": "role:admin",
    "get_task": "",
    "get_tasks": "",
    "add_task": "",
    "modify_task": "",
}

DEFAULT_RULES.update(METADEF_RULES)
DEFAULT_RULES.update(TASK_RULES)

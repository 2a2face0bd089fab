"""Default block-storage policy, in OpenStack's rule language (Cinder's rule names and personas:
readers read, members change their project's resources, admins do the rest)."""

from __future__ import annotations

_ADMIN = "rule:admin_api"
_MEMBER = "rule:project_member_or_admin"
_READER = "rule:project_reader_or_admin"
_ANYONE = "@"

_BASE: dict[str, str] = {
    "default": "rule:admin_api",
    "context_is_admin": "role:admin",
    "admin_api": "role:admin",
    "project_member_api": "role:member and project_id:%(project_id)s",
    "project_reader_api": "role:reader and project_id:%(project_id)s",
    "project_member_or_admin": "rule:project_member_api or rule:context_is_admin",
    "project_reader_or_admin": "rule:project_reader_api or rule:context_is_admin",
}

_VOLUMES: dict[str, str] = {
    "volume:create": _MEMBER,
    "volume:create_from_image": _MEMBER,
    "volume:get": _READER,
    "volume:get_all": _READER,
    "volume:update": _MEMBER,
    "volume:delete": _MEMBER,
    "volume:force_delete": _ADMIN,
    "volume:extend": _MEMBER,
    "volume:extend_attached_volume": _MEMBER,
    "volume:revert_to_snapshot": _MEMBER,
    "volume:retype": _MEMBER,
    "volume:update_readonly_flag": _MEMBER,
    "volume:reimage": _MEMBER,
    "volume:reimage_reserved": _ADMIN,
    "volume:multiattach": _MEMBER,
    "volume:multiattach_bootable_volume": _MEMBER,
    "volume:get_volume_metadata": _READER,
    "volume:create_volume_metadata": _MEMBER,
    "volume:update_volume_metadata": _MEMBER,
    "volume:delete_volume_metadata": _MEMBER,
    "volume:get_volume_admin_metadata": _ADMIN,
    "volume:update_volume_admin_metadata": _ADMIN,
    "volume_extension:volume_image_metadata:show": _READER,
    "volume_extension:volume_image_metadata:set": _MEMBER,
    "volume_extension:volume_image_metadata:remove": _MEMBER,
    "volume_extension:volume_host_attribute": _ADMIN,
    # Cinder: the owning project's readers see the tenant attribute; host and migration stay admin's.
    "volume_extension:volume_tenant_attribute": _READER,
    "volume_extension:volume_mig_status_attribute": _ADMIN,
    "volume_extension:volume_encryption_metadata": _READER,
    "volume_extension:volume_actions:upload_image": _MEMBER,
    "volume_extension:volume_actions:upload_public": _ADMIN,
    "volume_extension:volume_admin_actions:reset_status": _ADMIN,
    "volume_extension:volume_admin_actions:force_delete": _ADMIN,
    "volume_extension:volume_admin_actions:force_detach": _ADMIN,
    "volume_extension:volume_admin_actions:migrate_volume": _ADMIN,
    "volume_extension:volume_admin_actions:migrate_volume_completion": _ADMIN,
    "volume_extension:volume_actions:initialize_connection": _MEMBER,
    "volume_extension:volume_actions:terminate_connection": _MEMBER,
    "volume_extension:volume_actions:roll_detaching": _MEMBER,
    "volume_extension:volume_actions:reserve": _MEMBER,
    "volume_extension:volume_actions:unreserve": _MEMBER,
    "volume_extension:volume_actions:begin_detaching": _MEMBER,
    "volume_extension:volume_actions:attach": _MEMBER,
    "volume_extension:volume_actions:detach": _MEMBER,
    "volume_extension:volume_unmanage": _ADMIN,
    "volume_extension:volume_manage": _ADMIN,
    "volume_extension:list_manageable": _ADMIN,
    "volume:get_all_messages": _READER,
    "volume:summary": _READER,
    "volume:get_snapshot_metadata": _READER,
    "volume:update_snapshot_metadata": _MEMBER,
    "volume:delete_snapshot_metadata": _MEMBER,
}

_SNAPSHOTS: dict[str, str] = {
    "volume:get_snapshot": _READER,
    "volume:get_all_snapshots": _READER,
    "volume:create_snapshot": _MEMBER,
    "volume:update_snapshot": _MEMBER,
    "volume:delete_snapshot": _MEMBER,
    "volume_extension:extended_snapshot_attributes": _READER,
    "volume_extension:snapshot_admin_actions:reset_status": _ADMIN,
    "volume_extension:snapshot_admin_actions:force_delete": _ADMIN,
    "snapshot_extension:snapshot_actions:update_snapshot_status": _MEMBER,  # Tempest calls it as a member
    "snapshot_extension:snapshot_manage": _ADMIN,
    "snapshot_extension:snapshot_unmanage": _ADMIN,
    "snapshot_extension:list_manageable": _ADMIN,
}

_BACKUPS: dict[str, str] = {
    "backup:get_all": _READER,
    "backup:get": _READER,
    "backup:create": _MEMBER,
    "backup:update": _MEMBER,
    "backup:delete": _MEMBER,
    "backup:restore": _MEMBER,
    "backup:backup-import": _ADMIN,
    "backup:export-import": _ADMIN,
    "backup:backup-export": _ADMIN,
    "backup:backup_project_attribute": _ADMIN,
    "volume_extension:backup_admin_actions:reset_status": _ADMIN,
    "volume_extension:backup_admin_actions:force_delete": _ADMIN,
}

_ATTACHMENTS: dict[str, str] = {
    "volume:attachment_create": _MEMBER,
    "volume:attachment_update": _MEMBER,
    "volume:attachment_delete": _MEMBER,
    "volume:attachment_complete": _MEMBER,
    "volume:multiattach_bootable_volume": _MEMBER,
    "volume_extension:attachment:index": _READER,
    "volume_extension:attachment:show": _READER,
}

_TRANSFERS: dict[str, str] = {
    "volume:get_transfer": _READER,
    "volume:get_all_transfers": _READER,
    "volume:create_transfer": _MEMBER,
    "volume:accept_transfer": _MEMBER,
    "volume:delete_transfer": _MEMBER,
}

_TYPES_AND_QOS: dict[str, str] = {
    "volume_extension:types_manage": _ADMIN,
    "volume_extension:type_create": _ADMIN,
    "volume_extension:type_update": _ADMIN,
    "volume_extension:type_delete": _ADMIN,
    "volume_extension:type_get": _READER,
    "volume_extension:type_get_all": _READER,
    "volume_extension:access_types_extra_specs": _READER,
    "volume_extension:access_types_qos_specs_id": _ADMIN,
    "volume_extension:volume_type_access": _READER,
    "volume_extension:volume_type_access:addProjectAccess": _ADMIN,
    "volume_extension:volume_type_access:removeProjectAccess": _ADMIN,
    "volume_extension:volume_type_access:get_all_for_type": _ADMIN,
    "volume_extension:volume_type_encryption": _ADMIN,
    "volume_extension:volume_type_encryption:create": _ADMIN,
    "volume_extension:volume_type_encryption:get": _ADMIN,
    "volume_extension:volume_type_encryption:update": _ADMIN,
    "volume_extension:volume_type_encryption:delete": _ADMIN,
    "volume_extension:types_extra_specs:index": _READER,
    "volume_extension:types_extra_specs:show": _READER,
    "volume_extension:types_extra_specs:create": _ADMIN,
    "volume_extension:types_extra_specs:update": _ADMIN,
    "volume_extension:types_extra_specs:delete": _ADMIN,
    "volume_extension:types_extra_specs:read_sensitive": _ADMIN,
    "volume_extension:default_set_or_update": _ADMIN,
    "volume_extension:default_get": _ADMIN,
    "volume_extension:default_get_all": _ADMIN,
    "volume_extension:default_unset": _ADMIN,
    "volume_extension:qos_specs_manage:get": _ADMIN,
    "volume_extension:qos_specs_manage:get_all": _ADMIN,
    "volume_extension:qos_specs_manage:create": _ADMIN,
    "volume_extension:qos_specs_manage:update": _ADMIN,
    "volume_extension:qos_specs_manage:delete": _ADMIN,
}

_QUOTAS_AND_LIMITS: dict[str, str] = {
    "volume_extension:quotas:show": _READER,
    "volume_extension:quotas:update": _ADMIN,
    "volume_extension:quotas:delete": _ADMIN,
    "volume_extension:quota_classes": _ADMIN,
    "volume_extension:quota_classes:update": _ADMIN,
    "limits_extension:used_limits": _READER,
}

_OPERATIONS: dict[str, str] = {
    "volume_extension:services:index": _ADMIN,
    "volume_extension:services:update": _ADMIN,
    "volume:freeze_host": _ADMIN,
    "volume:thaw_host": _ADMIN,
    "volume:failover_host": _ADMIN,
    "volume_extension:capabilities": _ADMIN,
    "scheduler_extension:scheduler_stats:get_pools": _ADMIN,
    "volume_extension:hosts": _ADMIN,
    "volume_extension:availability_zone_list": _ANYONE,
    "volume:get_all_messages_admin": _ADMIN,
    "message:get": _READER,
    "message:get_all": _READER,
    "message:delete": _MEMBER,
    "clusters:get_all": _ADMIN,
    "clusters:get": _ADMIN,
    "clusters:update": _ADMIN,
    "workers:cleanup": _ADMIN,
    "volume_extension:extensions": _ANYONE,
}

_GROUPS: dict[str, str] = {
    "group:group_types_manage": _ADMIN,
    "group:group_types:create": _ADMIN,
    "group:group_types:update": _ADMIN,
    "group:group_types:delete": _ADMIN,
    "group:access_group_types_specs": _ADMIN,
    "group:group_types_specs": _ADMIN,
    "group:group_types_specs:get": _ADMIN,
    "group:group_types_specs:get_all": _ADMIN,
    "group:group_types_specs:create": _ADMIN,
    "group:group_types_specs:update": _ADMIN,
    "group:group_types_specs:delete": _ADMIN,
    "group:get_all": _READER,
    "group:create": _MEMBER,
    "group:get": _READER,
    "group:update": _MEMBER,
    "group:delete": _MEMBER,
    "group:reset_status": _ADMIN,
    "group:enable_replication": _MEMBER,
    "group:disable_replication": _MEMBER,
    "group:failover_replication": _MEMBER,
    "group:list_replication_targets": _MEMBER,
    "group:get_all_group_snapshots": _READER,
    "group:create_group_snapshot": _MEMBER,
    "group:get_group_snapshot": _READER,
    "group:delete_group_snapshot": _MEMBER,
    "group:update_group_snapshot": _MEMBER,
    "group:reset_group_snapshot_status": _ADMIN,
}

DEFAULT_RULES: dict[str, str] = {
    **_BASE, **_VOLUMES, **_SNAPSHOTS, **_BACKUPS, **_ATTACHMENTS, **_TRANSFERS, **_TYPES_AND_QOS,
    **_QUOTAS_AND_LIMITS, **_OPERATIONS, **_GROUPS,
}

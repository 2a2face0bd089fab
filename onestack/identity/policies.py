"""Default identity policy, in OpenStack's rule language.

The personas are Keystone's: ``admin`` (any scope) may do everything; ``reader`` with
system scope may read everything; ``reader`` on a domain may read inside that domain;
users may always read and manage what is their own. ``admin`` implies ``member``
implies ``reader`` through implied roles, so a rule that names ``reader`` admits all
three. Override any rule with a YAML file (``identity.policy_file``).
"""

from __future__ import annotations

ADMIN = "rule:admin_required"
SYSTEM_READER = "(role:reader and system_scope:all)"
ADMIN_OR_SYSTEM_READER = f"{ADMIN} or {SYSTEM_READER}"


def _readers(domain_attr: str, *extra: str) -> str:
    """Admin, system readers, readers of the domain named by ``domain_attr``, plus ``extra``."""
    parts = [ADMIN, SYSTEM_READER, f"(role:reader and domain_id:%({domain_attr})s)", *extra]
    return " or ".join(parts)


DEFAULT_RULES: dict[str, str] = {
    "default": ADMIN,
    "admin_required": "role:admin or is_admin:1",
    "service_role": "role:service",
    "service_or_admin": "rule:admin_required or rule:service_role",
    "owner": "user_id:%(user_id)s",
    "admin_or_owner": "rule:admin_required or rule:owner",
    "token_subject": "user_id:%(target.token.user_id)s",
    "admin_or_token_subject": "rule:admin_required or rule:token_subject",
    "service_admin_or_token_subject": "rule:service_or_admin or rule:token_subject",
    # tokens
    "identity:validate_token": f"rule:service_admin_or_token_subject or {SYSTEM_READER}",
    "identity:check_token": f"rule:admin_or_token_subject or {SYSTEM_READER}",
    "identity:revoke_token": "rule:admin_or_token_subject",
    "identity:get_auth_catalog": "",
    "identity:get_auth_projects": "",
    "identity:get_auth_domains": "",
    "identity:get_auth_system": "",
    "identity:list_revoke_events": f"rule:service_or_admin or {SYSTEM_READER}",
    # catalog
    "identity:get_region": "",
    "identity:list_regions": "",
    "identity:create_region": ADMIN,
    "identity:update_region": ADMIN,
    "identity:delete_region": ADMIN,
    "identity:get_service": ADMIN_OR_SYSTEM_READER,
    "identity:list_services": ADMIN_OR_SYSTEM_READER,
    "identity:create_service": ADMIN,
    "identity:update_service": ADMIN,
    "identity:delete_service": ADMIN,
    "identity:get_endpoint": ADMIN_OR_SYSTEM_READER,
    "identity:list_endpoints": ADMIN_OR_SYSTEM_READER,
    "identity:create_endpoint": ADMIN,
    "identity:update_endpoint": ADMIN,
    "identity:delete_endpoint": ADMIN,
    # domains and projects
    "identity:get_domain": _readers("target.domain.id", "token.project.domain.id:%(target.domain.id)s"),
    "identity:list_domains": ADMIN_OR_SYSTEM_READER,
    "identity:create_domain": ADMIN,
    "identity:update_domain": ADMIN,
    "identity:delete_domain": ADMIN,
    "identity:get_project": _readers("target.project.domain_id", "project_id:%(target.project.id)s"),
    "identity:list_projects": _readers("target.domain_id"),
    "identity:list_user_projects": _readers("target.user.domain_id", "user_id:%(target.user.id)s"),
    "identity:create_project": ADMIN,
    "identity:update_project": ADMIN,
    "identity:delete_project": ADMIN,
    "identity:get_project_tag": _readers("target.project.domain_id", "project_id:%(target.project.id)s"),
    "identity:list_project_tags": _readers("target.project.domain_id", "project_id:%(target.project.id)s"),
    "identity:create_project_tag": f"{ADMIN} or (role:member and project_id:%(target.project.id)s)",
    "identity:update_project_tags": f"{ADMIN} or (role:member and project_id:%(target.project.id)s)",
    "identity:delete_project_tag": f"{ADMIN} or (role:member and project_id:%(target.project.id)s)",
    "identity:delete_project_tags": f"{ADMIN} or (role:member and project_id:%(target.project.id)s)",
    # users and groups
    "identity:get_user": _readers("target.user.domain_id", "user_id:%(target.user.id)s"),
    "identity:list_users": _readers("target.domain_id"),
    "identity:create_user": ADMIN,
    "identity:update_user": ADMIN,
    "identity:delete_user": ADMIN,
    "identity:get_group": _readers("target.group.domain_id"),
    "identity:list_groups": _readers("target.domain_id"),
    "identity:list_groups_for_user": _readers("target.user.domain_id", "user_id:%(target.user.id)s"),
    "identity:create_group": ADMIN,
    "identity:update_group": ADMIN,
    "identity:delete_group": ADMIN,
    "identity:list_users_in_group": _readers("target.group.domain_id"),
    "identity:remove_user_from_group": ADMIN,
    "identity:check_user_in_group": _readers("target.group.domain_id"),
    "identity:add_user_to_group": ADMIN,
    # roles and assignments
    "identity:get_role": ADMIN_OR_SYSTEM_READER,
    "identity:list_roles": ADMIN_OR_SYSTEM_READER,
    "identity:create_role": ADMIN,
    "identity:update_role": ADMIN,
    "identity:delete_role": ADMIN,
    "identity:get_domain_role": ADMIN_OR_SYSTEM_READER,
    "identity:list_domain_roles": ADMIN_OR_SYSTEM_READER,
    "identity:create_domain_role": ADMIN,
    "identity:update_domain_role": ADMIN,
    "identity:delete_domain_role": ADMIN,
    "identity:get_implied_role": ADMIN_OR_SYSTEM_READER,
    "identity:list_implied_roles": ADMIN_OR_SYSTEM_READER,
    "identity:list_role_inference_rules": ADMIN_OR_SYSTEM_READER,
    "identity:check_implied_role": ADMIN_OR_SYSTEM_READER,
    "identity:create_implied_role": ADMIN,
    "identity:delete_implied_role": ADMIN,
    "identity:check_grant": ADMIN_OR_SYSTEM_READER,
    "identity:list_grants": ADMIN_OR_SYSTEM_READER,
    "identity:create_grant": ADMIN,
    "identity:revoke_grant": ADMIN,
    "identity:list_system_grants_for_user": ADMIN_OR_SYSTEM_READER,
    "identity:check_system_grant_for_user": ADMIN_OR_SYSTEM_READER,
    "identity:create_system_grant_for_user": ADMIN,
    "identity:revoke_system_grant_for_user": ADMIN,
    "identity:list_system_grants_for_group": ADMIN_OR_SYSTEM_READER,
    "identity:check_system_grant_for_group": ADMIN_OR_SYSTEM_READER,
    "identity:create_system_grant_for_group": ADMIN,
    "identity:revoke_system_grant_for_group": ADMIN,
    "identity:list_role_assignments": _readers("target.domain_id"),
    "identity:list_role_assignments_for_tree": _readers("target.project.domain_id"),
    # application credentials, access rules, credentials
    "identity:get_application_credential": f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.user.id)s",
    "identity:list_application_credentials": f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.user.id)s",
    "identity:create_application_credential": "user_id:%(target.user.id)s",
    "identity:delete_application_credential": f"{ADMIN} or user_id:%(target.user.id)s",
    "identity:get_access_rule": f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.user.id)s",
    "identity:list_access_rules": f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.user.id)s",
    "identity:delete_access_rule": f"{ADMIN} or user_id:%(target.user.id)s",
    "identity:get_credential": f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.credential.user_id)s",
    "identity:list_credentials": f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.credential.user_id)s",
    "identity:create_credential": f"{ADMIN} or user_id:%(target.credential.user_id)s",
    "identity:update_credential": f"{ADMIN} or user_id:%(target.credential.user_id)s",
    "identity:delete_credential": f"{ADMIN} or user_id:%(target.credential.user_id)s",
    "identity:ec2_get_credential": f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.credential.user_id)s",
    "identity:ec2_list_credentials": f"{ADMIN_OR_SYSTEM_READER} or rule:owner",
    "identity:ec2_create_credential": "rule:admin_or_owner",
    "identity:ec2_delete_credential": f"{ADMIN} or user_id:%(target.credential.user_id)s",
    # trusts
    "identity:create_trust": "user_id:%(trust.trustor_user_id)s",
    "identity:list_trusts": ADMIN_OR_SYSTEM_READER,
    "identity:list_trusts_for_trustor": f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.trust.trustor_user_id)s",
    "identity:list_trusts_for_trustee": f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.trust.trustee_user_id)s",
    "identity:list_roles_for_trust": (
        f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.trust.trustor_user_id)s"
        " or user_id:%(target.trust.trustee_user_id)s"
    ),
    "identity:get_role_for_trust": (
        f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.trust.trustor_user_id)s"
        " or user_id:%(target.trust.trustee_user_id)s"
    ),
    "identity:get_trust": (
        f"{ADMIN_OR_SYSTEM_READER} or user_id:%(target.trust.trustor_user_id)s"
        " or user_id:%(target.trust.trustee_user_id)s"
    ),
    "identity:delete_trust": f"{ADMIN} or user_id:%(target.trust.trustor_user_id)s",
    # OS-OAUTH1 consumers and access tokens: Keystone's defaults are an admin's (readers may list consumers)
    "identity:create_consumer": ADMIN,
    "identity:get_consumer": ADMIN_OR_SYSTEM_READER,
    "identity:list_consumers": ADMIN_OR_SYSTEM_READER,
    "identity:update_consumer": ADMIN,
    "identity:delete_consumer": ADMIN,
    "identity:authorize_request_token": ADMIN,
    "identity:list_access_tokens": ADMIN,
    "identity:get_access_token": ADMIN,
    "identity:delete_access_token": ADMIN,
    "identity:list_access_token_roles": ADMIN,
    "identity:get_access_token_role": ADMIN,
    # endpoint filtering
    "identity:add_endpoint_to_project": ADMIN,
    "identity:check_endpoint_in_project": ADMIN_OR_SYSTEM_READER,
    "identity:list_endpoints_for_project": ADMIN_OR_SYSTEM_READER,
    "identity:list_projects_for_endpoint": ADMIN_OR_SYSTEM_READER,
    "identity:remove_endpoint_from_project": ADMIN,
    "identity:create_endpoint_group": ADMIN,
    "identity:list_endpoint_groups": ADMIN_OR_SYSTEM_READER,
    "identity:get_endpoint_group": ADMIN_OR_SYSTEM_READER,
    "identity:update_endpoint_group": ADMIN,
    "identity:delete_endpoint_group": ADMIN,
    "identity:list_projects_associated_with_endpoint_group": ADMIN_OR_SYSTEM_READER,
    "identity:list_endpoints_associated_with_endpoint_group": ADMIN_OR_SYSTEM_READER,
    "identity:get_endpoint_group_in_project": ADMIN_OR_SYSTEM_READER,
    "identity:list_endpoint_groups_for_project": ADMIN_OR_SYSTEM_READER,
    "identity:add_endpoint_group_to_project": ADMIN,
    "identity:remove_endpoint_group_from_project": ADMIN,
    # unified limits
    "identity:get_registered_limit": "",
    "identity:list_registered_limits": "",
    "identity:create_registered_limits": ADMIN,
    "identity:update_registered_limit": ADMIN,
    "identity:delete_registered_limit": ADMIN,
    "identity:get_limit_model": "",
    "identity:get_limit": _readers("target.limit.project.domain_id", "project_id:%(target.limit.project_id)s"),
    "identity:list_limits": "",
    "identity:create_limits": ADMIN,
    "identity:update_limit": ADMIN,
    "identity:delete_limit": ADMIN,
    # domain configuration and policies
    "identity:create_domain_config": ADMIN,
    "identity:get_domain_config": ADMIN_OR_SYSTEM_READER,
    "identity:get_security_compliance_domain_config": "",
    "identity:update_domain_config": ADMIN,
    "identity:delete_domain_config": ADMIN,
    "identity:get_domain_config_default": ADMIN_OR_SYSTEM_READER,
    "identity:create_policy": ADMIN,
    "identity:get_policy": ADMIN_OR_SYSTEM_READER,
    "identity:list_policies": ADMIN_OR_SYSTEM_READER,
    "identity:update_policy": ADMIN,
    "identity:delete_policy": ADMIN,
    "identity:create_policy_association_for_endpoint": ADMIN,
    "identity:check_policy_association_for_endpoint": ADMIN_OR_SYSTEM_READER,
    "identity:delete_policy_association_for_endpoint": ADMIN,
    "identity:create_policy_association_for_service": ADMIN,
    "identity:check_policy_association_for_service": ADMIN_OR_SYSTEM_READER,
    "identity:delete_policy_association_for_service": ADMIN,
    "identity:create_policy_association_for_region_and_service": ADMIN,
    "identity:check_policy_association_for_region_and_service": ADMIN_OR_SYSTEM_READER,
    "identity:delete_policy_association_for_region_and_service": ADMIN,
    "identity:get_policy_for_endpoint": ADMIN_OR_SYSTEM_READER,
    "identity:list_endpoints_for_policy": ADMIN_OR_SYSTEM_READER,
}

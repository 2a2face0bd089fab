"""Domain-specific configuration: per-domain overrides of the identity and ldap option groups.

Only the options below may be set per domain. Values are stored as JSON so a number stays a
number. Sensitive options (the LDAP bind password) are stored but never returned.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import Forbidden, NotFound
from onestack.identity.models import DomainConfig
from onestack.identity.service.projects import get_domain

Config = dict[str, dict[str, Any]]

# Our defaults for every option a domain may override (names are Keystone's option names).
_LDAP_DEFAULTS: dict[str, Any] = {
    "url": "ldap://localhost", "user": None, "suffix": "cn=example,cn=com", "query_scope": "one",
    "page_size": 0, "alias_dereferencing": "default", "debug_level": None, "chase_referrals": None,
    "user_tree_dn": None, "user_filter": None, "user_objectclass": "inetOrgPerson",
    "user_id_attribute": "cn", "user_name_attribute": "sn", "user_description_attribute": "description",
    "user_mail_attribute": "mail", "user_pass_attribute": "userPassword",
    "user_enabled_attribute": "enabled", "user_enabled_invert": False, "user_enabled_mask": 0,
    "user_enabled_default": "True", "user_attribute_ignore": ["default_project_id"],
    "user_default_project_id_attribute": None, "user_enabled_emulation": False,
    "user_enabled_emulation_dn": None, "user_enabled_emulation_use_group_config": False,
    "user_additional_attribute_mapping": [], "group_tree_dn": None, "group_filter": None,
    "group_objectclass": "groupOfNames", "group_id_attribute": "cn", "group_name_attribute": "ou",
    "group_member_attribute": "member", "group_members_are_ids": False,
    "group_desc_attribute": "description", "group_attribute_ignore": [],
    "group_additional_attribute_mapping": [], "tls_cacertfile": None, "tls_cacertdir": None,
    "use_tls": False, "tls_req_cert": "demand", "use_pool": True, "pool_size": 10, "pool_retry_max": 3,
    "pool_retry_delay": 0.1, "pool_connection_timeout": -1, "pool_connection_lifetime": 600,
    "use_auth_pool": True, "auth_pool_size": 100, "auth_pool_connection_lifetime": 60,
}
SENSITIVE: dict[str, set[str]] = {"identity": set(), "ldap": {"password"}}
SECURITY_COMPLIANCE = "security_compliance"
SECURITY_OPTIONS = ("password_regex", "password_regex_description")
DEFAULT_DOMAIN = "default"


def defaults(list_limit: int) -> Config:
    """The values a domain gets for options it does not override (non-sensitive only)."""
    return {"identity": {"driver": "sql", "list_limit": list_limit or None}, "ldap": dict(_LDAP_DEFAULTS)}


WHITELISTED: dict[str, set[str]] = {group: set(opts) for group, opts in defaults(0).items()}


def check_group_option(group: str | None, option: str | None = None) -> None:
    """403 for a group or option that cannot be configured per domain (Keystone's rule)."""
    if group is None:
        return
    if group not in WHITELISTED:
        raise Forbidden(f"Invalid domain specific configuration: group {group} is not supported for "
                        "domain specific configurations.")
    if option is not None and option not in WHITELISTED[group] and option not in SENSITIVE[group]:
        raise Forbidden(f"Invalid domain specific configuration: option {option} in group {group} is not "
                        "supported for domain specific configurations.")


def check_config(config: Any) -> None:
    if not isinstance(config, dict) or not config:
        raise Forbidden("Invalid domain specific configuration: no options specified.")
    for group, options in config.items():
        check_group_option(group)
        if not isinstance(options, dict) or not options:
            raise Forbidden(f"Invalid domain specific configuration: group {group} must hold a non-empty "
                            "mapping of options.")
        for option in options:
            check_group_option(group, option)


def _rows(s: Session, domain_id: str, group: str | None = None, option: str | None = None) -> list[DomainConfig]:
    query = select(DomainConfig).where(DomainConfig.domain_id == domain_id)
    if group is not None:
        query = query.where(DomainConfig.group == group)
    if option is not None:
        query = query.where(DomainConfig.option == option)
    return list(s.scalars(query.order_by(DomainConfig.group, DomainConfig.option)))


def _visible(rows: list[DomainConfig]) -> Config:
    config: Config = {}
    for row in rows:
        if not row.sensitive:
            config.setdefault(row.group, {})[row.option] = (row.value or {}).get("v")
    return config


def _store(s: Session, domain_id: str, config: Config) -> None:
    for group, options in config.items():
        for option, value in options.items():
            row = s.get(DomainConfig, (domain_id, group, option))
            if row is None:
                s.add(DomainConfig(domain_id=domain_id, group=group, option=option, value={"v": value},
                                   sensitive=option in SENSITIVE[group]))
            else:
                row.value = {"v": value}
    s.flush()


def replace_config(s: Session, domain_id: str, config: Config) -> tuple[Config, bool]:
    """Set the whole config; returns it and whether the domain had one before."""
    get_domain(s, domain_id)
    check_config(config)
    existed = bool(_rows(s, domain_id))
    s.execute(delete(DomainConfig).where(DomainConfig.domain_id == domain_id))
    _store(s, domain_id, config)
    return _visible(_rows(s, domain_id)), existed


def get_config(s: Session, domain_id: str, group: str | None = None, option: str | None = None) -> Config:
    get_domain(s, domain_id)
    check_group_option(group, option)
    config = _visible(_rows(s, domain_id, group, option))
    if not config:
        what = f"option {option} in group {group}" if option else f"group {group}" if group else "any options"
        raise NotFound(f"Could not find {what} in the configuration of domain {domain_id}.")
    if group is not None and option is not None:
        return {option: config[group][option]}  # one option comes back unwrapped, as Keystone does
    return config


def update_config(s: Session, domain_id: str, config: Any, group: str | None = None,
                  option: str | None = None) -> Config:
    """Merge ``config`` into what the domain has; a group/option update must name only itself."""
    get_domain(s, domain_id)
    check_group_option(group, option)
    if option is not None:
        if not isinstance(config, dict) or set(config) != {option}:
            raise Forbidden(f"Invalid domain specific configuration: updating option {option} in group "
                            f"{group}, so that option, and only that option, must be specified.")
        config = {group: config}
    elif group is not None and (not isinstance(config, dict) or set(config) != {group}):
        raise Forbidden(f"Invalid domain specific configuration: updating group {group}, so that group, "
                        "and only that group, must be specified.")
    check_config(config)
    if not _rows(s, domain_id, group, option):
        what = f"option {option} in group {group}" if option else f"group {group}" if group else "any options"
        raise NotFound(f"Could not find {what} in the configuration of domain {domain_id}.")
    _store(s, domain_id, config)
    return _visible(_rows(s, domain_id))


def delete_config(s: Session, domain_id: str, group: str | None = None, option: str | None = None) -> None:
    get_domain(s, domain_id)
    check_group_option(group, option)
    rows = _rows(s, domain_id, group, option)
    if not rows:
        what = f"option {option} in group {group}" if option else f"group {group}" if group else "any options"
        raise NotFound(f"Could not find {what} in the configuration of domain {domain_id}.")
    for row in rows:
        s.delete(row)


def default_config(list_limit: int, group: str | None = None, option: str | None = None) -> Config:
    check_group_option(group, option)
    if option is not None and group is not None and option in SENSITIVE[group]:
        raise Forbidden(f"Invalid domain specific configuration: reading the default for option {option} in "
                        f"group {group} is not supported.")
    config = defaults(list_limit)
    if group is not None:
        config = {group: config[group]}
    if option is not None and group is not None:
        return {option: config[group][option]}
    return config


def security_compliance(regex: str, description: str, domain_id: str, option: str | None = None) -> dict[str, Any]:
    """The password rules, readable by every user; only the default domain has them."""
    if domain_id != DEFAULT_DOMAIN:
        raise Forbidden("Invalid domain specific configuration: reading security compliance information for "
                        "any domain other than the default domain is not allowed or supported.")
    values = {"password_regex": regex or None, "password_regex_description": description or None}
    if option is None:
        return values
    if option not in SECURITY_OPTIONS:
        raise Forbidden(f"Invalid domain specific configuration: reading option {option} of group "
                        f"{SECURITY_COMPLIANCE} is not supported.")
    return {option: values[option]}

"""Who may work which case, and the permissions each role's group carries.

The rule for rows lives in one place, followups.queries.cases_visible_to; the admin and
any API ask it through can_edit_case. Model permissions come from the role groups that
roles_ensure creates after every migrate.
"""

from django.contrib.auth.models import Group, Permission
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q

from followups.models import Case
from followups.queries import cases_visible_to
from followups.roles import (
    AGENTS,
    CONSENT_OFFICERS,
    SUPERVISORS,
    TEAM_LEADS,
    User,
    agent_of,
    is_supervisor,
    led_team_ids,
)

AGENT_PERMISSIONS = {
    ("followups", "view_case"),
    ("followups", "change_case"),
    ("followups", "add_contactattempt"),
    ("followups", "view_contactattempt"),
    ("followups", "view_caseevent"),
}
LEAD_PERMISSIONS = AGENT_PERMISSIONS | {
    ("followups", "view_agent"),
    ("followups", "view_team"),
    ("followups", "change_priority"),  # agents see priority read-only
}
# Rows the system writes for itself (the digest's per-recipient sending log): superusers
# only, like the inbound messages, receipts, rollups and login attempts, which no role is
# granted. The admin's index shows each role only what it works with.
PLUMBING_MODELS = ("digestdelivery",)
SUPERVISOR_SURVEY_PERMISSIONS = {
    ("surveys", f"view_{model}")
    for model in ("response", "customer", "interaction", "invitation", "consentchange", "contact")
}
# Supervisors look at customers but do not change their consent: a STOP reversed by the
# wrong person is a complaint to the regulator. Changing consent is granted by name.
CONSENT_OFFICER_PERMISSIONS = {
    ("surveys", "view_customer"),
    ("surveys", "view_consentchange"),
    ("surveys", "change_consent"),
}
# Outbound webhooks (the nps app): supervisors keep the subscriptions and read the
# delivery log, where "change" is the replay. Named by app label: followups imports no nps.
SUPERVISOR_OUTBOUND_PERMISSIONS = {
    ("nps", f"{verb}_webhooksubscription") for verb in ("view", "add", "change", "delete")
} | {("nps", "view_webhookdelivery"), ("nps", "change_webhookdelivery")}
# Accountability (issue 16). Supervisors keep the unit tree and the CRM ids that map to it
# (surveys), the targets, alert rules and report subscriptions and read the alerts and
# reports (nps, named by app label); they hold every followups permission already, problems
# and accountability entries included. Team leads, as owners of units, read the problems of
# their units, their rectification and the findings, and acknowledge their units' alerts
# (the admin scopes the rows by followups.roles.unit_scope); moving, closing and
# accountability stay with supervisors (the quality department): a unit does not close its
# own problem.
SUPERVISOR_ACCOUNTABILITY_PERMISSIONS = (
    {("surveys", f"{verb}_{model}") for verb in ("view", "add", "change")
     for model in ("unit", "unitcode")}
    | {("surveys", "delete_unitcode")}
    | {("nps", f"{verb}_{model}") for verb in ("view", "add", "change", "delete")
       for model in ("target", "alertrule", "reportsubscription")}
    | {("nps", "view_alert"), ("nps", "change_alert"), ("nps", "view_report")}
)  # fmt: skip
LEAD_PROBLEM_PERMISSIONS = {
    ("followups", f"view_{model}")
    for model in ("problem", "problemaction", "problemevent", "accountabilityentry")
} | {("nps", "view_alertrule"), ("nps", "view_alert"), ("nps", "change_alert")}
# Customer care (the care app, named by app label: followups imports no care). Supervisors
# everything; leads the campaigns their teams call for and their calls (the care admin
# scopes the rows); agents the care calls given to them.
CARE_AGENT_PERMISSIONS = {("care", "view_carecall"), ("care", "change_carecall")}
CARE_LEAD_PERMISSIONS = CARE_AGENT_PERMISSIONS | {
    ("care", f"view_{model}")
    for model in ("campaign", "campaignmember", "segment", "campaignresult")
}
# API token scopes, as groups of the token's user (followups.api, surveys.api): the CRM
# records interactions and reads cases; reporting reads responses.
CRM, REPORTING = "CRM", "Reporting"
CRM_PERMISSIONS = {
    ("surveys", "add_interaction"),
    ("followups", "view_case"),
}
REPORTING_PERMISSIONS = {("surveys", "view_response")}


def can_edit_case(user: User, case: Case) -> bool:
    """The rule of cases_visible_to: agents their cases, leads their teams', supervisors all."""
    return cases_visible_to(user).filter(pk=case.pk).exists()


def can_change_priority(user: User, case: Case) -> bool:
    """Team leads and supervisors (followups.change_priority), on cases they may work."""
    allowed = user.has_perm("followups.change_priority")
    return bool(allowed) and can_edit_case(user, case)


def permissions_named(pairs: set[tuple[str, str]], *, using: str) -> set[Permission]:
    wanted = Q(pk__in=[])
    for app_label, codename in pairs:
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return set(Permission.objects.using(using).filter(wanted))


def role_permissions(*, using: str = DEFAULT_DB_ALIAS) -> dict[str, set[Permission]]:
    on_followups = (
        Permission.objects.using(using)
        .filter(content_type__app_label="followups")
        .exclude(content_type__model__in=PLUMBING_MODELS)
    )
    return {
        AGENTS: permissions_named(AGENT_PERMISSIONS | CARE_AGENT_PERMISSIONS, using=using),
        TEAM_LEADS: permissions_named(
            LEAD_PERMISSIONS | CARE_LEAD_PERMISSIONS | LEAD_PROBLEM_PERMISSIONS, using=using
        ),
        SUPERVISORS: set(on_followups)
        | set(Permission.objects.using(using).filter(content_type__app_label="care"))
        | permissions_named(
            SUPERVISOR_SURVEY_PERMISSIONS
            | SUPERVISOR_OUTBOUND_PERMISSIONS
            | SUPERVISOR_ACCOUNTABILITY_PERMISSIONS,
            using=using,
        ),
        CONSENT_OFFICERS: permissions_named(CONSENT_OFFICER_PERMISSIONS, using=using),
        CRM: permissions_named(CRM_PERMISSIONS, using=using),
        REPORTING: permissions_named(REPORTING_PERMISSIONS, using=using),
    }


def roles_ensure(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create the role groups and grant their permissions (never removes a grant)."""
    for name, permissions in role_permissions(using=using).items():
        group, _created = Group.objects.using(using).get_or_create(name=name)
        group.permissions.add(*permissions)


def sees_only_own_cases(user: User) -> bool:
    """An agent who leads no team and supervises nothing: their work list is all they need."""
    if not user.is_authenticated or is_supervisor(user) or led_team_ids(user):
        return False
    return agent_of(user) is not None


def can_transfer(user: User, case: Case, *, to_team_id: int, named_agent: bool) -> bool:
    """Supervisors anywhere; a lead their teams' cases anywhere; an agent their own case to
    a named teammate only."""
    if not can_edit_case(user, case):
        return False
    if is_supervisor(user) or case.team_id in led_team_ids(user):
        return True
    agent = agent_of(user)
    if agent is None or case.agent_id != agent.pk:  # not their own case
        return False
    return named_agent and to_team_id == agent.team_id


def can_override_transfer(user: User, case: Case, *, to_team_id: int) -> bool:
    """Who may give a case to an agent who cannot take it now: supervisors, and the lead of
    the case's team or of the receiving team."""
    led = led_team_ids(user)
    return is_supervisor(user) or case.team_id in led or to_team_id in led

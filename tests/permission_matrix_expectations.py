"""The permission matrix: what each persona gets from every page, endpoint and export.

One row per URL (its name; an unnamed URL by its route; a URL with a fixed set of values
once per value, e.g. `admin:app_list[surveys]`, `dashboard?export=trend`). Columns, in
order: anonymous, agent (Ann, North), team lead (Lena, North), supervisor (Sue), and the
CRM's API token (a user with a token, in the CRM group, and no staff rights).

  "200", "201"  allowed             "403"  refused            "404"  not found for them
  LOGIN         302 to the admin login page, `next` the page  "401"  API: authenticate
  "302 <path>"  302 to that place   TO_CHANGE  302 to the same object's change page

tests/test_permission_matrix.py builds every URL from the URL resolver and the admin's
registry; a URL without a row here, or a row without a URL, fails there.
"""

OK, CREATED, NO, GONE, AUTH = "200", "201", "403", "404", "401"
LOGIN = "login"
TO_INDEX = "302 /admin/"
TO_MINE = "302 /admin/followups/case/mine/"
TO_CHANGE = "302 change page"
PERSONAS = ("anonymous", "agent", "team_lead", "supervisor", "api_token")

# Nobody but a superuser: the same page for every staff persona.
SUPERUSER_ONLY = (LOGIN, NO, NO, NO, LOGIN)
LEGACY_CHANGE = (LOGIN, TO_CHANGE, TO_CHANGE, TO_CHANGE, LOGIN)  # the pre-1.9 change URL
IMPORTERS = SUPERUSER_ONLY  # surveys.add_interaction, which no staff persona holds

EXPECTED: dict[str, tuple[str, str, str, str, str]] = {
    # ------------------------------------------------------------- the admin site
    #                                  anonymous  agent     lead      supervisor api_token
    "admin:index":                     (LOGIN,    OK,       OK,       OK,        LOGIN),
    "admin:login":                     (OK,       TO_INDEX, TO_INDEX, TO_INDEX,  OK),
    "admin:logout":                    (TO_INDEX, OK,       OK,       OK,        TO_INDEX),
    "admin:password_change":           (LOGIN,    OK,       OK,       OK,        LOGIN),
    "admin:password_change_done":      (LOGIN,    OK,       OK,       OK,        LOGIN),
    "admin:jsi18n":                    (LOGIN,    OK,       OK,       OK,        LOGIN),
    # the interaction form's customer picker: who may view customers
    "admin:autocomplete":              (LOGIN,    NO,       NO,       OK,        LOGIN),
    # no model has get_absolute_url: nothing to go to
    "admin:view_on_site":              (LOGIN,    GONE,     GONE,     GONE,      LOGIN),
    "admin:app_list[auth]":            (LOGIN,    GONE,     GONE,     GONE,      LOGIN),
    "admin:app_list[authtoken]":       (LOGIN,    GONE,     GONE,     GONE,      LOGIN),
    "admin:app_list[axes]":            (LOGIN,    GONE,     GONE,     GONE,      LOGIN),
    "admin:app_list[surveys]":         (LOGIN,    GONE,     GONE,     OK,        LOGIN),
    "admin:app_list[followups]":       (LOGIN,    OK,       OK,       OK,        LOGIN),
    "admin:app_list[nps]":             (LOGIN,    GONE,     OK,       OK,        LOGIN),
    "admin:app_list[care]": (LOGIN, OK, OK, OK, LOGIN),
    "/admin/(?P<url>.*)$":             (LOGIN,    GONE,     GONE,     GONE,      LOGIN),
    # ------------------------------------------------------------- users, groups, tokens
    "admin:auth_user_changelist":      SUPERUSER_ONLY,
    "admin:auth_user_add":             SUPERUSER_ONLY,
    "admin:auth_user_change":          SUPERUSER_ONLY,
    "admin:auth_user_delete":          SUPERUSER_ONLY,
    "admin:auth_user_history":         SUPERUSER_ONLY,
    "admin:auth_user_password_change": SUPERUSER_ONLY,
    "/admin/auth/user/<path:object_id>/": LEGACY_CHANGE,
    "admin:auth_group_changelist":     SUPERUSER_ONLY,
    "admin:auth_group_add":            SUPERUSER_ONLY,
    "admin:auth_group_change":         SUPERUSER_ONLY,
    "admin:auth_group_delete":         SUPERUSER_ONLY,
    "admin:auth_group_history":        SUPERUSER_ONLY,
    "/admin/auth/group/<path:object_id>/": LEGACY_CHANGE,
    "admin:authtoken_tokenproxy_changelist": SUPERUSER_ONLY,
    "admin:authtoken_tokenproxy_add":  SUPERUSER_ONLY,
    "admin:authtoken_tokenproxy_change": SUPERUSER_ONLY,
    "admin:authtoken_tokenproxy_delete": SUPERUSER_ONLY,
    "admin:authtoken_tokenproxy_history": SUPERUSER_ONLY,
    "/admin/authtoken/tokenproxy/<path:object_id>/": LEGACY_CHANGE,
    # login lockouts (django-axes): seeing and unlocking them is for superusers
    "admin:axes_accessattempt_changelist": SUPERUSER_ONLY,
    "admin:axes_accessattempt_add":    SUPERUSER_ONLY,
    "admin:axes_accessattempt_change": SUPERUSER_ONLY,
    "admin:axes_accessattempt_delete": SUPERUSER_ONLY,
    "admin:axes_accessattempt_history": SUPERUSER_ONLY,
    "/admin/axes/accessattempt/<path:object_id>/": LEGACY_CHANGE,
    # ------------------------------------------------------------- surveys: supervisors view
    #                                  anonymous  agent     lead      supervisor api_token
    "admin:surveys_customer_changelist": (LOGIN,  NO,       NO,       OK,        LOGIN),
    "admin:surveys_customer_add":      (LOGIN,    NO,       NO,       NO,        LOGIN),
    "admin:surveys_customer_change":   (LOGIN,    NO,       NO,       OK,        LOGIN),
    "admin:surveys_customer_delete":   (LOGIN,    NO,       NO,       NO,        LOGIN),
    "admin:surveys_customer_history":  (LOGIN,    NO,       NO,       OK,        LOGIN),
    "/admin/surveys/customer/<path:object_id>/": LEGACY_CHANGE,
    "admin:surveys_interaction_changelist": (LOGIN, NO,     NO,       OK,        LOGIN),
    "admin:surveys_interaction_add":   (LOGIN,    NO,       NO,       NO,        LOGIN),
    "admin:surveys_interaction_change": (LOGIN,   NO,       NO,       OK,        LOGIN),
    "admin:surveys_interaction_delete": (LOGIN,   NO,       NO,       NO,        LOGIN),
    "admin:surveys_interaction_history": (LOGIN,  NO,       NO,       OK,        LOGIN),
    "/admin/surveys/interaction/<path:object_id>/": LEGACY_CHANGE,
    "admin:surveys_invitation_changelist": (LOGIN, NO,      NO,       OK,        LOGIN),
    "admin:surveys_invitation_add":    (LOGIN,    NO,       NO,       NO,        LOGIN),
    "admin:surveys_invitation_change": (LOGIN,    NO,       NO,       OK,        LOGIN),
    "admin:surveys_invitation_delete": (LOGIN,    NO,       NO,       NO,        LOGIN),
    "admin:surveys_invitation_history": (LOGIN,   NO,       NO,       OK,        LOGIN),
    "/admin/surveys/invitation/<path:object_id>/": LEGACY_CHANGE,
    "admin:surveys_response_changelist": (LOGIN,  NO,       NO,       OK,        LOGIN),
    "admin:surveys_response_add":      (LOGIN,    NO,       NO,       NO,        LOGIN),
    "admin:surveys_response_change":   (LOGIN,    NO,       NO,       OK,        LOGIN),
    "admin:surveys_response_delete":   (LOGIN,    NO,       NO,       NO,        LOGIN),
    "admin:surveys_response_history":  (LOGIN,    NO,       NO,       OK,        LOGIN),
    "/admin/surveys/response/<path:object_id>/": LEGACY_CHANGE,
    # ------------------------------------------------------------- surveys: configuration and
    # raw traffic, for superusers only (no role group carries these permissions)
    "admin:surveys_survey_changelist": SUPERUSER_ONLY,
    "admin:surveys_survey_add":        SUPERUSER_ONLY,
    "admin:surveys_survey_change":     SUPERUSER_ONLY,
    "admin:surveys_survey_delete":     SUPERUSER_ONLY,
    "admin:surveys_survey_history":    SUPERUSER_ONLY,
    "/admin/surveys/survey/<path:object_id>/": LEGACY_CHANGE,
    "admin:surveys_reasoncategory_changelist": SUPERUSER_ONLY,
    "admin:surveys_reasoncategory_add": SUPERUSER_ONLY,
    "admin:surveys_reasoncategory_change": SUPERUSER_ONLY,
    "admin:surveys_reasoncategory_delete": SUPERUSER_ONLY,
    "admin:surveys_reasoncategory_history": SUPERUSER_ONLY,
    "/admin/surveys/reasoncategory/<path:object_id>/": LEGACY_CHANGE,
    "admin:surveys_recategorisationrun_changelist": SUPERUSER_ONLY,
    "admin:surveys_recategorisationrun_add": SUPERUSER_ONLY,
    "admin:surveys_recategorisationrun_change": SUPERUSER_ONLY,
    "admin:surveys_recategorisationrun_delete": SUPERUSER_ONLY,
    "admin:surveys_recategorisationrun_history": SUPERUSER_ONLY,
    "/admin/surveys/recategorisationrun/<path:object_id>/": LEGACY_CHANGE,
    "admin:surveys_contact_changelist": (LOGIN,   NO,       NO,       OK,        LOGIN),
    "admin:surveys_contact_add":       (LOGIN,    NO,       NO,       NO,        LOGIN),
    "admin:surveys_contact_change":    (LOGIN,    NO,       NO,       OK,        LOGIN),
    "admin:surveys_contact_delete":    (LOGIN,    NO,       NO,       NO,        LOGIN),
    "admin:surveys_contact_history":   (LOGIN,    NO,       NO,       OK,        LOGIN),
    "/admin/surveys/contact/<path:object_id>/": LEGACY_CHANGE,
    "admin:surveys_contactpolicy_changelist": SUPERUSER_ONLY,
    "admin:surveys_contactpolicy_add": SUPERUSER_ONLY,
    "admin:surveys_contactpolicy_change": SUPERUSER_ONLY,
    "admin:surveys_contactpolicy_delete": SUPERUSER_ONLY,
    "admin:surveys_contactpolicy_history": SUPERUSER_ONLY,
    "/admin/surveys/contactpolicy/<path:object_id>/": LEGACY_CHANGE,
    "admin:surveys_gatewaytemplate_changelist": SUPERUSER_ONLY,
    "admin:surveys_gatewaytemplate_add": SUPERUSER_ONLY,
    "admin:surveys_gatewaytemplate_change": SUPERUSER_ONLY,
    "admin:surveys_gatewaytemplate_delete": SUPERUSER_ONLY,
    "admin:surveys_gatewaytemplate_history": SUPERUSER_ONLY,
    "/admin/surveys/gatewaytemplate/<path:object_id>/": LEGACY_CHANGE,
    "admin:surveys_gatewayprice_changelist": SUPERUSER_ONLY,
    "admin:surveys_gatewayprice_add": SUPERUSER_ONLY,
    "admin:surveys_gatewayprice_change": SUPERUSER_ONLY,
    "admin:surveys_gatewayprice_delete": SUPERUSER_ONLY,
    "admin:surveys_gatewayprice_history": SUPERUSER_ONLY,
    "/admin/surveys/gatewayprice/<path:object_id>/": LEGACY_CHANGE,
    # Interaction imports: whoever may record interactions (surveys.add_interaction; no
    # staff persona has it); the record is read-only, never deleted.
    "admin:surveys_interactionimport_changelist": IMPORTERS,
    "admin:surveys_interactionimport_add": IMPORTERS,
    "admin:surveys_interactionimport_change": IMPORTERS,
    "admin:surveys_interactionimport_delete": IMPORTERS,
    "admin:surveys_interactionimport_history": IMPORTERS,
    "admin:surveys_interactionimport_mapping": IMPORTERS,
    "admin:surveys_interactionimport_progress": IMPORTERS,
    "admin:surveys_interactionimport_progress_json": IMPORTERS,
    "admin:surveys_interactionimport_errors": IMPORTERS,
    "/admin/surveys/interactionimport/<path:object_id>/": LEGACY_CHANGE,
    "admin:surveys_tierthresholds_changelist": SUPERUSER_ONLY,
    "admin:surveys_tierthresholds_add": SUPERUSER_ONLY,
    "admin:surveys_tierthresholds_change": SUPERUSER_ONLY,
    "admin:surveys_tierthresholds_delete": SUPERUSER_ONLY,
    "admin:surveys_tierthresholds_history": SUPERUSER_ONLY,
    "/admin/surveys/tierthresholds/<path:object_id>/": LEGACY_CHANGE,
    # the preference taxonomy (care), edited like the reason taxonomy
    "admin:care_preferenceclass_changelist": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_preferenceclass_add": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_preferenceclass_change": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_preferenceclass_delete": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_preferenceclass_history": (LOGIN, NO, NO, OK, LOGIN),
    "/admin/care/preferenceclass/<path:object_id>/": LEGACY_CHANGE,
    "admin:care_preferencefeature_changelist": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_preferencefeature_add": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_preferencefeature_change": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_preferencefeature_delete": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_preferencefeature_history": (LOGIN, NO, NO, OK, LOGIN),
    "/admin/care/preferencefeature/<path:object_id>/": LEGACY_CHANGE,
    # care campaigns: segments, campaigns, their members, calls and results (care.admin)
    "admin:care_segment_changelist": (LOGIN, NO, OK, OK, LOGIN),
    "admin:care_segment_add": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_segment_change": (LOGIN, NO, OK, OK, LOGIN),
    "admin:care_segment_delete": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_segment_history": (LOGIN, NO, OK, OK, LOGIN),
    "/admin/care/segment/<path:object_id>/": LEGACY_CHANGE,
    "admin:care_campaign_changelist": (LOGIN, NO, OK, OK, LOGIN),
    "admin:care_campaign_add": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_campaign_change": (LOGIN, NO, OK, OK, LOGIN),
    "admin:care_campaign_delete": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_campaign_history": (LOGIN, NO, OK, OK, LOGIN),
    "/admin/care/campaign/<path:object_id>/": LEGACY_CHANGE,
    "admin:care_campaignmember_changelist": (LOGIN, NO, OK, OK, LOGIN),
    "admin:care_campaignmember_add": SUPERUSER_ONLY,
    "admin:care_campaignmember_change": (LOGIN, NO, OK, OK, LOGIN),
    "admin:care_campaignmember_delete": SUPERUSER_ONLY,
    "admin:care_campaignmember_history": (LOGIN, NO, OK, OK, LOGIN),
    "/admin/care/campaignmember/<path:object_id>/": LEGACY_CHANGE,
    "admin:care_carecall_changelist": (LOGIN, OK, OK, OK, LOGIN),
    "admin:care_carecall_add": SUPERUSER_ONLY,
    "admin:care_carecall_change": (LOGIN, TO_INDEX, OK, OK, LOGIN),
    "admin:care_carecall_delete": SUPERUSER_ONLY,
    # another agent's call is not there for an agent (the list shows each agent theirs)
    "admin:care_carecall_history": (LOGIN, TO_INDEX, OK, OK, LOGIN),
    "/admin/care/carecall/<path:object_id>/": LEGACY_CHANGE,
    # the pool and the risk model: supervisors (the pages show leads their teams')
    "admin:care_poolmember_changelist": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_poolmember_add": SUPERUSER_ONLY,
    "admin:care_poolmember_history": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_poolmember_delete": SUPERUSER_ONLY,
    "admin:care_poolmember_change": (LOGIN, NO, NO, OK, LOGIN),
    "/admin/care/poolmember/<path:object_id>/": LEGACY_CHANGE,
    # the one row's page (it refuses those without the right, as the row's change page does)
    "admin:care_poolpolicy_changelist": (LOGIN,) + ("302 /admin/care/poolpolicy/1/change/",) * 3
    + (LOGIN,),
    "admin:care_poolpolicy_add": SUPERUSER_ONLY,
    "admin:care_poolpolicy_history": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_poolpolicy_delete": SUPERUSER_ONLY,
    "admin:care_poolpolicy_change": (LOGIN, NO, NO, OK, LOGIN),
    "/admin/care/poolpolicy/<path:object_id>/": LEGACY_CHANGE,
    "admin:care_riskmodel_train": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_riskmodel_changelist": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_riskmodel_add": SUPERUSER_ONLY,
    "admin:care_riskmodel_history": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_riskmodel_delete": SUPERUSER_ONLY,
    "admin:care_riskmodel_change": (LOGIN, NO, NO, OK, LOGIN),
    "/admin/care/riskmodel/<path:object_id>/": LEGACY_CHANGE,
    "admin:care_riskscore_changelist": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_riskscore_add": SUPERUSER_ONLY,
    "admin:care_riskscore_history": (LOGIN, NO, NO, OK, LOGIN),
    "admin:care_riskscore_delete": SUPERUSER_ONLY,
    "admin:care_riskscore_change": (LOGIN, NO, NO, OK, LOGIN),
    "/admin/care/riskscore/<path:object_id>/": LEGACY_CHANGE,
    "admin:care_campaignresult_changelist": (LOGIN, NO, OK, OK, LOGIN),
    "admin:care_campaignresult_add": SUPERUSER_ONLY,
    "admin:care_campaignresult_change": (LOGIN, NO, OK, OK, LOGIN),
    "admin:care_campaignresult_delete": SUPERUSER_ONLY,
    "admin:care_campaignresult_history": (LOGIN, NO, OK, OK, LOGIN),
    "/admin/care/campaignresult/<path:object_id>/": LEGACY_CHANGE,
    "admin:surveys_inboundmessage_changelist": SUPERUSER_ONLY,
    "admin:surveys_inboundmessage_add": SUPERUSER_ONLY,
    "admin:surveys_inboundmessage_change": SUPERUSER_ONLY,
    "admin:surveys_inboundmessage_delete": SUPERUSER_ONLY,
    "admin:surveys_inboundmessage_history": SUPERUSER_ONLY,
    "/admin/surveys/inboundmessage/<path:object_id>/": LEGACY_CHANGE,
    "admin:surveys_deliveryreceipt_changelist": SUPERUSER_ONLY,
    "admin:surveys_deliveryreceipt_add": SUPERUSER_ONLY,
    "admin:surveys_deliveryreceipt_change": SUPERUSER_ONLY,
    "admin:surveys_deliveryreceipt_delete": SUPERUSER_ONLY,
    "admin:surveys_deliveryreceipt_history": SUPERUSER_ONLY,
    "/admin/surveys/deliveryreceipt/<path:object_id>/": LEGACY_CHANGE,
    "admin:surveys_outboundmessage_changelist": SUPERUSER_ONLY,
    "admin:surveys_outboundmessage_add": SUPERUSER_ONLY,
    "admin:surveys_outboundmessage_change": SUPERUSER_ONLY,
    "admin:surveys_outboundmessage_delete": SUPERUSER_ONLY,
    "admin:surveys_outboundmessage_history": SUPERUSER_ONLY,
    "/admin/surveys/outboundmessage/<path:object_id>/": LEGACY_CHANGE,
    # ------------------------------------------------------------- cases (Ann's, North's)
    #                                  anonymous  agent     lead      supervisor api_token
    "admin:followups_case_changelist": (LOGIN,    TO_MINE,  OK,       OK,        LOGIN),
    "admin:followups_case_mine":       (LOGIN,    OK,       OK,       OK,        LOGIN),
    # one's own time zone: anyone who works cases
    "admin:followups_case_time_zone":  (LOGIN,    OK,       OK,       OK,        LOGIN),
    "admin:followups_case_add":        (LOGIN,    NO,       NO,       NO,        LOGIN),
    "admin:followups_case_change":     (LOGIN,    OK,       OK,       OK,        LOGIN),
    "admin:followups_case_delete":     (LOGIN,    NO,       NO,       NO,        LOGIN),
    "admin:followups_case_history":    (LOGIN,    OK,       OK,       OK,        LOGIN),
    "admin:followups_case_call":       (LOGIN,    OK,       OK,       OK,        LOGIN),
    "admin:followups_case_attempt":    (LOGIN,    OK,       OK,       OK,        LOGIN),
    "admin:followups_case_resolve":    (LOGIN,    OK,       OK,       OK,        LOGIN),
    "admin:followups_case_unreachable": (LOGIN,   OK,       OK,       OK,        LOGIN),
    "admin:followups_case_reopen":     (LOGIN,    OK,       OK,       OK,        LOGIN),
    # changing priority: team leads and supervisors only (followups.change_priority)
    "admin:followups_case_priority":   (LOGIN,    NO,       OK,       OK,        LOGIN),
    "admin:followups_case_close":      (LOGIN,    OK,       OK,       OK,        LOGIN),
    # hold and resume, a booked callback, a transfer: whoever works the case (the services
    # refuse what the state or the role does not allow, e.g. an agent's transfer elsewhere)
    "admin:followups_case_hold":       (LOGIN,    OK,       OK,       OK,        LOGIN),
    "admin:followups_case_resume":     (LOGIN,    OK,       OK,       OK,        LOGIN),
    "admin:followups_case_appointment": (LOGIN,   OK,       OK,       OK,        LOGIN),
    "admin:followups_case_transfer":   (LOGIN,    OK,       OK,       OK,        LOGIN),
    "/admin/followups/case/<path:object_id>/": LEGACY_CHANGE,
    # ------------------------------------------------------------- who works cases
    "admin:followups_team_changelist": (LOGIN,    NO,       OK,       OK,        LOGIN),
    "admin:followups_team_add":        (LOGIN,    NO,       NO,       OK,        LOGIN),
    "admin:followups_team_change":     (LOGIN,    NO,       OK,       OK,        LOGIN),
    "admin:followups_team_delete":     (LOGIN,    NO,       NO,       OK,        LOGIN),
    "admin:followups_team_history":    (LOGIN,    NO,       OK,       OK,        LOGIN),
    "/admin/followups/team/<path:object_id>/": LEGACY_CHANGE,
    "admin:followups_agent_changelist": (LOGIN,   NO,       OK,       OK,        LOGIN),
    "admin:followups_agent_add":       (LOGIN,    NO,       NO,       OK,        LOGIN),
    "admin:followups_agent_change":    (LOGIN,    NO,       OK,       OK,        LOGIN),
    "admin:followups_agent_delete":    (LOGIN,    NO,       NO,       OK,        LOGIN),
    "admin:followups_agent_history":   (LOGIN,    NO,       OK,       OK,        LOGIN),
    "/admin/followups/agent/<path:object_id>/": LEGACY_CHANGE,
    "admin:followups_routingrule_changelist": (LOGIN, NO,   NO,       OK,        LOGIN),
    "admin:followups_routingrule_add": (LOGIN,    NO,       NO,       OK,        LOGIN),
    "admin:followups_routingrule_change": (LOGIN, NO,       NO,       OK,        LOGIN),
    "admin:followups_routingrule_delete": (LOGIN, NO,       NO,       OK,        LOGIN),
    "admin:followups_routingrule_history": (LOGIN, NO,      NO,       OK,        LOGIN),
    "/admin/followups/routingrule/<path:object_id>/": LEGACY_CHANGE,
    "admin:followups_holiday_changelist": (LOGIN, NO,       NO,       OK,        LOGIN),
    "admin:followups_holiday_add":     (LOGIN,    NO,       NO,       OK,        LOGIN),
    "admin:followups_holiday_change":  (LOGIN,    NO,       NO,       OK,        LOGIN),
    "admin:followups_holiday_delete":  (LOGIN,    NO,       NO,       OK,        LOGIN),
    "admin:followups_holiday_history": (LOGIN,    NO,       NO,       OK,        LOGIN),
    "/admin/followups/holiday/<path:object_id>/": LEGACY_CHANGE,
    # service standards: a fixed grid, edited by supervisors, never added to or deleted
    "admin:followups_servicestandard_changelist": (LOGIN, NO, NO,   OK,        LOGIN),
    "admin:followups_servicestandard_add": (LOGIN, NO,      NO,       NO,        LOGIN),
    "admin:followups_servicestandard_change": (LOGIN, NO,   NO,       OK,        LOGIN),
    "admin:followups_servicestandard_delete": (LOGIN, NO,   NO,       NO,        LOGIN),
    "admin:followups_servicestandard_history": (LOGIN, NO,  NO,       OK,        LOGIN),
    "/admin/followups/servicestandard/<path:object_id>/": LEGACY_CHANGE,
    # the digest's sending log: plumbing, superusers only (followups.permissions.PLUMBING_MODELS)
    "admin:followups_digestdelivery_changelist": (LOGIN, NO, NO,      NO,        LOGIN),
    "admin:followups_digestdelivery_add": (LOGIN, NO,       NO,       NO,        LOGIN),
    "admin:followups_digestdelivery_change": (LOGIN, NO,    NO,       NO,        LOGIN),
    "admin:followups_digestdelivery_delete": (LOGIN, NO,    NO,       NO,        LOGIN),
    "admin:followups_digestdelivery_history": (LOGIN, NO,   NO,       NO,        LOGIN),
    "/admin/followups/digestdelivery/<path:object_id>/": LEGACY_CHANGE,
    # ------------------------------------------------------------- outbound webhooks (nps):
    # supervisors keep the subscriptions and read the delivery log; "change" is the replay.
    # The log is written by events only and kept (no add, no delete).
    "admin:nps_webhooksubscription_changelist": (LOGIN, NO, NO,       OK,        LOGIN),
    "admin:nps_webhooksubscription_add": (LOGIN,  NO,       NO,       OK,        LOGIN),
    "admin:nps_webhooksubscription_change": (LOGIN, NO,     NO,       OK,        LOGIN),
    "admin:nps_webhooksubscription_delete": (LOGIN, NO,     NO,       OK,        LOGIN),
    "admin:nps_webhooksubscription_history": (LOGIN, NO,    NO,       OK,        LOGIN),
    "/admin/nps/webhooksubscription/<path:object_id>/": LEGACY_CHANGE,
    "admin:nps_webhookdelivery_changelist": (LOGIN, NO,     NO,       OK,        LOGIN),
    "admin:nps_webhookdelivery_add":   (LOGIN,    NO,       NO,       NO,        LOGIN),
    "admin:nps_webhookdelivery_change": (LOGIN,   NO,       NO,       OK,        LOGIN),
    "admin:nps_webhookdelivery_delete": (LOGIN,   NO,       NO,       NO,        LOGIN),
    "admin:nps_webhookdelivery_history": (LOGIN,  NO,       NO,       OK,        LOGIN),
    # the change page's Replay button: POST only (a GET changes nothing: 405)
    "admin:nps_webhookdelivery_replay": (LOGIN,   NO,       NO,       "405",     LOGIN),
    "/admin/nps/webhookdelivery/<path:object_id>/": LEGACY_CHANGE,
    # ------------------------------------------------------------- the API: the CRM's token
    # records interactions (a session does not: token only); reading answers needs
    # surveys.view_response, which only supervisors' role carries
    #                                  anonymous  agent     lead      supervisor api_token
    "api-interactions":                (AUTH,     AUTH,     AUTH,     AUTH,      CREATED),
    "api-responses":                   (AUTH,     NO,       NO,       OK,        NO),
    "api-response":                    (AUTH,     NO,       NO,       OK,        NO),
    # the CRM's cases (followups.view_case, its group's scope): a token only
    # a care campaign's offer redeemed by the CRM (any API token; sessions are not asked)
    "api-care-offer-redeem": (AUTH, AUTH, AUTH, AUTH, OK),
    "api-cases":                       (AUTH,     AUTH,     AUTH,     AUTH,      OK),
    "api-case":                        (AUTH,     AUTH,     AUTH,     AUTH,      OK),
    "api-schema":                      (OK,       OK,       OK,       OK,        OK),
    # ------------------------------------------------------------- the dashboard
    "dashboard":                       (LOGIN,    NO,       OK,       OK,        LOGIN),
    "dashboard?export=headline":       (LOGIN,    NO,       OK,       OK,        LOGIN),
    "dashboard?export=trend":          (LOGIN,    NO,       OK,       OK,        LOGIN),
    "dashboard?export=breakdown_touchpoint": (LOGIN, NO,    OK,       OK,        LOGIN),
    "dashboard?export=breakdown_channel": (LOGIN, NO,       OK,       OK,        LOGIN),
    "dashboard?export=breakdown_business_type": (LOGIN, NO, OK,       OK,        LOGIN),
    "dashboard?export=breakdown_region": (LOGIN,  NO,       OK,       OK,        LOGIN),
    "dashboard?export=breakdown_tier": (LOGIN,    NO,       OK,       OK,        LOGIN),
    "dashboard?export=breakdown_team": (LOGIN,    NO,       OK,       OK,        LOGIN),
    "dashboard?export=breakdown_agent": (LOGIN,   NO,       OK,       OK,        LOGIN),
    "dashboard?export=funnel":         (LOGIN,    NO,       OK,       OK,        LOGIN),
    "dashboard?export=costs":          (LOGIN,    NO,       OK,       OK,        LOGIN),
    "dashboard?export=closed_loop":    (LOGIN,    NO,       OK,       OK,        LOGIN),
    "dashboard?export=reasons":        (LOGIN,    NO,       OK,       OK,        LOGIN),
    "dashboard?export=verbatims":      (LOGIN,    NO,       OK,       OK,        LOGIN),
    "dashboard-plotly":                (OK,       OK,       OK,       OK,        OK),
    # ------------------------------------------------------------- the pool and campaign pages
    # the dashboard's rule: supervisors everything, a lead their teams' (the campaign is
    # North's, Lena's team), anyone else 403
    "care-pool": (LOGIN, NO, OK, OK, LOGIN),
    "care-campaigns": (LOGIN, NO, OK, OK, LOGIN),
    "care-campaign": (LOGIN, NO, OK, OK, LOGIN),
    # the language switch (POST, then back to the dashboard, which decides)
    "set_language":                    ("302 /dashboard/",) * 5,
    # ------------------------------------------------------------- elsewhere
    "/":                               (TO_INDEX,) * 5,
    # gateways' webhooks: their signature, never a session or a token (unsigned: 403)
    "webhook-inbound[console]":        (NO,) * 5,
    "webhook-inbound[simulator]":      (NO,) * 5,
    "webhook-inbound[twilio]":         (NO,) * 5,
    "webhook-status[console]":         (NO,) * 5,
    "webhook-status[simulator]":       (NO,) * 5,
    "webhook-status[twilio]":          (NO,) * 5,
    # Not among the gateways enabled by default (NPS_GATEWAYS): 404 for everyone.
    "webhook-inbound[alibaba]":        (GONE,) * 5,
    "webhook-status[alibaba]":         (GONE,) * 5,
    "webhook-inbound[tencent]":        (GONE,) * 5,
    "webhook-status[tencent]":         (GONE,) * 5,
    "webhook-inbound[vonage]":         (GONE,) * 5,
    "webhook-status[vonage]":          (GONE,) * 5,
    "webhook-inbound[smpp]":           (GONE,) * 5,
    "webhook-status[smpp]":            (GONE,) * 5,
    # ------------------------------------------------------------- health and metrics
    # No login: load balancers and monitoring probe it; the answer names checks and ages
    # only (the world records beat's heartbeat first).
    "health":                          (OK,) * 5,
    "health-web":                      (OK,) * 5,  # database and broker only
    # Prometheus only, by its bearer token (NPS_METRICS_TOKEN, unset in tests: no endpoint).
    "metrics":                         (GONE,) * 5,
    # ------------------------------------------------------------- accountability (issue 16)
    # units and the CRM ids mapped to them: supervisors keep them; a unit with children or
    # interactions is not deleted (PROTECT), so nobody is offered the delete page
    "admin:surveys_unit_changelist":   (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:surveys_unit_add":          (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:surveys_unit_history":      (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:surveys_unit_delete":       (LOGIN,    NO,       NO,       NO,       LOGIN),
    "admin:surveys_unit_change":       (LOGIN,    NO,       NO,       OK,       LOGIN),
    "/admin/surveys/unit/<path:object_id>/": LEGACY_CHANGE,
    "admin:surveys_unitcode_unmapped": (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:surveys_unitcode_changelist":(LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:surveys_unitcode_add":      (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:surveys_unitcode_history":  (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:surveys_unitcode_delete":   (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:surveys_unitcode_change":   (LOGIN,    NO,       NO,       OK,       LOGIN),
    "/admin/surveys/unitcode/<path:object_id>/": LEGACY_CHANGE,
    # problems and findings: supervisors; leads read those of the units they own (none of the
    # personas owns the world's unit: an empty list, the object not found); nobody deletes one;
    # a move is a POST from the page (a GET changes nothing: 405)
    "admin:followups_problem_move":    (LOGIN,    GONE,     GONE,     "405",    LOGIN),
    "admin:followups_problem_changelist":(LOGIN,    NO,       OK,       OK,       LOGIN),
    "admin:followups_problem_add":     (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:followups_problem_history": (LOGIN,    TO_INDEX, TO_INDEX, OK,       LOGIN),
    "admin:followups_problem_delete":  (LOGIN,    NO,       NO,       NO,       LOGIN),
    "admin:followups_problem_change":  (LOGIN,    NO,       TO_INDEX, OK,       LOGIN),
    "/admin/followups/problem/<path:object_id>/": LEGACY_CHANGE,
    "admin:followups_accountabilityentry_changelist":(LOGIN, NO, OK, OK, LOGIN),
    "admin:followups_accountabilityentry_add":(LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:followups_accountabilityentry_history":(LOGIN, TO_INDEX, TO_INDEX, OK, LOGIN),
    "admin:followups_accountabilityentry_delete":(LOGIN,    NO,       NO,       NO,       LOGIN),
    "admin:followups_accountabilityentry_change":(LOGIN,    NO,       TO_INDEX, OK,       LOGIN),
    "/admin/followups/accountabilityentry/<path:object_id>/": LEGACY_CHANGE,
    # alert rules: supervisors keep them, leads read them; alerts: raised by the rules only,
    # acknowledged by supervisors and the owners of their units (the world's unit has none)
    "admin:nps_alertrule_changelist":  (LOGIN,    NO,       OK,       OK,       LOGIN),
    "admin:nps_alertrule_add":         (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:nps_alertrule_history":     (LOGIN,    NO,       OK,       OK,       LOGIN),
    "admin:nps_alertrule_delete":      (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:nps_alertrule_change":      (LOGIN,    NO,       OK,       OK,       LOGIN),
    "/admin/nps/alertrule/<path:object_id>/": LEGACY_CHANGE,
    "admin:nps_alert_changelist":      (LOGIN,    NO,       OK,       OK,       LOGIN),
    "admin:nps_alert_add":             (LOGIN,    NO,       NO,       NO,       LOGIN),
    "admin:nps_alert_history":         (LOGIN,    TO_INDEX, TO_INDEX, OK,       LOGIN),
    "admin:nps_alert_delete":          (LOGIN,    NO,       NO,       NO,       LOGIN),
    "admin:nps_alert_change":          (LOGIN,    NO,       TO_INDEX, OK,       LOGIN),
    "/admin/nps/alert/<path:object_id>/": LEGACY_CHANGE,
    # targets, reports and subscriptions: supervisors; a report is generated, never added
    "admin:nps_report_changelist":     (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:nps_report_add":            (LOGIN,    NO,       NO,       NO,       LOGIN),
    "admin:nps_report_history":        (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:nps_report_delete":         (LOGIN,    NO,       NO,       NO,       LOGIN),
    "admin:nps_report_change":         (LOGIN,    NO,       NO,       OK,       LOGIN),
    "/admin/nps/report/<path:object_id>/": LEGACY_CHANGE,
    "admin:nps_reportsubscription_changelist":(LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:nps_reportsubscription_add":(LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:nps_reportsubscription_history":(LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:nps_reportsubscription_delete":(LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:nps_reportsubscription_change":(LOGIN,    NO,       NO,       OK,       LOGIN),
    "/admin/nps/reportsubscription/<path:object_id>/": LEGACY_CHANGE,
    "admin:nps_target_changelist":     (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:nps_target_add":            (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:nps_target_history":        (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:nps_target_delete":         (LOGIN,    NO,       NO,       OK,       LOGIN),
    "admin:nps_target_change":         (LOGIN,    NO,       NO,       OK,       LOGIN),
    "/admin/nps/target/<path:object_id>/": LEGACY_CHANGE,
    # scorecards: supervisors every unit, owners their subtrees (none of the personas); the
    # report pages list what a person's units hold (nothing: an empty list, 404 for a report)
    "scorecards":                      (LOGIN,    NO,       NO,       OK,       LOGIN),
    "scorecards-staff":                (LOGIN,    NO,       NO,       OK,       LOGIN),
    "reports:list":                    (LOGIN,    OK,       OK,       OK,       LOGIN),
    "reports:detail":                  (LOGIN,    GONE,     GONE,     OK,       LOGIN),
    "reports:pdf":                     (LOGIN,    GONE,     GONE,     OK,       LOGIN),
    # the survey page: public, opened by its token only (a made-up token is not found)
    "survey-link": (GONE,) * 5,
}  # fmt: skip

# ------------------------------------------------------------- acts that are not pages
# Each posted by every persona on a fresh state; DONE means the state changed, IGNORED an
# answer that changed nothing (the action is not offered to them, or the field is
# read-only), otherwise the answer in the page matrix's words (nothing changed either).
DONE, IGNORED = "done", "ignored"

ACTS: dict[str, tuple[str, str, str, str, str]] = {
    #                                  anonymous  agent     lead      supervisor api_token
    # consent needs surveys.change_consent, which no rank carries (the Consent officers
    # group does): a supervisor views customers but cannot reverse a STOP
    "customer: mark opted out":        (LOGIN,    NO,       NO,       IGNORED,   LOGIN),
    "customer: opt back in":           (LOGIN,    NO,       NO,       IGNORED,   LOGIN),
    # priority: through its form with a reason, by team leads and supervisors
    "case: change priority":           (LOGIN,    NO,       DONE,     DONE,      LOGIN),
    # the case page's own form: priority is read-only there for everyone
    "case: priority in the case form": (LOGIN,    IGNORED,  IGNORED,  IGNORED,   LOGIN),
    # transfer to another team: leads (their teams' cases) and supervisors; an agent only
    # to a named teammate
    "case: transfer to another team":  (LOGIN,    NO,       DONE,     DONE,      LOGIN),
}  # fmt: skip

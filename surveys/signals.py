"""The one seam between surveys and the apps that act on answers.

`response_classified(sender=Response, response=<Response>, created=<bool>)` is sent
inside the transaction that stored or re-classified a response, so a receiver's
writes commit or roll back with it. Receivers must not call the network.

`responses_recorded(sender=Response, responses=<list[Response]>)` is its batch twin,
sent once for many first answers stored together (surveys.responses.responses_record,
the set-based reply path): a receiver does for each what it does for
`response_classified(created=True)`, in as few statements as it can.

`interactions_attributed(sender=Unit, unit_id=<int>, interaction_ids=<list[int]>)` is sent
by surveys.units when a CRM id mapped after the fact gives interactions their unit, inside
that transaction: followups gives their cases the unit, nps refreshes the days' rollups.
(A second signal because attribution is not an answer: neither of the others fits.)

`interactions_recorded(sender=Interaction, interactions=<list[Interaction]>)` is sent once
for many new interactions stored together without save() (a file's import,
surveys.interactions_import_pg.recorded_plan: after the file is recorded, in the
transaction that plans a batch of them, just before their surveys are planned): a
receiver does for each what it does for post_save(created=True) of one, in as few
statements as it can.
"""

from django.dispatch import Signal

response_classified = Signal()
responses_recorded = Signal()
interactions_attributed = Signal()
interactions_recorded = Signal()

"""The one seam between surveys and the apps that act on answers.

`response_classified(sender=Response, response=<Response>, created=<bool>)` is sent
inside the transaction that stored or re-classified a response, so a receiver's
writes commit or roll back with it. Receivers must not call the network.

`responses_recorded(sender=Response, responses=<list[Response]>)` is its batch twin,
sent once for many first answers stored together (surveys.responses.responses_record,
the set-based reply path): a receiver does for each what it does for
`response_classified(created=True)`, in as few statements as it can.
"""

from django.dispatch import Signal

response_classified = Signal()
responses_recorded = Signal()

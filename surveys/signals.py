"""The one seam between surveys and the apps that act on answers.

`response_classified(sender=Response, response=<Response>, created=<bool>)` is sent
inside the transaction that stored or re-classified a response, so a receiver's
writes commit or roll back with it. Receivers must not call the network.
"""

from django.dispatch import Signal

response_classified = Signal()

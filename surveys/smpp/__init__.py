"""SMPP 3.4 to an operator's SMS centre: the one long-lived gateway process and its wire.

- `wire`: the PDUs' content, pure (encodings, concatenation headers, receipt text).
- `channel`: how a Celery worker's send reaches the gateway process and hears back.
- `inbound`: what a deliver_sm becomes (a receipt or a reply), stored before it is acknowledged.
- `reassembly`: a customer's long message, its parts held unanswered until it is whole.
- `session`: the process itself: bind, keep alive, submit in a window, reconnect.

The adapter the sending kit calls is surveys/gateways/smpp.py; the process is
`manage.py run_smpp`.
"""

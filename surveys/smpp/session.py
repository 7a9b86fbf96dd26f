"""The SMPP gateway process: one transceiver bind to the SMS centre, kept alive and rebound.

One thread does everything, in a loop: take the workers' requests from the submit
channel, submit within the window, read the SMS centre's PDUs (answers, receipts,
replies), send enquire_link when the line has been quiet. Nothing here runs two things
at once, so no lock guards the state.

Sends, never twice:
- A request whose reference was answered already is answered again from memory (the
  retry of a send whose answer its worker missed); one whose reference is in flight
  waits for that submit's answer.
- A request still queued here when its sender has stopped waiting is dropped before it
  reaches the wire: its worker records a retryable failure, and the retry comes back
  with the same reference.
- A submit on the wire stays ours until answered: when the connection drops, the submits
  not yet answered (and only those) are resubmitted after the rebind, each with its
  reference in the REFERENCE_TAG TLV and the same concatenation reference, so an SMS
  centre that keeps the reference answers with the message id it gave first.
- ESME_RTHROTTLED or ESME_RMSGQFUL: that submit goes back to the head of the queue and
  submitting pauses, longer each time in a row (THROTTLE_SECONDS doubling to the cap).

Receipts and replies are stored before their deliver_sm_resp (surveys/smpp/inbound.py);
a failure to store answers ESME_RX_T_APPN, and the SMS centre delivers again later.
"""

import contextlib
import json
import logging
import select
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections, connections
from smpplib import client as smpp_client
from smpplib import consts, exceptions, smpp

from surveys.smpp.channel import ChannelDown, SubmitChannel, SubmitReply, SubmitRequest
from surveys.smpp.inbound import (
    SENT_TTL_SECONDS,
    Delivered,
    receipt_deliver,
    reply_deliver,
)
from surveys.smpp.reassembly import Reassembly
from surveys.smpp.wire import (
    REGISTERED_DELIVERY_FINAL,
    ReferencedSubmitSM,
    SubmitPart,
    destination_address,
    is_receipt,
    message_text,
    sender_phone,
    source_address,
    submit_parts,
    user_data,
)

log = logging.getLogger(__name__)

# Answers that say "not now": the submit is tried again, here or by the worker's retry.
THROTTLED = frozenset({consts.SMPP_ESME_RTHROTTLED, consts.SMPP_ESME_RMSGQFUL})
TEMPORARY = frozenset({consts.SMPP_ESME_RSYSERR, consts.SMPP_ESME_RX_T_APPN, 0xFE})
IDLE_POLL_SECONDS = 0.02


class ConnectionLost(Exception):
    """The SMS centre is gone: unbound, closed, or silent past RESPONSE_TIMEOUT."""


@dataclass
class Submission:
    """One SMS being submitted: its parts, and the workers waiting for its message id."""

    reference: str
    to: str
    parts: list[SubmitPart]
    waiting: list[str]  # request ids
    deadline: float  # the latest of its senders' deadlines (epoch seconds)
    message_ids: dict[int, str] = field(default_factory=dict)  # part index -> message id
    remembered: set[int] = field(default_factory=set)  # parts whose message is remembered
    on_wire: bool = False


@dataclass
class Outstanding:
    submission: Submission
    part: SubmitPart
    sent_at: float


class SmppSession:
    def __init__(self, *, slug: str, config: dict[str, Any], channel: SubmitChannel) -> None:
        self.slug, self.config, self.channel = slug, config, channel
        self.client: Any = None
        self.queue: deque[tuple[Submission, SubmitPart]] = deque()
        self.outstanding: dict[int, Outstanding] = {}
        self.by_reference: dict[str, Submission] = {}
        self.reassembly = Reassembly()
        self.throttle_seconds = 0.0
        self.throttled_until = 0.0
        self.enquire_sent: float | None = None
        self.last_activity = 0.0
        self.bound = threading.Event()  # set while bound: tests and the log wait on it

    # ---------------------------------------------------------------- the loop

    def run(self, stop: threading.Event) -> None:
        """Connect, bind, serve; on any loss reconnect after a capped, doubling backoff."""
        backoff = 1.0
        while not stop.is_set():
            try:
                self._bind()
                backoff = 1.0
                self._serve(stop)
            except (
                ConnectionLost,
                OSError,
                exceptions.ConnectionError,
                exceptions.PDUError,
            ) as exc:
                log.warning("SMPP connection to %s lost: %s", self._address(), exc)
            except Exception:
                # Whatever it was, the process lives on: a fresh connection after the backoff.
                log.exception("SMPP session failed; reconnecting")
            finally:
                self._disconnect()
            if stop.wait(backoff):
                break
            backoff = min(backoff * 2, float(self.config["RECONNECT_MAX_SECONDS"]))
        connections.close_all()  # this thread's own, as it ends

    def _address(self) -> str:
        return f"{self.config['HOST']}:{self.config['PORT']}"

    def _bind(self) -> None:
        self.client = smpp_client.Client(
            self.config["HOST"],
            int(self.config["PORT"]),
            timeout=float(self.config["RESPONSE_TIMEOUT"]),
            logger_name="smpplib.client",
            allow_unknown_opt_params=True,
        )
        self.client.connect()
        self.client.bind_transceiver(
            system_id=self.config["SYSTEM_ID"],
            password=self.config["PASSWORD"],
            system_type=self.config.get("SYSTEM_TYPE", ""),
        )
        self.last_activity, self.enquire_sent = time.monotonic(), None
        self.bound.set()
        log.info("SMPP bound as transceiver to %s", self._address())

    def _disconnect(self) -> None:
        """Close the socket; what was on the wire unanswered goes back to the queue's head
        in its order, and the held parts of replies are dropped (redelivered, unanswered)."""
        self.bound.clear()
        if self.client is not None:
            self._drain()
            with contextlib.suppress(Exception):  # closing a socket that is gone already
                self.client.disconnect()
            self.client = None
        for sequence in sorted(self.outstanding, reverse=True):
            waiting = self.outstanding[sequence]
            self.queue.appendleft((waiting.submission, waiting.part))
        self.outstanding.clear()
        self.reassembly.clear()

    def _drain(self) -> None:
        """Read the answers already received before the line broke (a write may fail with
        submit_sm_resp still unread): those submits are answered, not resubmitted. A
        deliver_sm read here stays unanswered; the SMS centre delivers it again."""
        sock = self.client._socket
        if sock is None:
            return
        with contextlib.suppress(Exception):  # whatever is left, until the end of it
            sock.settimeout(0.05)
            while True:
                pdu = self.client.read_pdu()
                if pdu.command == "submit_sm_resp":
                    self._on_submit_resp(pdu)

    def _serve(self, stop: threading.Event) -> None:
        while not stop.is_set():
            now = time.monotonic()
            self._take_requests()
            self._submit_ready(now)
            self._keep_alive(now)
            for whole in self.reassembly.overdue(
                now=now, limit=float(self.config["REASSEMBLY_SECONDS"])
            ):
                self._store_and_answer(whole.sequences, whole.delivered, 0)
            readable, _, _ = select.select([self.client._socket], [], [], IDLE_POLL_SECONDS)
            if readable:
                try:
                    pdu = self.client.read_pdu()
                except TimeoutError as exc:
                    raise ConnectionLost("a PDU was cut short") from exc
                self.last_activity = time.monotonic()
                self._on_pdu(pdu)
        self._unbind()

    def _unbind(self) -> None:
        with contextlib.suppress(OSError, exceptions.ConnectionError, exceptions.PDUError):
            self.client.send_pdu(smpp.make_pdu("unbind", client=self.client))

    # ---------------------------------------------------------------- submits

    def _take_requests(self) -> None:
        """Take the channel's requests while the queue is short (the rest wait in Redis)."""
        window = int(self.config["WINDOW"])
        while len(self.queue) < window:
            try:
                request = self.channel.request_take()
                if request is None:
                    return
                self._admit(request)
            except ChannelDown as exc:
                # A request taken and not answered: its worker times out and retries.
                log.warning("%s", exc)
                return

    def _admit(self, request: SubmitRequest) -> None:
        """Queue a worker's SMS, or answer it at once when its reference is known."""
        if request.deadline < time.time():
            log.info("SMPP send %s: its sender stopped waiting; dropped", request.reference)
            return
        known = self.channel.recall(f"sent:{request.reference}")
        if known:  # the retry of a send already answered: the same message id, no SMS
            self._reply(request.request_id, SubmitReply(message_id=known))
            return
        submission = self.by_reference.get(request.reference)
        if submission is not None:  # in flight: answered with it
            submission.waiting.append(request.request_id)
            submission.deadline = max(submission.deadline, request.deadline)
            return
        try:
            parts = submit_parts(request.text, reference=request.reference)
        except ValueError as exc:
            self._reply(request.request_id, SubmitReply(error=str(exc), permanent=True))
            return
        submission = Submission(
            request.reference, request.to, parts, [request.request_id], request.deadline
        )
        self.by_reference[request.reference] = submission
        self.queue.extend((submission, part) for part in parts)

    def _submit_ready(self, now: float) -> None:
        window = int(self.config["WINDOW"])
        while self.queue and len(self.outstanding) < window and now >= self.throttled_until:
            submission, part = self.queue.popleft()
            if self.by_reference.get(submission.reference) is not submission:
                continue  # failed or dropped meanwhile
            if not submission.on_wire and submission.deadline < time.time():
                # Never on the wire, and no one waits: the worker's retry brings it back.
                self._forget(submission)
                log.info("SMPP send %s: not sent in time; dropped", submission.reference)
                continue
            self._submit(submission, part, now)

    def _submit(self, submission: Submission, part: SubmitPart, now: float) -> None:
        source = self.config["SOURCE_ADDR"]
        source_ton, source_npi = source_address(source)
        dest_ton, dest_npi, destination = destination_address(submission.to)
        pdu = ReferencedSubmitSM(
            client=self.client,
            reference=submission.reference,
            reference_tag=int(self.config["REFERENCE_TAG"]),
            source_addr_ton=source_ton,
            source_addr_npi=source_npi,
            source_addr=source,
            dest_addr_ton=dest_ton,
            dest_addr_npi=dest_npi,
            destination_addr=destination,
            esm_class=part.esm_class,
            data_coding=part.data_coding,
            registered_delivery=REGISTERED_DELIVERY_FINAL,
            short_message=part.short_message,
        )
        self.outstanding[pdu.sequence] = Outstanding(submission, part, now)
        submission.on_wire = True
        self.client.send_pdu(pdu)
        self.last_activity = now

    def _on_submit_resp(self, pdu: Any) -> None:
        waiting = self.outstanding.pop(pdu.sequence, None)
        if waiting is None:
            return  # an answer to a submit of a connection before this one
        submission, part = waiting.submission, waiting.part
        status = int(pdu.status)
        if status == consts.SMPP_ESME_ROK:
            self.throttle_seconds = 0.0
            message_id = pdu.message_id
            submission.message_ids[part.index] = (
                message_id.decode() if isinstance(message_id, bytes) else str(message_id)
            )
            self._parts_remember(submission)
            if len(submission.message_ids) == len(submission.parts):
                self._accepted(submission)
        elif status in THROTTLED:
            self.queue.appendleft((submission, part))
            self._throttle()
        else:
            description = consts.DESCRIPTIONS.get(status, "unknown status")
            error = f"SMS centre refused the submit: 0x{status:08X} {description}"
            self._failed(submission, error, permanent=status not in TEMPORARY)

    def _throttle(self) -> None:
        """Pause submits: THROTTLE_SECONDS after the first refusal, doubling to the cap."""
        first, cap = (
            float(self.config["THROTTLE_SECONDS"]),
            float(self.config["THROTTLE_MAX_SECONDS"]),
        )
        self.throttle_seconds = min(self.throttle_seconds * 2 or first, cap)
        self.throttled_until = time.monotonic() + self.throttle_seconds
        log.info("SMPP throttled: submits pause %.1f s", self.throttle_seconds)

    def _parts_remember(self, submission: Submission) -> None:
        """Remember, per accepted part, its message's first id and our reference, as soon
        as the first part's id is known: a part's receipt may come before the last answer."""
        first = submission.message_ids.get(1)
        if first is None:
            return
        known = json.dumps({"message_id": first, "reference": submission.reference})
        for index, message_id in submission.message_ids.items():
            if index not in submission.remembered:
                try:
                    self.channel.remember(f"part:{message_id}", known, SENT_TTL_SECONDS)
                except ChannelDown as exc:
                    log.warning("%s", exc)  # its receipt then finds the send by id alone
                submission.remembered.add(index)

    def _accepted(self, submission: Submission) -> None:
        """Every part accepted: remember the message (its first part's id) and answer."""
        first = submission.message_ids[1]
        try:
            self.channel.remember(f"sent:{submission.reference}", first, SENT_TTL_SECONDS)
        except ChannelDown as exc:
            log.warning("%s", exc)
        for request_id in submission.waiting:
            self._reply(request_id, SubmitReply(message_id=first))
        self._forget(submission)

    def _failed(self, submission: Submission, error: str, *, permanent: bool) -> None:
        for request_id in submission.waiting:
            self._reply(request_id, SubmitReply(error=error, permanent=permanent))
        self._forget(submission)

    def _forget(self, submission: Submission) -> None:
        self.by_reference.pop(submission.reference, None)

    def _reply(self, request_id: str, reply: SubmitReply) -> None:
        try:
            self.channel.reply_put(request_id, reply)
        except ChannelDown as exc:
            log.warning("%s", exc)  # the worker times out and retries with the reference

    # ---------------------------------------------------------------- the line

    def _keep_alive(self, now: float) -> None:
        """enquire_link when the line has been quiet; no answer in time is a dead line."""
        timeout = float(self.config["RESPONSE_TIMEOUT"])
        if self.enquire_sent is not None and now - self.enquire_sent > timeout:
            raise ConnectionLost("enquire_link unanswered")
        if any(now - waiting.sent_at > timeout for waiting in self.outstanding.values()):
            raise ConnectionLost("a submit unanswered")
        if self.enquire_sent is None and now - self.last_activity >= float(
            self.config["ENQUIRE_LINK_SECONDS"]
        ):
            self.client.send_pdu(smpp.make_pdu("enquire_link", client=self.client))
            self.enquire_sent = self.last_activity = now

    def _on_pdu(self, pdu: Any) -> None:
        name = pdu.command
        if name == "submit_sm_resp":
            self._on_submit_resp(pdu)
        elif name == "deliver_sm":
            self._on_deliver(pdu)
        elif name == "enquire_link":
            self._respond(pdu, "enquire_link_resp")
        elif name == "enquire_link_resp":
            self.enquire_sent = None
        elif name == "unbind":
            self._respond(pdu, "unbind_resp")
            raise ConnectionLost("the SMS centre unbound")
        elif name == "generic_nack" and pdu.sequence in self.outstanding:
            waiting = self.outstanding.pop(pdu.sequence)
            self.queue.appendleft((waiting.submission, waiting.part))
            self._throttle()
        else:
            log.info("SMPP %s ignored", name)

    def _respond(self, pdu: Any, name: str, status: int = consts.SMPP_ESME_ROK) -> None:
        answer = smpp.make_pdu(name, client=self.client, status=status)
        answer.sequence = pdu.sequence
        self.client.send_pdu(answer)

    # ---------------------------------------------------------------- receipts and replies

    def _on_deliver(self, pdu: Any) -> None:
        """Store, then answer: deliver_sm_resp only once the receipt or reply is kept."""
        esm_class, short_message = int(pdu.esm_class or 0), bytes(pdu.short_message or b"")
        concat, payload = user_data(short_message, esm_class)
        text = message_text(payload, int(pdu.data_coding or 0))
        fields = {
            "source_addr": _text(pdu.source_addr),
            "destination_addr": _text(pdu.destination_addr),
            "esm_class": esm_class,
            "data_coding": int(pdu.data_coding or 0),
        }
        if is_receipt(esm_class) or concat is None or concat.total <= 1:
            self._store_and_answer([pdu.sequence], self._delivered(pdu, text, fields), esm_class)
            return
        whole = self.reassembly.part_add(
            concat=concat,
            text=text,
            sequence=pdu.sequence,
            fields=fields | {"source_addr_ton": int(pdu.source_addr_ton or 0)},
            now=time.monotonic(),
        )
        if whole is not None:  # the last part: the message is stored, then all answered
            self._store_and_answer(whole.sequences, whole.delivered, 0)

    def _delivered(self, pdu: Any, text: str, fields: dict[str, Any]) -> Delivered:
        state = getattr(pdu, "message_state", None)
        return Delivered(
            source_addr=sender_phone(fields["source_addr"], int(pdu.source_addr_ton or 0)),
            destination_addr=fields["destination_addr"],
            text=text,
            receipted_message_id=_text(getattr(pdu, "receipted_message_id", None)),
            message_state=int(state) if state is not None else None,
            raw=fields | {"text": text},
        )

    def _store_and_answer(self, sequences: list[int], delivered: Delivered, esm_class: int) -> None:
        close_old_connections()  # a long-lived process: a broken connection is replaced
        try:
            if is_receipt(esm_class):
                receipt_deliver(delivered, gateway=self.slug, channel=self.channel)
            else:
                dedupe = int(self.config["MO_DEDUPE_SECONDS"])
                reply_deliver(delivered, gateway=self.slug, dedupe_seconds=dedupe)
            status = consts.SMPP_ESME_ROK
        except Exception:
            # Not stored: "try again later", and the SMS centre delivers it again.
            log.exception("SMPP deliver_sm not stored; answered ESME_RX_T_APPN")
            status = consts.SMPP_ESME_RX_T_APPN
        for sequence in sequences:
            answer = smpp.make_pdu("deliver_sm_resp", client=self.client, status=status)
            answer.sequence = sequence
            self.client.send_pdu(answer)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)

"""A loopback SMS centre speaking SMPP 3.4: the simulator's SMPP side.

It accepts bind_transceiver (checking system_id and password), takes submit_sm (recorded,
answered with a message id; a submit whose reference TLV and part it has seen already is
answered with the first message id and not sent again), sends delivery receipts and
customers' messages as deliver_sm (and delivers again what was not acknowledged, as an
SMS centre does), and answers enquire_link. Fault switches, for the fault tests:

- `drop_after(received, answered)`: of the next `received` submits, answer only the first
  `answered`, keep the rest as taken but unanswered, then close the connection;
- `throttle(count)`: answer ESME_RTHROTTLED to the next `count` submits;
- `refused_numbers`: submits to these are answered ESME_RINVDSTADR.

Run it with `manage.py run_simulator --smpp-port N`, or in a test: `Smsc(...).start()`.
"""

import contextlib
import itertools
import logging
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from smpplib import consts, pdu, smpp
from smpplib.client import SimpleSequenceGenerator

from surveys.smpp.wire import (
    DATA_CODING_DEFAULT,
    ESM_RECEIPT,
    REFERENCE_TAG,
    Concat,
    ReferencedSubmitSM,
    gsm7_encode,
    message_text,
    submit_parts,
    user_data,
)

log = logging.getLogger("devtools.simulator.smsc")

MESSAGE_STATE = {"DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "REJECTD": 8}


@dataclass
class Submitted:
    """One part the SMS centre took, once (a resubmission is counted in `submits`)."""

    message_id: str
    reference: str
    to: str
    source: str
    text: str
    data_coding: int
    esm_class: int
    concat: Concat | None


@dataclass
class Delivery:
    """A deliver_sm we sent and the answer it got (None: none yet)."""

    key: str
    fields: dict[str, Any]
    answers: list[int] = field(default_factory=list)


class Smsc:
    def __init__(
        self,
        *,
        system_id: str,
        password: str,
        host: str = "127.0.0.1",
        port: int = 0,
        receipts: bool = True,
        receipt_stat: str = "DELIVRD",
        service_number: str = "10690000",
        reference_tag: int = REFERENCE_TAG,
    ) -> None:
        self.system_id, self.password = system_id, password
        self.receipts, self.receipt_stat = receipts, receipt_stat
        self.service_number, self.reference_tag = service_number, reference_tag
        self.lock = threading.RLock()
        self.sequences = SimpleSequenceGenerator()
        self.listener = socket.create_server((host, port))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[Submitted] = []
        self.submits: list[tuple[str, int]] = []  # (reference, part) of every submit_sm seen
        self.submit_times: list[float] = []  # time.monotonic() of each, in the same order
        self.refused_numbers: set[str] = set()  # answered ESME_RINVDSTADR (no "+")
        self.binds, self.refused_binds, self.enquire_links = 0, 0, 0
        self.deliveries: dict[str, Delivery] = {}
        self._pending_deliveries: dict[int, str] = {}  # deliver_sm sequence -> delivery key
        self._receipted: set[str] = set()
        self._by_key: dict[tuple[str, int, int], Submitted] = {}
        self._connection: socket.socket | None = None
        self._write_lock = threading.Lock()
        self._drop: tuple[int, int, int] | None = None  # (seen, received, answered)
        self._throttle = 0
        self._stopped = threading.Event()
        self._counter = itertools.count(1)

    # ---------------------------------------------------------------- switches

    def start(self) -> "Smsc":
        threading.Thread(target=self._accept_loop, daemon=True, name="smsc").start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):  # wakes the accept() waiting in its thread
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.drop_connection()

    def drop_after(self, *, received: int, answered: int) -> None:
        with self.lock:
            self._drop = (0, received, answered)

    def throttle(self, count: int) -> None:
        with self.lock:
            self._throttle = count

    def drop_connection(self) -> None:
        with self.lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    @property
    def bound(self) -> bool:
        return self._connection is not None

    # ---------------------------------------------------------------- what it sends

    def send_mo(self, phone: str, text: str, *, to: str = "") -> list[str]:
        """A customer's message to us, in concatenated parts when long: the delivery keys."""
        reference = f"mo-{next(self._counter)}"
        keys = []
        for part in submit_parts(text, reference=reference):
            fields = {
                "source_addr_ton": 1,
                "source_addr_npi": 1,
                "source_addr": phone.removeprefix("+"),
                "destination_addr": to or self.service_number,
                "esm_class": part.esm_class,
                "data_coding": part.data_coding,
                "short_message": part.short_message,
            }
            keys.append(self._deliver(f"{reference}/{part.index}", fields))
        return keys

    def send_receipt(self, submitted: Submitted, stat: str = "DELIVRD") -> str:
        now = datetime.now(UTC).strftime("%y%m%d%H%M")
        delivered = "001" if stat == "DELIVRD" else "000"
        text = (
            f"id:{submitted.message_id} sub:001 dlvrd:{delivered} submit date:{now} "
            f"done date:{now} stat:{stat} err:{'000' if stat == 'DELIVRD' else '001'} text:"
        )
        fields = {
            "source_addr_ton": 1,
            "source_addr_npi": 1,
            "source_addr": submitted.to,
            "destination_addr": submitted.source,
            "esm_class": ESM_RECEIPT,
            "data_coding": DATA_CODING_DEFAULT,
            "short_message": gsm7_encode(text),
            "receipted_message_id": submitted.message_id,
            "message_state": MESSAGE_STATE.get(stat, 7),
        }
        return self._deliver(f"receipt/{submitted.message_id}/{stat}", fields)

    def _deliver(self, key: str, fields: dict[str, Any]) -> str:
        with self.lock:
            self.deliveries[key] = Delivery(key, fields)
        self._send_delivery(key)
        return key

    def _send_delivery(self, key: str) -> None:
        delivery = self.deliveries[key]
        message = smpp.make_pdu("deliver_sm", client=self.sequences, **delivery.fields)
        with self.lock:
            self._pending_deliveries[message.sequence] = key
        self._write(message)

    def acknowledged(self, key: str) -> bool:
        with self.lock:
            return consts.SMPP_ESME_ROK in self.deliveries[key].answers

    # ---------------------------------------------------------------- the connection

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            while not self._stopped.is_set():
                data = _read_pdu(connection)
                if data is None:
                    break
                self._on_pdu(connection, data)
        except OSError:
            pass
        finally:
            with self.lock:
                if self._connection is connection:
                    self._connection = None
            connection.close()

    def _write(self, message: Any, connection: socket.socket | None = None) -> None:
        target = connection or self._connection
        if target is None:
            return  # not bound: delivered again on the next bind
        with self._write_lock, contextlib.suppress(OSError):
            target.sendall(message.generate())

    def _answer(self, connection: socket.socket, request: Any, name: str, **fields: Any) -> None:
        answer = smpp.make_pdu(name, client=self.sequences, **fields)
        answer.sequence = request.sequence
        self._write(answer, connection)

    def _on_pdu(self, connection: socket.socket, data: bytes) -> None:
        name = pdu.extract_command(data)
        if name == "submit_sm":
            submit = ReferencedSubmitSM(
                sequence=0, allow_unknown_opt_params=True, reference_tag=self.reference_tag
            )
            submit.parse(data)
            self._on_submit(connection, submit)
            return
        request = smpp.parse_pdu(data, client=self.sequences, allow_unknown_opt_params=True)
        if name == "bind_transceiver":
            self._on_bind(connection, request)
        elif name == "enquire_link":
            with self.lock:
                self.enquire_links += 1
            self._answer(connection, request, "enquire_link_resp")
        elif name == "deliver_sm_resp":
            self._on_deliver_resp(request)
        elif name == "unbind":
            self._answer(connection, request, "unbind_resp")
            connection.close()

    def _on_bind(self, connection: socket.socket, request: Any) -> None:
        ok = (_text(request.system_id), _text(request.password)) == (
            self.system_id,
            self.password,
        )
        status = consts.SMPP_ESME_ROK if ok else consts.SMPP_ESME_RINVPASWD
        self._answer(connection, request, "bind_transceiver_resp", system_id="SMSC", status=status)
        if not ok:
            with self.lock:
                self.refused_binds += 1
            connection.close()
            return
        with self.lock:
            self.binds += 1
            self._connection = connection
            unanswered = [
                k for k, d in self.deliveries.items() if consts.SMPP_ESME_ROK not in d.answers
            ]
        for key in unanswered:  # what the last connection left unacknowledged, again
            self._send_delivery(key)

    def _on_deliver_resp(self, answer: Any) -> None:
        with self.lock:
            key = self._pending_deliveries.pop(answer.sequence, None)
            if key is None:
                return
            self.deliveries[key].answers.append(int(answer.status))
        if int(answer.status) != consts.SMPP_ESME_ROK:
            threading.Timer(0.2, self._send_delivery, args=(key,)).start()  # again, later

    def _on_submit(self, connection: socket.socket, submit: Any) -> None:
        esm_class = int(submit.esm_class or 0)
        concat, payload = user_data(bytes(submit.short_message or b""), esm_class)
        part = concat.index if concat else 1
        with self.lock:
            self.submits.append((submit.reference, part))
            self.submit_times.append(time.monotonic())
            refused = _text(submit.destination_addr) in self.refused_numbers
            if self._throttle > 0:
                self._throttle -= 1
                throttled = True
            else:
                throttled = False
            answer, drop = True, False
            if self._drop is not None and not throttled:
                seen, received, answered = self._drop
                seen += 1
                answer, drop = seen <= answered, seen >= received
                self._drop = None if drop else (seen, received, answered)
        if refused and not throttled:
            self._answer(connection, submit, "submit_sm_resp", status=consts.SMPP_ESME_RINVDSTADR)
            return
        if throttled:
            self._answer(connection, submit, "submit_sm_resp", status=consts.SMPP_ESME_RTHROTTLED)
            return
        submitted = self._take(submit, concat, payload, esm_class)
        if answer:
            self._answer(connection, submit, "submit_sm_resp", message_id=submitted.message_id)
            if self.receipts and submitted.message_id not in self._receipted:
                self._receipted.add(submitted.message_id)
                self.send_receipt(submitted, self.receipt_stat)
        if drop:
            self.drop_connection()
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _take(
        self, submit: Any, concat: Concat | None, payload: bytes, esm_class: int
    ) -> Submitted:
        """The part, taken once per (reference, part): a resubmission gets the first id."""
        part = concat.index if concat else 1
        total = concat.total if concat else 1
        with self.lock:
            key = (submit.reference, part, total)
            if submit.reference and key in self._by_key:
                return self._by_key[key]
            submitted = Submitted(
                message_id=uuid.uuid4().hex[:16].upper(),
                reference=submit.reference,
                to=_text(submit.destination_addr),
                source=_text(submit.source_addr),
                text=message_text(payload, int(submit.data_coding or 0)),
                data_coding=int(submit.data_coding or 0),
                esm_class=esm_class,
                concat=concat,
            )
            self.accepted.append(submitted)
            if submit.reference:
                self._by_key[key] = submitted
            return submitted


def _read_pdu(connection: socket.socket) -> bytes | None:
    head = _recv(connection, 4)
    if head is None:
        return None
    (length,) = struct.unpack(">L", head)
    body = _recv(connection, length - 4)
    return None if body is None else head + body


def _recv(connection: socket.socket, size: int) -> bytes | None:
    chunks, received = [], 0
    while received < size:
        chunk = connection.recv(size - received)
        if not chunk:
            return None
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)

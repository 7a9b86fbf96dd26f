"""The SMPP gateway: its wire (encodings, parts, receipts) and, end to end, the gateway
process bound to the loopback SMS centre (tests/surveys/smpp_loopback.py)."""

import struct
import time
import uuid
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone
from smpplib import smpp

from nps.management.commands.up import Command as UpCommand
from surveys.dispatch import invitation_send
from surveys.gateways.base import GatewayError, PermanentGatewayError, get_gateway
from surveys.gateways.registry import gateway_setting_problems
from surveys.interactions import interaction_record
from surveys.models import (
    DeliveryReceipt,
    InboundMessage,
    Invitation,
    InvitationStatus,
    Response,
    Survey,
)
from surveys.receipts import receipts_apply
from surveys.replies import reply_process
from surveys.smpp.channel import MemoryChannel
from surveys.smpp.inbound import Delivered, receipt_report
from surveys.smpp.reassembly import Reassembly
from surveys.smpp.wire import (
    DATA_CODING_DEFAULT,
    DATA_CODING_UCS2,
    ESM_UDHI,
    GSM7_EXTENSION_TABLE,
    GSM7_TABLE,
    Concat,
    ReferencedSubmitSM,
    concat_reference,
    gsm7_decode,
    gsm7_encode,
    message_text,
    receipt_fields,
    submit_parts,
    user_data,
)
from surveys.smslength import GSM7_BASIC, GSM7_EXTENSION
from tests.surveys.smpp_loopback import SmppLoop, gateway_config, smpp_loop, wait_until

CHINESE = "您好，感谢您致电中国移动客服热线。请您为本次服务打分"  # 26 characters
PHONE = "+8613800138000"


def _joined(parts: list, coding: int) -> str:
    return "".join(message_text(user_data(p.short_message, p.esm_class)[1], coding) for p in parts)


# ---------------------------------------------------------------- the wire


def test_chinese_text_of_70_characters_is_one_ucs2_submit_without_header() -> None:
    text = (CHINESE * 3)[:70]
    [part] = submit_parts(text, reference="inv-1")
    assert (part.data_coding, part.esm_class) == (DATA_CODING_UCS2, 0)
    assert part.short_message == text.encode("utf-16-be")


def test_chinese_text_of_71_characters_is_two_parts_of_67_and_4_with_concatenation_headers() -> (
    None
):
    text = (CHINESE * 3)[:71]
    parts = submit_parts(text, reference="inv-1")
    assert [(p.index, p.total, p.esm_class, p.data_coding) for p in parts] == [
        (1, 2, ESM_UDHI, DATA_CODING_UCS2),
        (2, 2, ESM_UDHI, DATA_CODING_UCS2),
    ]
    ref = concat_reference("inv-1")
    assert parts[0].short_message[:6] == bytes((5, 0, 3, ref, 2, 1))
    assert parts[1].short_message[:6] == bytes((5, 0, 3, ref, 2, 2))
    assert [len(user_data(p.short_message, p.esm_class)[1]) // 2 for p in parts] == [67, 4]
    assert _joined(parts, DATA_CODING_UCS2) == text


def test_gsm7_text_of_160_is_one_part_and_161_is_parts_of_153() -> None:
    assert len(submit_parts("a" * 160, reference="inv-2")) == 1
    parts = submit_parts("a" * 161, reference="inv-2")
    assert [p.data_coding for p in parts] == [DATA_CODING_DEFAULT] * 2
    assert [len(user_data(p.short_message, p.esm_class)[1]) for p in parts] == [153, 8]
    assert _joined(parts, DATA_CODING_DEFAULT) == "a" * 161


def test_a_gsm7_extension_character_is_never_split_between_parts() -> None:
    text = "a" * 152 + "€" + "b" * 20  # the euro sign takes places 153 and 154
    parts = submit_parts(text, reference="inv-3")
    first = user_data(parts[0].short_message, parts[0].esm_class)[1]
    assert first == b"a" * 152  # the escape and its character both moved to part two
    assert _joined(parts, DATA_CODING_DEFAULT) == text


def test_an_emoji_makes_the_text_ucs2_and_is_never_split_between_parts() -> None:
    text = "a" * 66 + "😀" + "b" * 10
    parts = submit_parts(text, reference="inv-4")
    assert parts[0].data_coding == DATA_CODING_UCS2
    assert _joined(parts, DATA_CODING_UCS2) == text
    assert len(user_data(parts[0].short_message, ESM_UDHI)[1]) == 66 * 2


def test_the_gsm7_tables_are_the_alphabet_sms_length_counts() -> None:
    """Catches a character counted as GSM-7 that the encoder cannot send (or the reverse)."""
    assert set(GSM7_TABLE) - {"\x1b"} == GSM7_BASIC
    assert set(GSM7_EXTENSION_TABLE.values()) == GSM7_EXTENSION


def test_gsm7_encoding_round_trips_every_character() -> None:
    text = "".join(sorted(GSM7_BASIC | GSM7_EXTENSION))
    assert gsm7_decode(gsm7_encode(text)) == text
    assert gsm7_encode("€[") == bytes((0x1B, 0x65, 0x1B, 0x3C))


def test_the_reference_rides_in_a_vendor_tlv_that_plain_smpplib_skips() -> None:
    pdu = ReferencedSubmitSM(sequence=7, reference="inv-42", destination_addr="8613800138000")
    data = pdu.generate()
    assert struct.pack(">HH", 0x1400, 7) + b"inv-42\x00" in data
    parsed = ReferencedSubmitSM(sequence=0, allow_unknown_opt_params=True)
    parsed.parse(data)
    assert (parsed.reference, parsed.destination_addr) == ("inv-42", b"8613800138000")
    plain = smpp.parse_pdu(data, sequence=0, allow_unknown_opt_params=True)  # ignored there
    assert plain.destination_addr == b"8613800138000"


def test_receipt_text_is_read_field_by_field() -> None:
    text = (
        "id:0A1B2C3D sub:001 dlvrd:001 submit date:2611201200 done date:2611201201 "
        "stat:DELIVRD err:000 text:您好"
    )
    fields = receipt_fields(text)
    assert (fields["id"], fields["stat"], fields["err"]) == ("0A1B2C3D", "DELIVRD", "000")
    assert fields["done date"] == "2611201201"
    assert receipt_fields("id:77  stat:UNDELIV err:012")["stat"] == "UNDELIV"


@pytest.mark.parametrize(
    ("stat", "status"),
    [("DELIVRD", "delivered"), ("UNDELIV", "failed"), ("REJECTD", "failed"), ("ENROUTE", None)],
)
def test_receipt_statuses_map_once_and_interim_ones_are_not_stored(
    stat: str, status: str | None
) -> None:
    report = receipt_report(
        Delivered("+8613800138000", "10690001", f"id:M1 stat:{stat} err:000"),
        gateway="smpp",
        channel=MemoryChannel(),
    )
    assert (report.status if report else None) == status


def test_a_receipt_for_a_later_part_reports_on_the_first_parts_message_and_reference() -> None:
    channel = MemoryChannel()
    channel.remember("part:M2", '{"message_id": "M1", "reference": "inv-9"}', 60)
    report = receipt_report(
        Delivered("+8613800138000", "10690001", "id:M2 stat:UNDELIV err:012"),
        gateway="smpp",
        channel=channel,
    )
    assert report is not None
    assert (report.provider_message_id, report.reference, report.status) == (
        "M1",
        "inv-9",
        "failed",
    )
    assert "UNDELIV" in report.error


def test_a_long_reply_whose_parts_stop_coming_is_put_together_from_those_that_came() -> None:
    reassembly = Reassembly()
    fields = {"source_addr": "8613800138000", "source_addr_ton": 1, "destination_addr": "1069"}
    concat = Concat(reference=9, total=3, index=2)
    assert reassembly.part_add(concat=concat, text="二", sequence=5, fields=fields, now=0) is None
    assert reassembly.overdue(now=29, limit=30) == []
    [whole] = reassembly.overdue(now=31, limit=30)
    assert (whole.delivered.text, whole.delivered.source_addr, whole.sequences) == (
        "二",
        PHONE,
        [5],
    )
    assert whole.delivered.raw is not None
    assert whole.delivered.raw["parts_received"] == [2]


# ---------------------------------------------------------------- end to end


@pytest.fixture
def loop() -> Iterator[SmppLoop]:
    with smpp_loop() as running:
        wait_until(running.session.bound.is_set)
        yield running


def _planned(phone: str = PHONE, external_id: str = "CRM-SMPP-1") -> Invitation:
    recorded = interaction_record(
        external_id=external_id,
        customer={"phone": phone, "language": "zh-hans"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    )
    return recorded.interaction.invitations.get()


@pytest.mark.django_db(transaction=True)
def test_a_survey_goes_out_as_submit_sm_and_its_receipt_and_reply_come_back_stored(
    loop: SmppLoop, survey: Survey
) -> None:
    invitation = _planned()
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    invitation.refresh_from_db()
    accepted = loop.smsc.accepted
    assert {s.reference for s in accepted} == {f"inv-{invitation.pk}"}
    assert {s.to for s in accepted} == {PHONE.removeprefix("+")}
    assert "".join(s.text for s in accepted) == invitation.text
    assert invitation.provider_message_id == accepted[0].message_id
    assert invitation.gateway == "smpp"

    # The receipt of each part: stored (the first part's id), acknowledged, applied.
    wait_until(lambda: len(loop.smsc.deliveries) == len(accepted))  # a receipt per part
    wait_until(lambda: all(loop.smsc.acknowledged(k) for k in loop.smsc.deliveries))
    receipt = DeliveryReceipt.objects.get(gateway="smpp")
    assert (receipt.provider_message_id, receipt.status) == (accepted[0].message_id, "delivered")
    assert receipt.reference == f"inv-{invitation.pk}"
    receipts_apply(receipt_ids=list(DeliveryReceipt.objects.values_list("pk", flat=True)))
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.DELIVERED

    # The customer answers: a deliver_sm, stored as an InboundMessage, then processed.
    [key] = loop.smsc.send_mo(PHONE, "3")
    message = wait_until(lambda: InboundMessage.objects.filter(gateway="smpp").first())
    assert (message.phone, message.text) == (PHONE, "3")
    assert message.gateway_message_id.startswith("mo:")
    wait_until(lambda: loop.smsc.acknowledged(key))
    assert reply_process(message_id=message.pk) == "scored"
    assert Response.objects.get(invitation=invitation).score == 3


@pytest.mark.django_db(transaction=True)
def test_a_long_sms_goes_in_parts_and_every_parts_receipt_reports_on_the_first(
    loop: SmppLoop,
) -> None:
    gateway = get_gateway("smpp")
    assert gateway is not None
    text = CHINESE * 4  # 104 characters: two UCS-2 parts
    result = gateway.send(to=PHONE, text=text, reference="inv-80")
    accepted = loop.smsc.accepted
    assert [(s.concat.index, s.concat.total) for s in accepted if s.concat] == [(1, 2), (2, 2)]
    assert {s.reference for s in accepted} == {"inv-80"}
    assert result.provider_message_id == accepted[0].message_id
    wait_until(lambda: len(loop.smsc.deliveries) == 2)
    wait_until(lambda: all(loop.smsc.acknowledged(k) for k in loop.smsc.deliveries))
    receipt = DeliveryReceipt.objects.get(gateway="smpp")  # both parts: one message, once
    assert (receipt.provider_message_id, receipt.reference) == (accepted[0].message_id, "inv-80")


@pytest.mark.django_db(transaction=True)
def test_a_long_reply_in_parts_is_stored_as_one_message_then_every_part_acknowledged(
    loop: SmppLoop,
) -> None:
    text = "网络信号太差，" * 15  # 105 characters: two UCS-2 parts
    keys = loop.smsc.send_mo(PHONE, text)
    assert len(keys) == 2
    message = wait_until(lambda: InboundMessage.objects.filter(gateway="smpp").first())
    assert message.text == text
    wait_until(lambda: all(loop.smsc.acknowledged(k) for k in keys))
    assert InboundMessage.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_reply_not_stored_is_not_acknowledged_and_comes_again_and_is_stored_once(
    loop: SmppLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catches acknowledging a deliver_sm before its row is stored (lost on a crash)."""
    from surveys.smpp import inbound

    real, calls = inbound.reply_store, []

    def failing_once(**kwargs: object) -> object:
        calls.append(kwargs)
        if len(calls) == 1:
            raise RuntimeError("database gone")
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inbound, "reply_store", failing_once)
    [key] = loop.smsc.send_mo(PHONE, "10")
    wait_until(lambda: loop.smsc.acknowledged(key))
    assert loop.smsc.deliveries[key].answers == [0x64, 0]  # ESME_RX_T_APPN, then OK
    assert InboundMessage.objects.filter(gateway="smpp", text="10").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_reply_delivered_again_after_it_was_stored_is_stored_once(loop: SmppLoop) -> None:
    [key] = loop.smsc.send_mo(PHONE, "8")
    wait_until(lambda: loop.smsc.acknowledged(key))
    loop.smsc._send_delivery(key)  # the SMS centre did not get our answer: again
    wait_until(lambda: len(loop.smsc.deliveries[key].answers) == 2)
    assert InboundMessage.objects.filter(gateway="smpp").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_retry_with_the_same_reference_gets_the_same_message_id_and_sends_nothing() -> None:
    with smpp_loop() as loop:
        gateway = get_gateway("smpp")
        assert gateway is not None
        first = gateway.send(to=PHONE, text="hello", reference="inv-77")
        again = gateway.send(to=PHONE, text="hello", reference="inv-77")
        assert again == first
        assert loop.smsc.submits == [("inv-77", 1)]


@pytest.mark.django_db(transaction=True)
def test_a_refused_number_is_a_permanent_error() -> None:
    with smpp_loop() as loop:
        loop.smsc.refused_numbers.add(PHONE.removeprefix("+"))
        gateway = get_gateway("smpp")
        assert gateway is not None
        with pytest.raises(PermanentGatewayError, match="Invalid Destination Address"):
            gateway.send(to=PHONE, text="hello", reference="inv-78")


@pytest.mark.django_db(transaction=True)
def test_without_a_bind_the_send_times_out_as_a_retryable_error() -> None:
    with smpp_loop(PASSWORD="wrong", SUBMIT_TIMEOUT=0.5) as loop:
        wait_until(lambda: loop.smsc.refused_binds >= 1)
        gateway = get_gateway("smpp")
        assert gateway is not None
        with pytest.raises(GatewayError) as raised:
            gateway.send(to=PHONE, text="hello", reference=f"inv-{uuid.uuid4().hex[:6]}")
        assert not raised.value.permanent
        assert loop.smsc.binds == 0
        assert loop.smsc.submits == []


@pytest.mark.django_db(transaction=True)
def test_a_quiet_line_is_kept_alive_with_enquire_link() -> None:
    with smpp_loop(ENQUIRE_LINK_SECONDS=0.2) as loop:
        wait_until(lambda: loop.smsc.enquire_links >= 3, timeout=5)
        assert loop.smsc.binds == 1  # answered each time: no reconnect


@pytest.mark.django_db(transaction=True)
def test_a_dropped_connection_is_bound_again_and_sending_goes_on() -> None:
    with smpp_loop() as loop:
        wait_until(loop.session.bound.is_set)
        loop.smsc.drop_connection()
        started = time.monotonic()
        wait_until(lambda: loop.smsc.binds == 2, timeout=5)
        assert time.monotonic() - started >= 0.5  # a backoff, not a tight loop
        gateway = get_gateway("smpp")
        assert gateway is not None
        result = gateway.send(to=PHONE, text="after the drop", reference="inv-79")
        assert result.provider_message_id == loop.smsc.accepted[0].message_id


# ---------------------------------------------------------------- configuration


def test_an_enabled_smpp_gateway_without_a_password_is_an_unsafe_setting() -> None:
    config = gateway_config(2775, "redis://127.0.0.1:6379/0", PASSWORD="")
    with override_settings(
        NPS_GATEWAYS={"smpp": config}, NPS_ENABLED_GATEWAYS=["smpp"], NPS_SEND_GATEWAY="smpp"
    ):
        assert [p.setting for p in gateway_setting_problems()] == ["SMPP_PASSWORD"]


def test_run_smpp_refuses_the_in_process_channel_no_worker_could_reach() -> None:
    config = gateway_config(2775, "memory://nowhere")
    with (
        override_settings(
            NPS_GATEWAYS={"smpp": config}, NPS_ENABLED_GATEWAYS=["smpp"], NPS_SEND_GATEWAY="smpp"
        ),
        pytest.raises(CommandError, match="needs Redis"),
    ):
        call_command("run_smpp")


def test_up_starts_run_smpp_and_a_local_sms_centre_when_smpp_is_enabled() -> None:
    config = gateway_config(2799, "redis://127.0.0.1:6379/0")
    options = {"simulator_port": 8025, "mix": "60,25,15", "no_auto_reply": False}
    options |= {"verbose": False, "port": 8000}
    with override_settings(
        NPS_GATEWAYS={"smpp": config}, NPS_ENABLED_GATEWAYS=["smpp"], NPS_SEND_GATEWAY="smpp"
    ):
        commands = UpCommand()._commands("http://127.0.0.1:8000", options)
    assert commands["smpp"][-1] == "run_smpp"
    assert commands["simulator"][-2:] == ["--smpp-port", "2799"]
    with override_settings(NPS_ENABLED_GATEWAYS=["simulator"]):
        assert "smpp" not in UpCommand()._commands("http://127.0.0.1:8000", options)

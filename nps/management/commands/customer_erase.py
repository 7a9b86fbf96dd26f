"""manage.py customer_erase --phone N: a person's request to be forgotten.

Everything personal about the number in both apps is anonymised at once, whatever its age,
by the same rules as retention (surveys/retention.py, followups/retention.py); scores,
categories, reasons and case statuses stay, so the dashboard's figures do not change.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from followups.retention import customer_cases_anonymise, customer_open_case_ids
from surveys.models import InboundMessage
from surveys.phones import InvalidPhone, mask_phone, phone_parse
from surveys.retention import customer_find, phone_erase


class Command(BaseCommand):
    help = "Anonymise everything personal about one customer, found by phone number."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--phone", required=True, help="the number, as the customer gives it")

    def handle(self, *args: Any, phone: str, **options: Any) -> None:
        try:
            number = phone_parse(phone, region=settings.NPS_DEFAULT_REGION).e164
        except InvalidPhone:
            number = phone.strip()[:20]  # an unknown sender's message keeps the number as sent
        customer = customer_find(phone=number)
        if customer is None and not InboundMessage.objects.filter(phone=number).exists():
            raise CommandError(f"No customer and no message with the number {mask_phone(number)}.")
        if customer and (open_ids := customer_open_case_ids(customer_id=customer.pk)):
            cases = ", ".join(f"#{pk}" for pk in open_ids)
            raise CommandError(f"Close the customer's open case(s) {cases} first, then erase.")
        with transaction.atomic():
            done = phone_erase(phone=number)
            if customer is not None:
                done |= customer_cases_anonymise(customer_id=customer.pk)
        self.stdout.write(", ".join(f"{n} {kind}" for kind, n in done.items()) + " anonymised.")

"""JSON log lines (NPS_LOG_JSON=true): one object per line for a log collector.

python-json-logger renders the record; the handler's filters (surveys.phones'
MaskPhonesFilter, nps.logfilters) still run first as for the plain format. Masking the
message is not enough here: the JSON carries fields the plain line never shows (`extra=`
values, and a traceback the library formats again from `exc_info`), so every text in
the object is masked once more before it is written.
"""

from typing import Any

from pythonjsonlogger.json import JsonFormatter

from surveys.phones import mask_phones_in

FIELDS = ["asctime", "levelname", "name", "message"]


def masked(value: Any) -> Any:
    """`value` with every phone number in its texts masked (lists and objects walked)."""
    if isinstance(value, str):
        return mask_phones_in(value)
    if isinstance(value, list | tuple):
        return [masked(item) for item in value]
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    return value


class MaskedJsonFormatter(JsonFormatter):
    """Time, level, logger and message, the record's extra fields, masked throughout."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__(FIELDS, **kwargs)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: masked(value) for key, value in super().process_log_record(log_data).items()}

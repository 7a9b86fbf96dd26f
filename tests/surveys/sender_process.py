"""A worker process for tests/surveys/test_rate_limit.py: sends conversation messages
through the sending kit, as a Celery worker's send task would, when told to go.

Run as `python -m tests.surveys.sender_process '<job as JSON>'` with the test run's
environment (DJANGO_SETTINGS_MODULE=tests.settings, NPS_TEST_DATABASE_NAME). The job:
{"settings": overrides, "message_ids": [...], "batch": true for messages_send (the
batch path), false for message_send one by one (send_once)}. It prints "ready" once
Django is set up, waits for a line on stdin, sends, and prints the outcomes as JSON.
"""

import json
import sys

import django


def main() -> None:
    job = json.loads(sys.argv[1])
    django.setup()
    from django.test import override_settings

    from surveys.conversation import message_send, messages_send

    with override_settings(**job["settings"]):
        print("ready", flush=True)
        sys.stdin.readline()  # go: every worker starts at once
        if job["batch"]:
            outcomes = messages_send(message_ids=job["message_ids"])
        else:
            outcomes = [message_send(message_id=pk).outcome for pk in job["message_ids"]]
    print(json.dumps(outcomes), flush=True)


if __name__ == "__main__":
    main()

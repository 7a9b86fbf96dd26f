"""The submit channel: how a send in a Celery worker reaches the one SMPP process and hears back.

The SMPP connection lives in one process (`manage.py run_smpp`); a worker cannot submit
on it. Over Redis (the broker's, or SMPP_CHANNEL_URL) the worker pushes a request on one
list, the process pops it, submits, and pushes the answer on the request's own reply
list, which expires; the worker waits on that list with a timeout. The process also
remembers there, for a while, which message id each reference got and which message each
part belongs to (for resubmissions and receipts).

`memory://` is the same channel inside one process (tests, a demo that runs the gateway
process as a thread); `run_smpp` refuses it, as no worker could reach it.
"""

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Protocol

import redis

REPLY_TTL_SECONDS = 120  # an answer no one waits for any more goes away on its own


class ChannelDown(Exception):
    """The channel cannot be reached (Redis down): the send may work later."""


@dataclass(frozen=True)
class SubmitRequest:
    request_id: str
    to: str
    text: str
    reference: str
    deadline: float  # epoch seconds: after it the sender no longer waits

    def dumps(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, data: str | bytes) -> "SubmitRequest":
        return cls(**json.loads(data))


@dataclass(frozen=True)
class SubmitReply:
    message_id: str = ""
    error: str = ""
    permanent: bool = False

    def dumps(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, data: str | bytes) -> "SubmitReply":
        return cls(**json.loads(data))


class SubmitChannel(Protocol):
    def request_put(self, request: SubmitRequest) -> None: ...

    def request_take(self) -> SubmitRequest | None:
        """The oldest request waiting, without waiting for one."""

    def reply_put(self, request_id: str, reply: SubmitReply) -> None: ...

    def reply_wait(self, request_id: str, timeout: float) -> SubmitReply | None: ...

    def remember(self, key: str, value: str, ttl: int) -> None: ...

    def recall(self, key: str) -> str | None: ...


class RedisChannel:
    def __init__(self, url: str, prefix: str) -> None:
        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        self.prefix = prefix  # one deployment's keys: two sharing a Redis never cross

    def request_put(self, request: SubmitRequest) -> None:
        with _down_as_channel_down():
            self.redis.lpush(self.prefix + "requests", request.dumps())

    def request_take(self) -> SubmitRequest | None:
        with _down_as_channel_down():
            data = self.redis.rpop(self.prefix + "requests")
        return None if data is None else SubmitRequest.loads(data)  # type: ignore[arg-type]

    def reply_put(self, request_id: str, reply: SubmitReply) -> None:
        key = self.prefix + "reply:" + request_id
        with _down_as_channel_down():
            pipeline = self.redis.pipeline()
            pipeline.rpush(key, reply.dumps())
            pipeline.expire(key, REPLY_TTL_SECONDS)
            pipeline.execute()

    def reply_wait(self, request_id: str, timeout: float) -> SubmitReply | None:
        with _down_as_channel_down():
            found = self.redis.blpop(
                [self.prefix + "reply:" + request_id], timeout=max(timeout, 0.01)
            )
        return None if found is None else SubmitReply.loads(found[1])

    def remember(self, key: str, value: str, ttl: int) -> None:
        with _down_as_channel_down():
            self.redis.set(self.prefix + key, value, ex=ttl)

    def recall(self, key: str) -> str | None:
        with _down_as_channel_down():
            value = self.redis.get(self.prefix + key)
        return None if value is None else value.decode()  # type: ignore[union-attr]


@contextmanager
def _down_as_channel_down() -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise ChannelDown(f"the SMPP submit channel is down: {exc}") from exc


class MemoryChannel:
    """The channel inside one process: the same behaviour, no Redis."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.requests: deque[SubmitRequest] = deque()
        self.replies: dict[str, SubmitReply] = {}
        self.kept: dict[str, tuple[str, float]] = {}

    def request_put(self, request: SubmitRequest) -> None:
        with self.lock:
            self.requests.appendleft(request)

    def request_take(self) -> SubmitRequest | None:
        with self.lock:
            return self.requests.pop() if self.requests else None

    def reply_put(self, request_id: str, reply: SubmitReply) -> None:
        with self.lock:
            self.replies[request_id] = reply
            self.lock.notify_all()

    def reply_wait(self, request_id: str, timeout: float) -> SubmitReply | None:
        with self.lock:
            self.lock.wait_for(lambda: request_id in self.replies, timeout=timeout)
            return self.replies.pop(request_id, None)

    def remember(self, key: str, value: str, ttl: int) -> None:
        with self.lock:
            self.kept[key] = (value, time.monotonic() + ttl)

    def recall(self, key: str) -> str | None:
        with self.lock:
            value, until = self.kept.get(key, ("", 0.0))
        return value if until > time.monotonic() else None


_CHANNELS: dict[tuple[str, str], SubmitChannel] = {}
_CHANNELS_LOCK = threading.Lock()


def submit_channel(url: str, prefix: str) -> SubmitChannel:
    """The channel at `url` under the key `prefix`: redis://... (production), or
    memory://<name> (one process). One per process: a Redis client keeps its pool."""
    if not url.startswith(("memory://", "redis://", "rediss://", "unix://")):
        raise ValueError(f"the SMPP submit channel must be redis:// or memory://, not {url!r}")
    with _CHANNELS_LOCK:
        if (url, prefix) not in _CHANNELS:
            memory = url.startswith("memory://")
            _CHANNELS[url, prefix] = MemoryChannel() if memory else RedisChannel(url, prefix)
        return _CHANNELS[url, prefix]


def submit_channel_forget(url: str, prefix: str) -> None:
    """Drop a channel (a test's own, when it ends)."""
    with _CHANNELS_LOCK:
        _CHANNELS.pop((url, prefix), None)

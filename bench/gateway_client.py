"""The CPU of one gateway call from our side: `surveys.gateways.http.post` (urllib3's pool)
against a pooled requests session making the same call (what `post` was before), in the
same run, one after the other, against a loopback gateway that answers at once
(bench/slow_gateway.py with no delay), so that the client's own work is what is timed.

    .venv/bin/python bench/gateway_client.py [--calls 3000]

Prints the CPU (user + system, this process) per call of each and their ratio.
"""

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.webhook_ingest import _free_port

ROOT = Path(__file__).resolve().parent.parent
TEXT = "您好！您有多大可能向亲友推荐我们的服务？请回复0到10的数字（10分为非常可能）。 回复TD退订"


def _cpu_per_call(calls: int, call: Callable[[int], object]) -> float:
    for n in range(50):  # connections made, caches warm
        call(n)
    started = time.process_time()
    for n in range(calls):
        call(n)
    return (time.process_time() - started) / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    import requests
    from requests.adapters import HTTPAdapter

    from surveys.gateways import http

    port = _free_port()
    gateway = subprocess.Popen(
        [sys.executable, "bench/slow_gateway.py", "--port", str(port), "--delay-ms", "0"],
        cwd=ROOT,
    )
    try:
        url = f"http://127.0.0.1:{port}/messages"
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{port}/count", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        headers = {"Authorization": "Bearer bench"}

        def body(n: int) -> dict[str, str]:
            return {"to": "+8613900000000", "text": TEXT, "reference": f"bench-{n}"}

        session = requests.Session()  # as surveys.gateways.http.session() builds it
        session.mount("http://", HTTPAdapter(pool_connections=8, pool_maxsize=http.POOL_SIZE))
        before = _cpu_per_call(
            args.calls,
            lambda n: session.post(url, json=body(n), headers=headers, timeout=10).json(),
        )
        after = _cpu_per_call(
            args.calls, lambda n: http.post(url, json=body(n), headers=headers).json()
        )
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)
    print(f"requests session: {before * 1e6:.0f} us of CPU per call ({args.calls:,} calls)")
    print(f"surveys.gateways.http.post (urllib3 pool): {after * 1e6:.0f} us of CPU per call")
    print(f"ratio: {before / after:.2f}x less CPU per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())

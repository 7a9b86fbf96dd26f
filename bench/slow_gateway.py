"""A loopback SMS gateway that answers each send after a fixed delay (a provider's round
trip), for bench/dispatch.py: the simulator's send API (`POST /messages`, JSON with `to`,
`text`, `reference`, answered 201 `{"id"}`), HTTP/1.1 with keep-alive, on asyncio so that
thousands of sends a second cost it little CPU. It keeps one id per reference, as the
simulator does (a repeated reference is answered 200 with the first id), and reports
`GET /count`: requests, distinct references, repeated references.

    python bench/slow_gateway.py --port 8026 --delay-ms 50
"""

import argparse
import asyncio
import json
import uuid


class Gateway:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.ids: dict[str, str] = {}
        self.requests = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)
                }
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                status, answer = await self.answer(method, path, body)
                payload = json.dumps(answer).encode()
                writer.write(
                    f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def answer(self, method: str, path: str, body: bytes) -> tuple[str, dict[str, object]]:
        if method == "GET" and path.startswith("/count"):
            return "200 OK", {
                "requests": self.requests,
                "references": len(self.ids),
                "repeated": self.requests - len(self.ids),
            }
        if method != "POST" or not path.startswith("/messages"):
            return "404 Not Found", {"error": "not found"}
        self.requests += 1
        reference = str(json.loads(body).get("reference", ""))
        await asyncio.sleep(self.delay)
        if reference in self.ids:
            return "200 OK", {"id": self.ids[reference]}
        self.ids[reference] = message_id = f"SG{uuid.uuid4().hex[:16]}"
        return "201 Created", {"id": message_id}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    args = parser.parse_args()
    gateway = Gateway(args.delay_ms / 1000)
    server = await asyncio.start_server(gateway.serve, "127.0.0.1", args.port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())

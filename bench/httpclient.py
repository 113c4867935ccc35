"""A minimal HTTP/1.1 client for the load generator: one keep-alive connection per virtual user,
no pooling, no redirects followed, bodies by Content-Length only (what gunicorn and node send).

Small on purpose: the generator must cost much less per request than the servers it measures.
"""

import asyncio
from dataclasses import dataclass, field


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Connection:
    """One keep-alive connection to host:port; reconnects once if the server closed it."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None
        self.host_header = f"{host}:{port}"

    async def _connect(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def request(self, method: str, target: str, headers: dict | None = None,
                      body: bytes = b"") -> Response:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host_header}"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        for attempt in (1, 2):
            if self.writer is None:
                await self._connect()
            try:
                self.writer.write(raw)
                return await self._read()
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _read(self) -> Response:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers, cookies = {}, {}
        for line in header_lines:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.lower(), value.strip()
            if name == "set-cookie":
                pair = value.split(";", 1)[0]
                cookie_name, _, cookie_value = pair.partition("=")
                cookies[cookie_name] = cookie_value
            headers[name] = value
        if headers.get("transfer-encoding", "").lower() == "chunked":
            raise ValueError("chunked responses are not supported by the bench client")
        length = int(headers.get("content-length", "0"))
        body = await self.reader.readexactly(length) if length else b""
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body, cookies)

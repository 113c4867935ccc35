"""A relying party's back-channel logout endpoint: a real HTTP server on loopback."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class LogoutReceiver:
    def __init__(self):
        self.tokens: list[str] = []  # every logout_token POSTed, in order
        self.content_types: list[str] = []
        self.answers: list[int] = []  # statuses to answer with, one per request; then 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                receiver.content_types.append(self.headers.get("Content-Type", ""))
                receiver.tokens.extend(parse_qs(body).get("logout_token", []))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                if status in (301, 302, 303, 307, 308):
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_port}/backchannel-logout"
        # shutdown() waits for the loop's next look at its flag: every 0.5 s by default, which
        # was half a second at the end of each test that had a receiver.
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

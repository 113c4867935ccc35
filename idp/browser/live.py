"""A Flask app served from a thread on a free loopback port, for a browser to open.

In the same process as the test or the handbook, so both share its frozen clock
(``idp.clock``), its in-process store and its outbox: a test moves time on by 10 minutes to
see the idle logout, with no sleeping."""

import socket
import threading

from werkzeug.serving import WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """No access log: activation links carry their token in the path (as in ``idp demo up``)."""

    def log_request(self, *args, **kwargs):
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    def __init__(self, app, port: int | None = None):
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, app, threaded=True,
                                   request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="live-server")
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

"""How the service reaches Redis, from IDP_REDIS_URL: one server, plain or TLS, or the primary
that Redis Sentinel names (and names again after a failover).

    redis://[:password@]host:6379/0                      one server
    rediss://[:password@]host:6380/0?ssl_ca_certs=/ca.pem  the same over TLS (certificate and
                                                           host name verified)
    redis+sentinel://[[user]:password@]host:26379,host2:26379/mymaster/0
    rediss+sentinel://...                                  Sentinel, TLS to sentinels and Redis

The query string holds redis-py's connection options (``ssl_ca_certs``, ``ssl_certfile``,
``ssl_keyfile`` for a client certificate, ...); with Sentinel they apply to the sentinels and the
primary alike, and ``sentinel_password`` is the sentinels' own password if they have one. The
user and password in the URL are the primary's.
"""

from urllib.parse import parse_qsl, unquote, urlsplit

import redis
from redis.sentinel import Sentinel

SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}


#: Query options that would make TLS unverified: refused, so TLS always means a checked server.
UNVERIFIED = {"ssl_cert_reqs": {"none", "optional"},
              "ssl_check_hostname": {"false", "0", "no", "off"}}


def client(url: str, **options) -> redis.Redis:
    """A redis-py client for ``url``; ``options`` (timeouts, retry) are the service's own."""
    for name, value in parse_qsl(urlsplit(url).query):
        if value.lower() in UNVERIFIED.get(name, ()):
            raise ValueError(f"IDP_REDIS_URL: {name}={value} would accept any server; TLS to Redis "
                             "is always verified (give its CA with ssl_ca_certs=/path/ca.pem)")
    scheme = url.split("://", 1)[0]
    if scheme not in SENTINEL_SCHEMES:
        return redis.Redis.from_url(url, **options)
    service, sentinels, db, credentials, extra = _sentinel_parts(url)
    tls = {"ssl": True} if SENTINEL_SCHEMES[scheme] else {}
    sentinel_password = extra.pop("sentinel_password", None)
    timeouts = {k: v for k, v in options.items() if k.startswith("socket_")}
    watcher = Sentinel(sentinels, sentinel_kwargs={**timeouts, **tls, **extra,
                                                   "password": sentinel_password})
    return watcher.master_for(service, db=db, **credentials, **tls, **extra, **options)


def _sentinel_parts(url: str):
    parts = urlsplit(url)
    hosts = parts.netloc.rsplit("@", 1)
    credentials = {}
    if len(hosts) == 2:
        username, _, password = hosts[0].partition(":")
        credentials = {"username": unquote(username) or None, "password": unquote(password) or None}
    sentinels = []
    for host in hosts[-1].split(","):
        name, _, port = host.rpartition(":")
        if not name or not port.isdigit():
            raise ValueError(f"IDP_REDIS_URL: a sentinel is host:port, got {host!r}")
        sentinels.append((name.strip("[]"), int(port)))
    path = [part for part in parts.path.split("/") if part]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError("IDP_REDIS_URL: a Sentinel URL ends in /<service name>[/<db number>]")
    extra = dict(parse_qsl(parts.query))
    return path[0], sentinels, int(path[1]) if len(path) == 2 else 0, credentials, extra

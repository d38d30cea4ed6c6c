"""The ``browse`` tool: GET a URL the model wrote and return the page's readable text.

SECURITY (server-side request forgery). Whatever URL a model writes is
fetched from this machine, so every hop is checked before it is requested:

- only http and https;
- the host is resolved *once* and every address it resolves to must be a
  public one: loopback, private, link-local (169.254.169.254), shared,
  multicast, unspecified and reserved ranges are refused, IPv4-mapped IPv6
  addresses are judged by the IPv4 address inside; spellings such as
  0x7f000001, 2130706433 or 0177.0.0.1 resolve to what they mean and are
  judged the same way;
- the connection goes to the checked address (the Host header and TLS SNI
  carry the name), so DNS rebinding cannot swap the address between the
  check and the connect;
- redirects are followed by hand, each hop checked again, at most
  ``max_redirects``;
- proxies from the environment are ignored (a proxy would connect for us);
- connect/read timeouts, a cap on bytes read while streaming, text-like
  content types only, and a total deadline over all of it, turning the page
  into text included: that runs in a worker process killed at the deadline
  (a page of deeply nested tags takes tens of seconds a megabyte to parse).

``allow`` names addresses a user reaches on purpose (a test server on
127.0.0.1, an intranet): IPs or networks, optionally with a port. ``sites`` maps a
host name to a local site's ``IP:PORT`` (given when first needed): a URL on that
host connects there, and that one address joins the allow-list -- the offline
corpus of the ``browse`` task family is ``wiki.invalid``.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from looplab.errors import ToolError
from looplab.tools._protocol import TextTool, ToolExample
from looplab.tools._worker import WorkerPool

__all__ = ["Browser", "check_address", "embedded_ipv4", "system_resolver"]

Resolver = Callable[[str, int], list[str]]
"""Host and port -> the IP addresses it resolves to."""

_TEXT_TYPES = ("text/", "application/xhtml+xml", "application/xml", "application/json")
_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives ``host`` (the browser's default resolver)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ToolError(f"cannot resolve host {host!r}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
"""The well-known NAT64 prefix (RFC 6052): the last 32 bits are an IPv4 address."""
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
"""Local-use NAT64 (RFC 8215): with a /48 prefix the IPv4 address sits in bits 48-63 and 72-87."""
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
"""Deprecated IPv4-compatible addresses ``::a.b.c.d`` (``::`` and ``::1`` are not)."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address that ``ip`` carries and that a router or translator may deliver to:
    IPv4-mapped, 6to4, Teredo (server and client), NAT64 and IPv4-compatible forms."""
    found = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    value = int(ip)
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and value > 1):
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if ip in _NAT64_LOCAL:
        high, low = (value >> 64) & 0xFFFF, (value >> 40) & 0xFFFF
        found.append(ipaddress.IPv4Address(high << 16 | low))
    return found


_SPECIAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        # IANA's special-purpose registries, named here whatever this Python's ipaddress
        # knows (which differs between versions): none of them is a public web server
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24",
        "192.52.193.0/24", "192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24",
        "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/127", "100::/64", "2001:2::/48", "2001:10::/28", "2001:20::/28", "2001:db8::/32",
        "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
        "fec0::/10",  # site-local: deprecated (RFC 3879), still routed on some networks
        "ff00::/8",
    )
)  # fmt: skip
"""Networks refused outright, beside Python's own flags."""


def _check_one(ip: _IPAddress) -> str | None:
    for attribute, label in (
        ("is_loopback", "a loopback"),
        ("is_unspecified", "an unspecified"),
        ("is_link_local", "a link-local"),
        ("is_multicast", "a multicast"),
        ("is_private", "a private"),
        ("is_reserved", "a reserved"),
    ):
        if getattr(ip, attribute):
            return f"{label} address ({ip})"
    for network in _SPECIAL:  # after the named kinds: a loopback address is said to be one
        if ip.version == network.version and ip in network:
            return f"a special-purpose address ({ip}, in {network})"
    if not ip.is_global:
        return f"a non-public address ({ip})"
    return None


def check_address(ip: _IPAddress) -> str | None:
    """Why ``ip`` may not be fetched, or None if it is a public address.

    An IPv6 address that embeds an IPv4 one is judged by both: ``2002:7f00:1::``
    (6to4) reaches 127.0.0.1 on a host with a 6to4 route, whatever Python says
    of the IPv6 address itself.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        for inner in embedded_ipv4(ip):
            reason = _check_one(inner)
            if reason is not None:
                return f"{reason[: reason.index(' (')]} inside {ip} ({inner})"
    return _check_one(ip)


def _decoder(content_encoding: str) -> Any:
    """A bounded decompressor for the one encoding asked for (``Accept-Encoding``)."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise ToolError(
        f"the page is sent as {content_encoding[:40]!r}: only gzip and deflate are read"
    )


@dataclass(frozen=True)
class _Allowed:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    port: int | None

    @classmethod
    def parse(cls, entry: str) -> _Allowed:
        host, port = entry, None
        if entry.startswith("["):  # [::1]:8080
            host, _, rest = entry[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else None
        elif entry.count(":") == 1:
            host, _, port_text = entry.partition(":")
            port = int(port_text)
        return cls(ipaddress.ip_network(host, strict=False), port)

    def admits(self, ip: _IPAddress, port: int) -> bool:
        return ip in self.network and self.port in (None, port)


_PAGES = WorkerPool("looplab.tools._html_worker")
"""Turns pages into text, shared by every Browser in the process."""


class Browser(TextTool):
    """Reads one web page: its title and main text, cut to a budget."""

    name = "browse"
    description = "Fetch a web page. Write one http(s) URL; you get its title and main text back."
    # Worked examples in the shape of the browse task family's questions (their pages are
    # not in its corpus): the embedded model copies examples, and wrote no browse call at
    # all on those questions when its only example was example.com.
    examples = (
        ToolExample(
            "In what year was the painter Tamsin Orrel born?\n"
            "The page http://wiki.invalid/wiki/Tamsin_Orrel has the answer.",
            "http://wiki.invalid/wiki/Tamsin_Orrel",
            "Title: Tamsin Orrel\nURL: http://wiki.invalid/wiki/Tamsin_Orrel\n\nTamsin Orrel\n\n"
            "Tamsin Orrel was a painter born in 1812 in the town of Brask.",
            "The page says Tamsin Orrel was born in 1812.",
            "1812",
        ),
        ToolExample(
            "Which town does the Lindqvar River pass?\n"
            "The page http://wiki.invalid/wiki/Lindqvar_River has the answer.",
            "http://wiki.invalid/wiki/Lindqvar_River",
            "Title: Lindqvar River\nURL: http://wiki.invalid/wiki/Lindqvar_River\n\n"
            "Lindqvar River\n\nThe Lindqvar River is 310 kilometres long. It passes the "
            "town of Oskemet.",
            "The page says the Lindqvar River passes the town of Oskemet.",
            "Oskemet",
        ),
        ToolExample(
            "What is on https://example.com ?",
            "https://example.com",
            "Title: Example Domain\nURL: https://example.com/\n\nExample Domain\n\n"
            "This domain is for use in documentation examples without needing permission.",
            "The page says the domain is for use in documentation examples.",
        ),
    )

    def __init__(
        self,
        *,
        allow: Iterable[str] = (),
        max_chars: int = 4000,
        max_bytes: int = 2_000_000,
        max_redirects: int = 5,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 10.0,
        total_timeout_s: float = 20.0,
        resolver: Resolver | None = None,
        user_agent: str = "looplab-browser/0.1",
        sites: Mapping[str, Callable[[], str]] | None = None,
    ) -> None:
        try:
            self.allow = tuple(_Allowed.parse(entry) for entry in allow)
        except ValueError as exc:
            raise ToolError(f"bad allow-list entry: {exc}") from exc
        self.sites = dict(sites or {})
        self.max_chars = max_chars
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.total_timeout_s = total_timeout_s
        _PAGES.warm_up()  # the parser worker starts while the page is fetched
        self.resolve = resolver or system_resolver
        timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would bypass the address check
            headers={
                "user-agent": user_agent,
                "accept": "text/html,text/plain;q=0.9,*/*;q=0.1",
                "accept-encoding": "gzip, deflate",  # the ones _read decompresses, bounded
            },
        )

    def call(self, text: str) -> str:
        url = text.strip().strip("<>\"'` ")
        deadline = time.monotonic() + self.total_timeout_s
        for _ in range(self.max_redirects + 1):
            target = self._checked(url)
            response_or_next = self._fetch(url, target, deadline)
            if isinstance(response_or_next, str):
                return response_or_next
            url = response_or_next.location
        raise ToolError(f"too many redirects (more than {self.max_redirects})")

    def _checked(self, url: str) -> _Target:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise ToolError(f"not a valid URL: {url[:100]!r}") from exc
        if parsed.scheme not in ("http", "https"):
            raise ToolError(
                f"only http and https URLs can be fetched, not {parsed.scheme or url[:30]!r}"
            )
        host = parsed.host
        if not host:
            raise ToolError(f"the URL has no host: {url[:100]!r}")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        if host in self.sites:
            return self._site_target(parsed, host)
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in self.resolve(host, port)]
        if not addresses:
            raise ToolError(f"cannot resolve host {host!r}")
        for ip in addresses:
            if any(rule.admits(ip, port) for rule in self.allow):
                continue
            reason = check_address(ip)
            if reason is not None:
                raise ToolError(f"refused: {host} is {reason}; only public addresses are fetched")
        return _Target(url=parsed, host=host, port=port, ip=addresses[0])

    def _site_target(self, parsed: httpx.URL, host: str) -> _Target:
        """A URL on a mapped site: connect to the site's address, itself on the allow-list."""
        address = _Allowed.parse(self.sites[host]())
        self.allow = tuple(dict.fromkeys((*self.allow, address)))
        ip, port = address.network.network_address, address.port
        if port is None or not any(rule.admits(ip, port) for rule in self.allow):
            raise ToolError(f"refused: the site {host} has no address on the allow-list")
        return _Target(url=parsed, host=host, port=port, ip=ip, connect_port=port)

    def _fetch(self, url: str, target: _Target, deadline: float) -> str | _Redirect:
        pinned = target.url.copy_with(host=str(target.ip))
        if target.connect_port is not None:
            pinned = pinned.copy_with(port=target.connect_port)
        host_header = target.host if target.url.port is None else f"{target.host}:{target.url.port}"
        extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
        request = self._client.build_request(
            "GET", pinned, headers={"host": host_header}, extensions=extensions
        )
        try:
            response = self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise ToolError(f"{target.host} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise ToolError(f"cannot connect to {target.host}: {type(exc).__name__}") from exc
        try:
            if response.is_redirect:
                location = response.headers.get("location", "")
                if not location:
                    raise ToolError(f"{target.host} redirected without a location")
                return _Redirect(str(target.url.join(location)))
            if response.status_code >= 400:
                raise ToolError(f"{url[:100]} answered HTTP {response.status_code}")
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type and not content_type.startswith(_TEXT_TYPES):
                raise ToolError(f"not a text page ({content_type}); only text can be read")
            body, cut = self._read(response, deadline)
        finally:
            response.close()
        return self._render(str(target.url), content_type, body, cut, response.encoding, deadline)

    def _read(self, response: httpx.Response, deadline: float) -> tuple[bytes, bool]:
        """The body, at most ``max_bytes`` of it *after* decompression.

        Raw bytes are decompressed here, each step bounded by what the cap still
        allows: a gzip bomb (a few KB that expand to gigabytes) costs at most
        ``max_bytes`` of memory. httpx's own decoders expand a whole chunk at once.
        """
        decoder = _decoder(response.headers.get("content-encoding", ""))
        chunks: list[bytes] = []
        size = 0
        try:
            for raw in response.iter_raw():
                room = self.max_bytes - size + 1
                chunk = raw if decoder is None else decoder.decompress(raw, room)
                chunks.append(chunk)
                size += len(chunk)
                if size >= self.max_bytes:
                    return b"".join(chunks)[: self.max_bytes], True
                if time.monotonic() > deadline:
                    raise ToolError(f"the page took longer than {self.total_timeout_s:g} s to read")
        except httpx.TimeoutException as exc:
            raise ToolError("the server stopped sending the page (read timeout)") from exc
        except httpx.HTTPError as exc:
            raise ToolError(f"the page could not be read: {type(exc).__name__}") from exc
        except zlib.error as exc:
            raise ToolError(f"the page's compressed body is corrupt: {exc}") from exc
        return b"".join(chunks), False

    def _render(
        self,
        url: str,
        content_type: str,
        body: bytes,
        cut: bool,
        encoding: str | None,
        deadline: float,
    ) -> str:
        text = body.decode(encoding or "utf-8", errors="replace")
        title = ""
        if content_type in ("text/html", "application/xhtml+xml") or (
            not content_type and "<html" in text[:1000].lower()
        ):
            answer = _PAGES.ask({"html": text}, deadline - time.monotonic())
            if answer is None:
                raise ToolError(
                    f"the page took longer than {self.total_timeout_s:g} s to fetch and read"
                )
            if not answer["ok"]:
                raise ToolError(answer["error"])
            title, text = answer["title"], answer["text"]
        header = f"Title: {title}\nURL: {url}\n" if title else f"URL: {url}\n"
        if cut:
            header += f"[only the first {self.max_bytes} bytes of the page were read]\n"
        if len(text) > self.max_chars:
            text = (
                f"{text[: self.max_chars]}\n[... {len(text) - self.max_chars} more characters cut]"
            )
        return f"{header}\n{text}"

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True)
class _Target:
    url: httpx.URL
    host: str
    port: int
    ip: _IPAddress
    connect_port: int | None = None
    """A mapped site's port, where the connection goes instead of the URL's."""


@dataclass(frozen=True)
class _Redirect:
    location: str

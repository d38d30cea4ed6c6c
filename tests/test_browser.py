"""The browser tool against a real HTTP server on 127.0.0.1, and its SSRF defences."""

from __future__ import annotations

import ipaddress
import time

import pytest

from looplab.tools import Browser, check_address, embedded_ipv4
from tests.helpers.web_server import WebServer


@pytest.fixture(scope="module")
def server():
    web = WebServer()
    yield web
    web.close()


@pytest.fixture(scope="module")
def other_server():
    """A second local server that no test may ever reach."""
    web = WebServer()
    yield web
    web.close()


@pytest.fixture
def browser(server):
    """A browser allowed, explicitly, to reach the test server's port and nothing else local."""
    tool = Browser(allow=[f"127.0.0.1:{server.port}"], total_timeout_s=5, read_timeout_s=1)
    yield tool
    tool.close()


def test_html_page_becomes_title_and_text(browser, server):
    result = browser.run(f"{server.url}/pages/python_idle_help.html")
    assert result.ok, result.error
    assert result.output.startswith("Title: IDLE — Python 3.12.0a0 documentation\nURL: ")
    assert "IDLE is Python’s Integrated Development and Learning Environment" in result.output
    assert "<div" not in result.output and "Report a Bug" not in result.output


def test_pinned_connection_still_sends_the_host_name(browser, server):
    browser.run(f"http://localhost:{server.port}/plain")
    assert server.host_headers[-1] == f"localhost:{server.port}"


def test_output_is_cut_to_the_budget_with_a_marker(server):
    tool = Browser(allow=[f"127.0.0.1:{server.port}"], max_chars=300)
    result = tool.run(f"{server.url}/pages/zlib_how.html")
    assert result.ok
    assert "more characters cut]" in result.output
    body = result.output.split("\n\n", 1)[1]
    assert len(body) < 300 + 50


def test_plain_text_and_charsets(browser, server):
    assert browser.run(f"{server.url}/plain").output.endswith("just plain text")
    assert browser.run(f"{server.url}/latin1").output.endswith("café")


def test_redirects_are_followed_and_capped(browser, server):
    assert browser.run(f"{server.url}/redirect/3").output.endswith("just plain text")
    too_many = browser.run(f"{server.url}/redirect/9")
    assert not too_many.ok and "too many redirects" in too_many.error


def test_non_text_content_is_refused(browser, server):
    result = browser.run(f"{server.url}/image.png")
    assert not result.ok and "not a text page (image/png)" in result.error


def test_http_errors_are_reported(browser, server):
    result = browser.run(f"{server.url}/missing")
    assert not result.ok and "HTTP 404" in result.error


def test_oversized_response_is_read_only_up_to_the_cap(server):
    tool = Browser(allow=[f"127.0.0.1:{server.port}"], max_bytes=50_000)
    result = tool.run(f"{server.url}/big")
    assert result.ok and "[only the first 50000 bytes of the page were read]" in result.output


def test_slow_server_hits_the_read_timeout(browser, server):
    started = time.monotonic()
    result = browser.run(f"{server.url}/slow")
    assert not result.ok and "did not answer in time" in result.error
    assert time.monotonic() - started < 2.5


def test_the_deadline_covers_reading_the_page(server):
    """1 MB of nested tags took 14-28 s to parse in-process against a 3 s deadline; the
    parse now runs in a worker killed at the deadline, and the next page still reads."""
    tool = Browser(allow=[f"127.0.0.1:{server.port}"], total_timeout_s=3.0)
    tool.run(f"{server.url}/pages/python_idle_help.html")  # the parser worker is up
    started = time.monotonic()
    result = tool.run(f"{server.url}/nested")
    assert not result.ok and "took longer than 3 s" in result.error
    assert time.monotonic() - started < 4.5
    again = tool.run(f"{server.url}/pages/python_idle_help.html")
    assert again.ok and "IDLE" in again.output
    tool.close()


def test_dripping_server_hits_the_total_deadline(server):
    tool = Browser(allow=[f"127.0.0.1:{server.port}"], total_timeout_s=1.0, read_timeout_s=1.0)
    started = time.monotonic()
    result = tool.run(f"{server.url}/drip")
    assert not result.ok and "took longer than 1 s" in result.error
    assert time.monotonic() - started < 2.0


def ssrf_urls(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/plain",
        f"http://localhost:{port}/plain",
        f"http://0x7f000001:{port}/plain",
        f"http://2130706433:{port}/plain",
        f"http://0177.0.0.1:{port}/plain",
        f"http://127.1:{port}/plain",
        f"http://[::1]:{port}/plain",
        f"http://[::ffff:127.0.0.1]:{port}/plain",
        f"http://[0:0:0:0:0:ffff:7f00:1]:{port}/plain",
        # IPv6 forms that embed an IPv4 address are judged by the address they embed
        f"http://[2002:7f00:1::]:{port}/plain",  # 6to4
        "http://[2002:a00:1::1]/",  # 6to4 of 10.0.0.1
        "http://[2002:a9fe:a9fe::]/",  # 6to4 of the metadata address
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
        f"http://[64:ff9b::7f00:1]:{port}/plain",  # NAT64
        "http://[64:ff9b:1:7f00:0:100::]/",  # local-use NAT64 (/48 layout)
        f"http://[::127.0.0.1]:{port}/plain",  # IPv4-compatible
        f"http://user:secret@127.0.0.1:{port}/plain",
        f"http://0.0.0.0:{port}/plain",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://internal.test/",  # the test resolver sends it to 10.1.2.3
        "http://mixed.test/",  # one public and one private address: refused
        "file:///etc/passwd",
        f"gopher://127.0.0.1:{port}/",
        f"ftp://127.0.0.1:{port}/",
        "javascript:alert(1)",
        f"HTTP://LOCALHOST:{port}/plain",
    ]


def fake_resolver(host: str, port: int) -> list[str]:
    """System resolution, plus two names a hostile DNS could serve."""
    from looplab.tools import system_resolver

    fake = {"internal.test": ["10.1.2.3"], "mixed.test": ["93.184.215.14", "192.168.0.7"]}
    return fake.get(host.lower()) or system_resolver(host, port)


def test_ssrf_suite_is_refused_without_an_allow_list(other_server):
    tool = Browser(resolver=fake_resolver)
    urls = ssrf_urls(other_server.port)
    assert len(urls) >= 15
    for url in urls:
        result = tool.run(url)
        assert not result.ok, f"{url} was fetched"
        assert result.error.startswith(("refused:", "only http and https", "not a valid URL")), (
            url,
            result.error,
        )
    assert other_server.hits == []


@pytest.mark.parametrize(
    ("address", "inner"),
    [
        ("2002:7f00:1::", "127.0.0.1"),
        ("2002:c0a8:101::5", "192.168.1.1"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),
        ("2001:0:7f00:1::1", "127.0.0.1"),  # a Teredo server address that is loopback
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("64:ff9b:1:7f00:0:100::", "127.0.0.1"),
        ("::10.0.0.1", "10.0.0.1"),
        ("::ffff:100.64.0.1", "100.64.0.1"),
    ],
)
def test_ipv6_forms_are_judged_by_the_ipv4_address_they_embed(address, inner):
    ip = ipaddress.ip_address(address)
    assert ipaddress.ip_address(inner) in embedded_ipv4(ip)
    reason = check_address(ip)
    assert reason is not None and inner in reason


def test_public_ipv6_and_public_6to4_stay_fetchable():
    assert check_address(ipaddress.ip_address("2606:4700:4700::1111")) is None
    assert check_address(ipaddress.ip_address("2002:808:808::1")) is None  # 6to4 of 8.8.8.8


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{other}/plain",
        "http://169.254.169.254/",
        "http://localhost:{other}/",
        "file:///etc/passwd",
        "http://[::1]:{other}/",
    ],
)
def test_redirects_to_forbidden_places_are_refused(server, other_server, target):
    """The origin server is allowed; where it redirects is checked again, hop by hop."""
    tool = Browser(allow=[f"127.0.0.1:{server.port}"])
    location = target.format(other=other_server.port)
    result = tool.run(f"{server.url}/to?url={location}")
    assert not result.ok
    assert result.error.startswith(("refused:", "only http and https"))
    assert other_server.hits == []


def test_dns_rebinding_cannot_swap_the_address(other_server):
    """A name that first resolves public, then to 127.0.0.1: the checked address is the one used."""
    answers = [["93.184.215.14"], ["127.0.0.1"]]
    calls = []

    def rebinding(host, port):
        calls.append(host)
        return answers[min(len(calls) - 1, 1)]

    tool = Browser(resolver=rebinding, connect_timeout_s=0.5, total_timeout_s=2)
    result = tool.run(f"http://rebind.test:{other_server.port}/plain")
    assert not result.ok  # the public address is unreachable here: it was the one dialled
    assert calls == ["rebind.test"]  # resolved once, never again before connecting
    assert other_server.hits == []


def test_allow_list_entries_are_validated():
    from looplab.errors import ToolError

    with pytest.raises(ToolError, match="bad allow-list entry"):
        Browser(allow=["not-an-ip"])


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_gzip_is_read_and_a_gzip_bomb_costs_no_more_than_the_cap(server):
    tool = Browser(allow=[f"127.0.0.1:{server.port}"], max_bytes=100_000)
    honest = tool.run(f"{server.url}/gzip")
    assert honest.ok and "compressed but honest text" in honest.output
    before = _peak_rss_mb()
    bomb = tool.run(f"{server.url}/bomb")  # 1 GiB once decompressed
    assert bomb.ok and "only the first 100000 bytes" in bomb.output
    assert _peak_rss_mb() - before < 100  # never the gigabyte
    double = tool.run(f"{server.url}/double-bomb")
    assert not double.ok and "only gzip and deflate are read" in double.error


def test_an_endless_chunked_body_stops_at_the_cap(server):
    tool = Browser(allow=[f"127.0.0.1:{server.port}"], max_bytes=500_000, total_timeout_s=5)
    started = time.monotonic()
    result = tool.run(f"{server.url}/endless")
    assert result.ok and "only the first 500000 bytes" in result.output
    assert time.monotonic() - started < 5


def test_huge_headers_are_refused_cleanly(server):
    tool = Browser(allow=[f"127.0.0.1:{server.port}"])
    result = tool.run(f"{server.url}/huge-headers")  # 400 KB of headers
    assert not result.ok and result.error.startswith(("cannot connect", "the page could not"))


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.1:{other}/plain", "http://10.0.0.1/", "ftp://127.0.0.1:{server}/",
     "http://[::ffff:127.0.0.1]:{other}/plain", "http://[2002:7f00:1::]:{other}/plain"],
)  # fmt: skip
def test_an_allowed_server_cannot_redirect_elsewhere(server, other_server, target):
    """Allowing one local server allows that host and port only, hop by hop."""
    tool = Browser(allow=[f"127.0.0.1:{server.port}"])
    location = target.format(other=other_server.port, server=server.port)
    result = tool.run(f"{server.url}/to?url={location}")
    assert not result.ok and result.error.startswith(("refused:", "only http and https"))
    assert other_server.hits == []

"""``ssl_context(..., shared=True)`` with the HTTP clients that touch the context they are
given: httpx sets ALPN on it, urllib3 (and so requests and opensearch-py) sets
``verify_mode`` to the value it already has. What cannot weaken the context and cannot
disturb another holder is allowed; everything else is still refused. Real HTTPS servers
(tlsconnect.testing) with the session PKI."""

from __future__ import annotations

import ssl

import httpx
import pytest
import requests
import urllib3

import tlsconnect
from tlsconnect.testing import HTTPSServer


def _shared(pki, service: str = "opensearch") -> ssl.SSLContext:
    # trust="project": only the session CA, so a public CA sneaking in would show.
    return tlsconnect.ssl_context(service, trust="project", ca=pki.ca_pem, shared=True)


def _verify_error(exc: BaseException) -> ssl.SSLCertVerificationError:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        for inner in getattr(seen, "args", ()):
            if isinstance(inner, BaseException):
                try:
                    return _verify_error(inner)
                except AssertionError:
                    pass
        seen = seen.__cause__ or seen.__context__ or getattr(seen, "reason", None)
    raise AssertionError(f"no certificate verification error in {exc!r}")


def test_httpx_and_urllib3_connect_with_a_shared_context(pki):
    shared = _shared(pki)
    with HTTPSServer(*pki.server.pair) as server:
        with httpx.Client(verify=shared) as client:
            assert client.get(server.url("/")).json()["ok"] is True
            assert client.get(server.url("/again")).status_code == 200  # ALPN set again
        pool = urllib3.PoolManager(ssl_context=shared)
        assert pool.request("GET", server.url("/")).status == 200
        with httpx.Client(verify=shared) as other:  # a second holder, same ALPN
            assert other.get(server.url("/")).status_code == 200
        assert len(server.requests) == 4
    assert shared.verify_mode == ssl.CERT_REQUIRED and shared.check_hostname
    assert shared.cert_store_stats()["x509_ca"] == 1  # still the project CA alone


def test_a_shared_context_used_by_httpx_and_urllib3_still_refuses_wrong_servers(pki):
    shared = _shared(pki)
    with HTTPSServer(*pki.wronghost.pair) as server, httpx.Client(verify=shared) as client:
        with pytest.raises(httpx.ConnectError) as info:
            client.get(server.url("/"))
        assert _verify_error(info.value).verify_code == 62  # host name mismatch
    with HTTPSServer(*pki.othersigned.pair) as server:
        pool = urllib3.PoolManager(ssl_context=shared, retries=False)
        with pytest.raises(urllib3.exceptions.SSLError) as caught:
            pool.request("GET", server.url("/"))
        assert _verify_error(caught.value).verify_code == 20  # unable to get local issuer


def test_a_shared_context_refuses_what_would_weaken_it_or_change_it_for_others(pki):
    shared = _shared(pki, "grafana")
    shared.verify_mode = ssl.CERT_REQUIRED  # the same value: nothing changes
    shared.check_hostname = True
    shared.minimum_version = shared.minimum_version
    shared.options |= ssl.OP_NO_COMPRESSION  # already set
    shared.set_alpn_protocols(["http/1.1"])  # once
    shared.set_alpn_protocols(["http/1.1"])  # and the same again
    for name, value in (
        ("check_hostname", False),
        ("verify_mode", ssl.CERT_NONE),
        ("verify_mode", ssl.CERT_OPTIONAL),
        ("minimum_version", ssl.TLSVersion.TLSv1),
        ("hostname_checks_common_name", True),
        ("verify_flags", shared.verify_flags | ssl.VERIFY_X509_PARTIAL_CHAIN),
        ("options", shared.options | ssl.OP_NO_TLSv1_3),
        ("check_hostname", 1),  # a value of another kind is another value
    ):
        with pytest.raises(AttributeError, match="shared"):
            setattr(shared, name, value)
    with pytest.raises(TypeError, match=r"set to \['http/1.1'\]"):
        shared.set_alpn_protocols(["h2", "http/1.1"])
    for call in (
        lambda: shared.load_verify_locations(cafile=str(pki.other_ca.cert_path)),
        lambda: shared.load_default_certs(),
        lambda: shared.set_default_verify_paths(),
        lambda: shared.load_cert_chain(*pki.client.pair),
        lambda: shared.set_ciphers("ALL"),
    ):
        with pytest.raises(TypeError, match="shared"):
            call()
    assert shared.verify_mode == ssl.CERT_REQUIRED and shared.check_hostname
    assert shared.cert_store_stats()["x509_ca"] == 1


def test_requests_through_an_adapter_would_load_certifi_into_the_context(pki):
    """requests with ``verify=True`` has urllib3 load certifi's bundle into the context it
    is given: a shared context refuses; one of the caller's own silently widens
    ``trust="project"`` to every public CA (what the README warns of)."""

    def session_with(context: ssl.SSLContext) -> requests.Session:
        class ContextAdapter(requests.adapters.HTTPAdapter):
            def init_poolmanager(self, *args, **kwargs):
                kwargs["ssl_context"] = context
                return super().init_poolmanager(*args, **kwargs)

        session = requests.Session()
        session.mount("https://", ContextAdapter())
        return session

    with HTTPSServer(*pki.server.pair) as server:
        with pytest.raises(TypeError, match="load_verify_locations"):
            session_with(_shared(pki, "clickhouse")).get(server.url("/"))
        own = tlsconnect.ssl_context("clickhouse", trust="project", ca=pki.ca_pem)
        assert session_with(own).get(server.url("/")).status_code == 200
        assert own.cert_store_stats()["x509_ca"] > 1  # certifi's CAs were added

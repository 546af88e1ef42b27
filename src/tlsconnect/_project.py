"""``tlsconnect check --project``: every service of a project, checked for real, and the
days left on the certificates the project depends on.

Through the provider's API (``_aiven``): the project CA and the list of services (with
their endpoints and users). Each service gets its own plan from its type (Kafka: per
authentication method, with the service user's client certificate for the certificate
endpoint), and each endpoint is checked with :func:`tlsconnect.check` (TLS handshake plus
one protocol round trip). The checks run at the same time, at most ``workers`` at once,
so a project takes about as long as its slowest endpoint. The project CA and every
service user's certificate are reported with the days they have left; anything failing,
expired or expiring within ``warn_days`` makes the report not ``ok`` (exit 1).
"""

from __future__ import annotations

import datetime as _dt
import html
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._aiven import Endpoint, ProviderAPI, service_endpoints
from ._errors import CertificateExpiryWarning, ConfigError, ProviderAPIError, TLSConnectError
from ._material import Credentials
from ._model import DEFAULT_WARN_DAYS, DEFAULT_WORKERS, Service
from ._pem import Input, display_name
from ._probe import check
from ._report import CheckReport
from ._term import printable

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["DEFAULT_WARN_DAYS", "DEFAULT_WORKERS", "ProjectItem", "ProjectReport", "check_project"]


#: Item statuses; only "ok" and "skipped" leave a report ok.
STATUSES = ("ok", "failed", "expiring", "expired", "skipped")


@dataclass
class ProjectItem:
    """One line of a project report: an endpoint checked (or skipped), the project CA, or
    a service user's certificate."""

    kind: str  # "endpoint", "project_ca", "user_certificate"
    status: str  # one of STATUSES
    service_name: str | None = None
    service_type: str | None = None  # the provider's word: pg, kafka, ...
    endpoint: Endpoint | None = None
    report: CheckReport | None = None
    reason: str | None = None
    username: str | None = None
    subject: str | None = None
    not_after: str | None = None
    days_left: int | None = None
    seconds: float | None = None

    @property
    def ok(self) -> bool | None:
        """``None`` for a skipped service, else whether this item is fine."""
        return None if self.status == "skipped" else self.status == "ok"

    @property
    def what(self) -> str:
        if self.kind == "project_ca":
            return f"project CA '{self.subject}'"
        if self.kind == "user_certificate":
            return f"{self.service_name}: user {self.username}"
        return self.service_name or "?"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "status": self.status,
            "ok": self.ok,
            "service_name": self.service_name,
            "service_type": self.service_type,
            "reason": self.reason,
        }
        if self.kind == "endpoint":
            endpoint = self.endpoint
            data.update(
                {
                    "component": endpoint.component if endpoint else None,
                    "host": endpoint.host if endpoint else None,
                    "port": endpoint.port if endpoint else None,
                    "kafka_authentication_method": (
                        endpoint.kafka_authentication_method if endpoint else None
                    ),
                    "seconds": self.seconds,
                    "check": self.report.to_dict() if self.report else None,
                }
            )
        else:
            data.update(
                {
                    "username": self.username,
                    "subject": self.subject,
                    "not_after": self.not_after,
                    "days_left": self.days_left,
                }
            )
        return data


@dataclass
class ProjectReport:
    """What ``check --project`` found; ``str()`` for a terminal, a table in Jupyter,
    :meth:`to_list` for JSON."""

    project: str
    api_url: str
    warn_days: int
    workers: int
    items: list[ProjectItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(item.ok is not False for item in self.items)

    @property
    def endpoints(self) -> list[ProjectItem]:
        return [i for i in self.items if i.kind == "endpoint"]

    @property
    def certificates(self) -> list[ProjectItem]:
        return [i for i in self.items if i.kind != "endpoint"]

    def to_list(self) -> list[dict[str, Any]]:
        """One JSON-ready object per item (``kind``: endpoint, project_ca,
        user_certificate), each with ``status`` and ``ok``."""
        return [dict(item.to_dict(), project=self.project) for item in self.items]

    def summary(self) -> str:
        checked = [i for i in self.endpoints if i.status != "skipped"]
        failed = [i for i in checked if i.status == "failed"]
        late = [i for i in self.certificates if i.status in ("expiring", "expired")]
        unread = [i for i in self.certificates if i.status == "failed"]
        problems = []
        if failed:
            problems.append(f"{len(failed)} of {len(checked)} endpoints failed")
        if late:
            problems.append(
                f"{len(late)} certificate{'s' if len(late) != 1 else ''} expired or "
                f"expiring within {self.warn_days} days"
            )
        if unread:
            problems.append(f"{len(unread)} certificate(s) could not be read")
        if problems:
            return "NOT OK: " + "; ".join(problems)
        return (
            f"OK: {len(checked)} endpoint{'s' if len(checked) != 1 else ''} verified; no "
            f"certificate expires within {self.warn_days} days"
        )

    # -- text ----------------------------------------------------------------------

    def _endpoint_rows(self) -> list[tuple[str, str, str, str]]:
        rows = []
        for item in self.endpoints:
            kind = item.endpoint.kind if item.endpoint else (item.service_type or "?")
            where = item.endpoint.address if item.endpoint else "-"
            if item.report is not None:
                result = item.report.verdict
            elif item.status == "skipped":
                result = f"skipped: {item.reason}"
            else:
                result = f"FAILED: {item.reason}"
            rows.append((item.service_name or "?", kind, where, result))
        return rows

    def _certificate_rows(self) -> list[tuple[str, str, str, str]]:
        rows = []
        for item in self.certificates:
            if item.status == "failed":
                rows.append((item.what, "-", "-", f"FAILED: {item.reason}"))
                continue
            word = {
                "ok": "ok",
                "expiring": f"EXPIRING within {self.warn_days} days",
                "expired": "EXPIRED",
            }.get(item.status, item.status)
            rows.append((item.what, (item.not_after or "")[:10], str(item.days_left), word))
        return rows

    def render(self, *, colour: bool = False) -> str:
        def paint(text: str, code: str) -> str:
            return f"\x1b[{code}m{text}\x1b[0m" if colour else text

        def tint(result: str) -> str:
            if result.startswith(("OK, verified", "ok")):
                return paint(result, "32")
            if result.startswith(("FAILED", "EXPIRED")):
                return paint(result, "31")
            if result.startswith(("EXPIRING", "OK")):
                return paint(result, "33")
            return paint(result, "2")

        checked = [i for i in self.endpoints if i.status != "skipped"]
        services = {i.service_name for i in self.endpoints}
        lines = [
            f"project {self.project!r} ({self.api_url}): {len(services)} service"
            f"{'s' if len(services) != 1 else ''}, {len(checked)} endpoint"
            f"{'s' if len(checked) != 1 else ''} checked in {self.seconds:.1f} s "
            f"({self.workers} at a time)",
            "",
        ]
        # What the API and the servers said is shown with control characters escaped.
        endpoint_rows = [tuple(map(printable, row)) for row in self._endpoint_rows()]
        if endpoint_rows:
            lines.extend(_table(("SERVICE", "TYPE", "ENDPOINT", "RESULT"), endpoint_rows, tint))
            for item in self.endpoints:
                report = item.report
                if report is not None and not report.ok:
                    where = item.endpoint.address if item.endpoint else ""
                    lines.append(f"  {printable(f'{item.service_name} {where}')}:")
                    lines.append(f"    {paint('error:', '31')} {printable(report.error)}")
                    if report.fix:
                        lines.append(f"    {paint('fix:', '36')}   {printable(report.fix)}")
            lines.append("")
        cert_rows = [tuple(map(printable, row)) for row in self._certificate_rows()]
        if cert_rows:
            lines.extend(_table(("CERTIFICATE", "EXPIRES", "DAYS LEFT", "STATUS"), cert_rows, tint))
            lines.append("")
        lines.extend(f"note: {printable(note)}" for note in self.notes)
        lines.append(paint(printable(self.summary()), "1;32" if self.ok else "1;31"))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render(colour=False)

    def _repr_html_(self) -> str:
        colour = "#1b5e20" if self.ok else "#b00020"

        def table(head: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
            cells = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in head)
            body = "".join(
                "<tr>"
                + "".join(f"<td style='text-align:left'>{html.escape(v)}</td>" for v in row)
                + "</tr>"
                for row in rows
            )
            return f"<table><tr>{cells}</tr>{body}</table>"

        endpoint_rows = [
            (*row, (item.report.error or "") if item.report else (item.reason or ""))
            for row, item in zip(self._endpoint_rows(), self.endpoints, strict=True)
        ]
        parts = [
            f"<div class='tlsconnect-project'><strong style='color:{colour}'>"
            f"{html.escape(self.summary())}</strong>",
            f"<p>project {html.escape(self.project)} ({html.escape(self.api_url)}), checked in "
            f"{self.seconds:.1f} s</p>",
            table(("service", "type", "endpoint", "result", "reason"), endpoint_rows),
            table(("certificate", "expires", "days left", "status"), self._certificate_rows()),
        ]
        parts.extend(f"<p>note: {html.escape(note)}</p>" for note in self.notes)
        return "".join(parts) + "</div>"


def _table(
    head: tuple[str, ...], rows: Sequence[tuple[str, ...]], tint: Callable[[str], str]
) -> list[str]:
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]

    def line(row: tuple[str, ...], last: str) -> str:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        return "  ".join([*cells, last]).rstrip()

    return [line(head, head[-1])] + [line(row, tint(row[-1])) for row in rows]


# -- checking ----------------------------------------------------------------------


def _certificate_item(
    kind: str,
    cert: x509.Certificate,
    now: _dt.datetime,
    warn_days: int,
    **fields: Any,
) -> ProjectItem:
    after = cert.not_valid_after_utc
    if after <= now:
        status = "expired"
    elif after - now <= _dt.timedelta(days=warn_days):
        status = "expiring"
    else:
        status = "ok"
    return ProjectItem(
        kind,
        status,
        subject=display_name(cert.subject),
        not_after=after.isoformat(),
        days_left=(after - now).days,
        **fields,
    )


def _user_certificates(
    service: Mapping[str, Any], now: _dt.datetime, warn_days: int
) -> list[ProjectItem]:
    from cryptography import x509

    items = []
    for user in service.get("users") or []:
        if not isinstance(user, Mapping) or not isinstance(user.get("access_cert"), str):
            continue
        fields: dict[str, Any] = {
            "service_name": str(service.get("service_name") or "?"),
            "service_type": str(service.get("service_type") or "?"),
            "username": str(user.get("username") or "?"),
        }
        try:
            cert = x509.load_pem_x509_certificate(user["access_cert"].encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            items.append(
                ProjectItem(
                    "user_certificate",
                    "failed",
                    reason="the API's certificate for this user cannot be read",
                    **fields,
                )
            )
            continue
        items.append(_certificate_item("user_certificate", cert, now, warn_days, **fields))
    return items


def _user_credentials(
    service: Mapping[str, Any], username: str, ca: Input
) -> tuple[Credentials | None, str | None]:
    """The project CA with ``username``'s client certificate and key from the listing, or
    ``None`` and why."""
    for user in service.get("users") or []:
        if isinstance(user, Mapping) and user.get("username") == username:
            cert, key = user.get("access_cert"), user.get("access_key")
            if not isinstance(cert, str) or not isinstance(key, str):
                return None, f"the API gave no client certificate for user '{username}'"
            where = f"user '{username}' of service '{service.get('service_name')}'"
            try:
                return Credentials.from_inputs(
                    ca,
                    Input(cert.encode("ascii"), f"the certificate of {where}", None, None),
                    Input(key.encode("ascii"), f"the key of {where}", None, None),
                    None,
                    "from the provider's API",
                ), None
            except (ConfigError, UnicodeEncodeError) as exc:
                return None, f"the material of {where} is not usable: {exc}"
    return None, f"the service has no user '{username}' (--username)"


def check_project(
    project: str,
    *,
    token: str | None = None,
    username: str = "avnadmin",
    warn_days: int = DEFAULT_WARN_DAYS,
    sslmode: str | None = None,
    timeout: float = 10.0,
    workers: int = DEFAULT_WORKERS,
    progress: Callable[[int, int], None] | None = None,
) -> ProjectReport:
    """Check every service of ``project`` for real; see the module docstring.

    ``username`` is the service user whose client certificate Kafka's certificate
    endpoints are checked with. ``progress(done, total)`` is called as checks finish.
    API failures raise :class:`~tlsconnect.ProviderAPIError`; every failure of a check is
    in the report.
    """
    if isinstance(warn_days, bool) or not isinstance(warn_days, int) or warn_days < 0:
        raise ConfigError(f"warn_days must be a whole number of days >= 0, not {warn_days!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a whole number >= 1, not {workers!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"timeout must be a positive number of seconds, not {timeout!r}")
    started = time.perf_counter()
    api = ProviderAPI(token)
    report = ProjectReport(project, api.url, warn_days, workers)
    ca = api.project_ca(project)
    services = sorted(api.services(project), key=lambda s: str(s.get("service_name") or ""))
    now = _dt.datetime.now(_dt.timezone.utc)
    jobs: list[tuple[ProjectItem, Credentials, str | None]] = []
    with warnings.catch_warnings():
        # The report gives every certificate's days left; no warning on top of it.
        warnings.simplefilter("ignore", CertificateExpiryWarning)
        try:
            project_ca = Credentials.from_inputs(ca, None, None, None, "from the provider's API")
        except ConfigError as exc:
            raise ProviderAPIError(f"the project CA the API gave cannot be used: {exc}") from None
        newest = max(project_ca.ca_certificates, key=lambda c: c.not_valid_after_utc)
        report.items.append(_certificate_item("project_ca", newest, now, warn_days))
        for service in services:
            endpoints, skipped = service_endpoints(service)
            name = str(service.get("service_name") or "?")
            provider_type = str(service.get("service_type") or "?")
            if skipped is not None:
                report.items.append(
                    ProjectItem("endpoint", "skipped", name, provider_type, reason=skipped)
                )
            for endpoint in endpoints:
                item = ProjectItem("endpoint", "failed", name, provider_type, endpoint)
                credentials = project_ca
                if endpoint.service is Service.KAFKA and endpoint.kafka_authentication_method in (
                    None,
                    "certificate",
                ):
                    with_cert, why = _user_credentials(service, username, ca)
                    if with_cert is not None:
                        credentials = with_cert
                    else:
                        item.reason = why
                jobs.append((item, credentials, "public" if endpoint.public_ca else None))
                report.items.append(item)
            report.items.extend(_user_certificates(service, now, warn_days))
    if any(s.get("service_type") == "kafka" for s in services) and not any(
        i.kind == "user_certificate" for i in report.items
    ):
        report.notes.append(
            "the API listed no service user certificate: the token may not read service "
            "secrets (service:secrets:read)"
        )

    def run(job: tuple[ProjectItem, Credentials, str | None]) -> None:
        item, credentials, trust = job
        endpoint = item.endpoint
        if endpoint is None:  # every job has one; for the type checker
            return
        begun = time.perf_counter()
        try:
            result = check(
                endpoint.address,
                service=endpoint.service,
                timeout=timeout,
                sslmode=sslmode,
                trust=trust,
                credentials=credentials,
            )
        except TLSConnectError as exc:
            item.reason = str(exc)
        else:
            if item.reason:  # why no client certificate was sent
                result.notes.insert(0, item.reason)
                item.reason = None
            item.report = result
            item.status = "ok" if result.ok else "failed"
        item.seconds = round(time.perf_counter() - begun, 3)

    done = 0
    if jobs:
        with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            futures = [pool.submit(run, job) for job in jobs]
            for future in as_completed(futures):
                future.result()
                done += 1
                if progress is not None:
                    progress(done, len(jobs))
    report.seconds = round(time.perf_counter() - started, 3)
    return report

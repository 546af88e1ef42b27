"""The protocols ``check`` speaks: one module each, behind one interface.

:class:`Probe` is the interface (and the probe of a service whose protocol check does
not speak); :data:`PROBES` maps each service type to its probe. Adding a protocol is one
module here and one line in :data:`PROBES`. PostgreSQL's direct TLS
(``sslnegotiation=direct``) is its own probe, :data:`DIRECT`.
"""

from __future__ import annotations

from .._model import Service
from ._base import ALERT_WAIT, DIAGNOSIS_WAIT, SIDE_LIMIT, Failed, Probe, Session, wrong_protocol
from .http import HTTPProbe
from .kafka import KafkaProbe
from .mysql import DEFAULT_USER, MySQLProbe
from .postgresql import PostgreSQLProbe
from .postgresql_direct import PostgreSQLDirectProbe
from .redis import RedisProbe

__all__ = [
    "ALERT_WAIT",
    "DEFAULT_USER",
    "DIAGNOSIS_WAIT",
    "DIRECT",
    "PROBES",
    "SIDE_LIMIT",
    "Failed",
    "Probe",
    "Session",
    "probe_for",
    "wrong_protocol",
]

#: The probe of each service type that has one; the others get :class:`Probe` itself.
PROBES: dict[Service, type[Probe]] = {
    service: probe
    for probe in (PostgreSQLProbe, KafkaProbe, RedisProbe, MySQLProbe, HTTPProbe)
    for service in probe.services
}


#: The probe of each service type that starts TLS at once when asked (``direct``).
DIRECT: dict[Service, type[Probe]] = {Service.POSTGRESQL: PostgreSQLDirectProbe}


def probe_for(service: Service, *, direct: bool = False) -> type[Probe]:
    """The probe class for ``service``; ``direct``: the one that starts TLS at once."""
    if direct and service in DIRECT:
        return DIRECT[service]
    return PROBES.get(service, Probe)

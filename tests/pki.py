"""The project PKI now lives in :mod:`tlsconnect.testing`; this name stays only for
``benchmarks/run.py``, which imports ``pki`` from tests/. Tests import
``tlsconnect.testing``."""

from tlsconnect.testing import CA, PKI, Issued, issue_cert, make_ca, make_pki

__all__ = ["CA", "PKI", "Issued", "issue_cert", "make_ca", "make_pki"]

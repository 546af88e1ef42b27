"""A notebook-style look at the decisions tlsconnect makes (run it cell by cell in Jupyter,
where plans render as tables, or as a script).

    python examples/notebook_resolve.py CA_FILE
"""

# %%
from __future__ import annotations

import sys
import warnings

import tlsconnect

ca = sys.argv[1] if len(sys.argv) > 1 else "ca.pem"

# %% PostgreSQL with the project CA: chain and host name are verified.
plan = tlsconnect.resolve("pg", ca=ca)
print(plan.explain())

# %% verify-ca checks the chain but not the host name.
print(tlsconnect.resolve("postgresql", ca=ca, sslmode="verify-ca").explain())

# %% A public-CA service handed the project CA trusts both (older services use it).
print(tlsconnect.resolve("opensearch", ca=ca).explain())

# %% sslmode=require without a CA verifies nothing, and says so loudly.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    insecure = tlsconnect.resolve("postgresql", sslmode="require")
print(insecure.explain())
print("warning:", caught[0].message)

# %% Mistakes are ConfigErrors that say what to do.
try:
    tlsconnect.resolve("kafka")
except tlsconnect.ConfigError as error:
    print("ConfigError:", error)

"""Django's DATABASES from the console's URI, verifying the server; as a settings module
would hold it, then one query through the ORM's connection.

    DATABASE_URL="postgres://USER@HOST:PORT/defaultdb?sslmode=require" \
    CREDENTIALS_DIR=creds python examples/django_settings.py

In a project, the settings.py lines are the two under "settings.py". The URI may as well
be `mysql://…?ssl-mode=REQUIRED` (Django's MySQL engine, mysqlclient): OPTIONS then holds
mysqlclient's `ssl` and `ssl_mode`, never libpq's `sslmode` (dj-database-url #280).
"""

from __future__ import annotations

import os

import django
from django.conf import settings

import tlsconnect

# -- settings.py ---------------------------------------------------------------------
credentials = tlsconnect.Credentials.from_directory(os.environ["CREDENTIALS_DIR"])
DATABASES = {
    "default": tlsconnect.params(
        "django", os.environ["DATABASE_URL"], credentials=credentials, sslmode="verify-full"
    )
}
# ------------------------------------------------------------------------------------

QUERIES = {
    "django.db.backends.postgresql": (
        "SELECT 'TLS ' || version || ' ' || cipher, client_dn FROM pg_stat_ssl "
        "WHERE pid = pg_backend_pid()"
    ),
    "django.db.backends.mysql": "SELECT VARIABLE_VALUE, CURRENT_USER() "
    "FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER'",
}

if __name__ == "__main__":
    settings.configure(DATABASES=DATABASES, USE_TZ=True)
    django.setup()
    from django.db import connection

    engine = DATABASES["default"]["ENGINE"]
    with connection.cursor() as cursor:
        cursor.execute(QUERIES[engine])
        tls, who = cursor.fetchone()
    print(f"{engine}: sslmode=verify-full, {tls}, as {who or 'no client certificate'}")

"""One query through Django's ORM connection, in a process of its own (Django's settings
are global and configured once): ``python django_probe.py '{"database": {...}, "sql": ...}'``.

Prints one JSON object: ``{"ok": true, "row": [...]}`` or ``{"ok": false, "error": ...}``.
"""

from __future__ import annotations

import json
import sys


def main(spec_text: str) -> int:
    spec = json.loads(spec_text)
    for name in spec.get("hide", ()):
        sys.modules[name] = None  # type: ignore[assignment]  # as if it were not installed
    import django
    from django.conf import settings

    settings.configure(DATABASES={"default": spec["database"]}, USE_TZ=True)
    django.setup()
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute(spec["sql"])
            row = cursor.fetchone()
    except Exception as exc:  # reported to the test, which checks what it was
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
        return 0
    finally:
        connection.close()
    answer = {"ok": True, "row": list(row) if row is not None else None}
    if connection.vendor == "postgresql":
        from django.db.backends.postgresql.psycopg_any import is_psycopg3

        answer["psycopg3"] = is_psycopg3
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

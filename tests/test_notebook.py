"""The example notebook runs top to bottom against the real servers."""

from __future__ import annotations

import pathlib

import nbformat
from nbclient import NotebookClient

NOTEBOOK = pathlib.Path(__file__).resolve().parent.parent / "examples" / "check_notebook.ipynb"


def test_check_notebook_runs_top_to_bottom(pg, kafka, pki, monkeypatch, tmp_path):
    monkeypatch.setenv(
        "TLSCONNECT_PG_URI", f"postgres://avnadmin@localhost:{pg.good.port}/defaultdb"
    )
    monkeypatch.setenv("TLSCONNECT_KAFKA", kafka.good.bootstrap)
    monkeypatch.setenv("TLSCONNECT_CREDS", str(pki.creds_dir))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("tlsconnect-plan" in h for h in html), "the plan did not render as HTML"
    assert len(html) >= 4
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "client_cert_required" in text

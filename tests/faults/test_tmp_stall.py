import time
from pathlib import Path
import requests
from sqlalchemy import Engine, make_url
from tests.faults.conftest import ServedApp, new_served_app
from tests.faults.tcp_proxy import TcpProxy
from tests.payments.conftest import PaymentsHarness

def test_stall(harness: PaymentsHarness, served: list[ServedApp], tmp_path: Path, faults_engine: Engine) -> None:
    database = make_url(faults_engine.url.render_as_string(hide_password=False))
    with TcpProxy(database.host or "127.0.0.1", database.port or 5432) as proxy:
        app = new_served_app(served, tmp_path, database_url=database.set(port=proxy.port).render_as_string(hide_password=False), stripe_base=harness.stripe_server.url, slack=harness.slack).start()
        print(requests.get(f"{app.url}/healthz", timeout=10).status_code)
        proxy.stall()
        t = time.monotonic()
        try:
            r = requests.get(f"{app.url}/healthz", timeout=60)
            print("stalled healthz", r.status_code, time.monotonic() - t)
        except requests.RequestException as exc:
            print("stalled healthz raised", exc, time.monotonic() - t)
        print(app.log())
        proxy.restore()

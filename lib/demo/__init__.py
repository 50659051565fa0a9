"""The embedded demo CRM: a local server speaking the "v2" contract (apis.md §1) over seeded SQLite data.

Used when nothing is configured: `ensure_running(data_dir, size)` starts one server per process and
returns (base_url, token) for the app's ordinary v2 client. `python -m lib.demo` serves it standalone.
Alive (the default in the app, LEADS_DEMO_ALIVE), it creates a few leads and moves some statuses forward
every few minutes while it runs (lib.demo.alive), so a background sync has something to bring in.
"""

from lib.demo.data import STATUSES, generate_columns, generate_leads
from lib.demo.db import DemoDB
from lib.demo.server import DemoCRM, ensure_running

__all__ = ["STATUSES", "DemoCRM", "DemoDB", "ensure_running", "generate_columns", "generate_leads"]

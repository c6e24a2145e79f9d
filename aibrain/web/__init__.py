"""The command centre's workbench (`aibrain web`, or inside `aibrain run` with a `web:` section): a
FastAPI app over the incident store — sign-in, the overview map and live feed, incidents and the
centre's actions on them — changing incidents only through routing's closed-loop code.

app.py — the FastAPI application: routes, static files, security headers, anonymous requests.
workbench.py — what every page shares (site, database, organisation, actions, live feed, templates).
signed_in.py — the session cookie resolved to a user and scope; the CSRF check of state changes.
login.py — sign-in (throttled, audited, its own CSRF token) and sign-out.
throttle.py — failed sign-ins per user name and address lock them out for a while.
live_feed.py — one poller of committed changes, fanned out to every listening browser in scope.
assessment_page.py — assessment (考核): figures per group, a chart by day, the CSV, the monthly report.
server.py — serving: `aibrain web` in the foreground, or a role of `aibrain run`; the first admin.
user_commands.py — `aibrain users add|passwd|disable|list`.
templates/ — the pages (Jinja2, autoescaped).
static/ — style sheet, scripts and the vendored ECharts (scripts/vendor_web_assets.py refreshes it).
"""

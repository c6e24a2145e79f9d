"""The command centre's workbench (`aibrain web`, or inside `aibrain run` with a `web:` section): a
FastAPI app over the incident store — sign-in, the overview map and live feed, incidents and the
centre's actions on them, the grid worker's phone app — changing incidents only through routing's closed-loop code.

app.py — the FastAPI application: routes, static files, security headers, anonymous requests.
body_limit.py — request bodies capped before anything reads them (uploads spool to disk).
workbench.py — what every page shares (site, database, organisation, actions, live feed, templates).
signed_in.py — the session cookie resolved to a user and scope; the CSRF check of state changes.
login.py — sign-in (throttled, audited, its own CSRF token) and sign-out.
throttle.py — failed sign-ins per user name and address lock them out for a while.
scope.py — what a user may see of the incident store, as a query condition.
overview.py — the overview (指挥大屏): the page, /api/overview and the scope's grids as GeoJSON.
overview_figures.py — the overview's queries: today's counters, open incidents by grid and as markers, cameras.
events.py — /events: the live feed as server-sent events, each user's scope only.
incidents.py — the incident list and detail (workers' photos and requests for more time on it), the centre's actions.
incident_query.py — the list's filters, whitelisted sorts and capped paging, within the user's scope.
incident_view.py — how incidents read on the pages: labels, site-time times, names for ids, allowed actions.
grid_sketch.py — the detail's small map: the grid outline and the camera as server-drawn SVG.
evidence_pictures.py — evidence JPEGs, only from the incident's stored path and only inside evidence_dir.
cameras.py — the camera cards, each camera's live picture, the zone editor and its save.
site_on_disk.py — the site file as it is now (read once per change) and its checked, atomic write-back.
live_feed.py — one poller of committed changes, fanned out to every listening browser in scope.
phone_pages.py — the grid worker's phone app (/m/): the installable page shell, service worker, web manifest.
phone_api.py — the phone app's JSON API (/m/api/): the worker's inbox and their actions, each sent once.
phone_cards.py — how an incident reads in the phone app: the inbox card, deadlines, allowed actions.
photo_intake.py — workers' photos in: checked, re-encoded as JPEG without EXIF, stored beside the evidence.
photos.py — workers' photos out: /photos/{id}, only to users whose scope holds the incident.
worker_record.py — the worker's own record (我的记录): the month's figures and history.
extension_decisions.py — a leader approves or refuses a worker's request for more time.
assessment_page.py — assessment (考核): figures per group, a chart by day, the CSV, the monthly report.
server.py — serving: `aibrain web` in the foreground, or a role of `aibrain run`; the first admin.
user_commands.py — `aibrain users add|passwd|disable|list`.
templates/ — the pages (Jinja2, autoescaped).
static/ — style sheet, scripts and the vendored ECharts (scripts/vendor_web_assets.py refreshes it); static/phone/ the
phone app's scripts, style, service worker and icons.
"""

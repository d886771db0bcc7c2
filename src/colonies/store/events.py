"""The NOTIFY channel and payloads that carry events between replicas (docs/protocol.md §7.19).

Payloads carry routing keys only (NOTIFY payloads are limited to 8000 bytes); listeners load
objects from the database.
"""

EVENTS_CHANNEL = "colonies_events"

# A process event: ["p", state, processid, colony, executortype, location]. ``{p}`` is the alias
# of a row that has those columns.
NOTIFY_SQL = (
    f"pg_notify('{EVENTS_CHANNEL}', json_build_array('p', {{p}}.state, {{p}}.processid, "
    "{p}.colonyname, {p}.executortype, {p}.location_lc)::text)"
)

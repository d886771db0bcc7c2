-- Blueprints (upstream "services"): definitions, instances and their history (§7.14).

CREATE TABLE blueprint_definitions (
    definitionid text PRIMARY KEY,
    colonyname   text NOT NULL REFERENCES colonies (name) ON DELETE CASCADE,
    name         text NOT NULL,
    kind         text NOT NULL,  -- spec.names.kind: what blueprints name
    definition   jsonb NOT NULL,
    UNIQUE (colonyname, name)
);
CREATE INDEX blueprint_definitions_by_kind ON blueprint_definitions (colonyname, kind);

CREATE TABLE blueprints (
    blueprintid  text PRIMARY KEY,
    colonyname   text NOT NULL REFERENCES colonies (name) ON DELETE CASCADE,
    name         text NOT NULL,
    kind         text NOT NULL,
    locationname text NOT NULL DEFAULT '',
    blueprint    jsonb NOT NULL,  -- kind, metadata and spec as last written
    status       jsonb NOT NULL DEFAULT '{}',  -- replaced atomically by status updates
    UNIQUE (colonyname, name)
);
CREATE INDEX blueprints_by_kind ON blueprints (colonyname, kind, locationname);

CREATE TABLE blueprint_history (
    historyid   text PRIMARY KEY,
    blueprintid text NOT NULL,  -- kept after the blueprint is removed (the "delete" row)
    colonyname  text NOT NULL REFERENCES colonies (name) ON DELETE CASCADE,
    entry       jsonb NOT NULL,
    ts          timestamptz NOT NULL,
    seq         bigserial
);
CREATE INDEX blueprint_history_by_blueprint ON blueprint_history (blueprintid, seq DESC);

-- Foundation: the server owner, colonies and what lives in them besides processes.
-- Every table of a colony references colonies(name) ON DELETE CASCADE, so removing a colony
-- removes everything in it in one statement.

CREATE TABLE server_owner (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    serverid  text NOT NULL
);

CREATE TABLE colonies (
    name     text PRIMARY KEY,
    colonyid text NOT NULL
);
CREATE INDEX colonies_by_id ON colonies (colonyid);

CREATE TABLE executors (
    colonyname        text NOT NULL REFERENCES colonies (name) ON DELETE CASCADE,
    executorname      text NOT NULL,
    executorid        text NOT NULL,
    executortype      text NOT NULL,
    state             smallint NOT NULL DEFAULT 0,
    requirefuncreg    boolean NOT NULL DEFAULT false,
    commissiontime    timestamptz NOT NULL,
    lastheardfromtime timestamptz NOT NULL,
    locationname      text NOT NULL DEFAULT '',
    capabilities      jsonb NOT NULL,
    allocations       jsonb NOT NULL,
    blueprintid       text NOT NULL DEFAULT '',
    blueprintgen      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (colonyname, executorname)
);
CREATE INDEX executors_by_id ON executors (executorid, colonyname);

CREATE TABLE users (
    colonyname text NOT NULL REFERENCES colonies (name) ON DELETE CASCADE,
    name       text NOT NULL,
    userid     text NOT NULL,
    email      text NOT NULL DEFAULT '',
    phone      text NOT NULL DEFAULT '',
    PRIMARY KEY (colonyname, name)
);
CREATE INDEX users_by_id ON users (userid, colonyname);

CREATE TABLE locations (
    locationid  text PRIMARY KEY,
    colonyname  text NOT NULL REFERENCES colonies (name) ON DELETE CASCADE,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    long        double precision NOT NULL DEFAULT 0,
    lat         double precision NOT NULL DEFAULT 0,
    UNIQUE (colonyname, name)
);

CREATE TABLE functions (
    functionid   text PRIMARY KEY,
    colonyname   text NOT NULL,
    executorname text NOT NULL,
    executortype text NOT NULL,
    funcname     text NOT NULL,
    description  text NOT NULL DEFAULT '',
    args         jsonb NOT NULL,
    counter      bigint NOT NULL DEFAULT 0,
    minwaittime  double precision NOT NULL DEFAULT 0,
    maxwaittime  double precision NOT NULL DEFAULT 0,
    minexectime  double precision NOT NULL DEFAULT 0,
    maxexectime  double precision NOT NULL DEFAULT 0,
    avgwaittime  double precision NOT NULL DEFAULT 0,
    avgexectime  double precision NOT NULL DEFAULT 0,
    locationname text NOT NULL DEFAULT '',
    UNIQUE (colonyname, executorname, funcname),
    FOREIGN KEY (colonyname, executorname)
        REFERENCES executors (colonyname, executorname) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE SEQUENCE file_sequencenr;

CREATE TABLE files (
    fileid      text PRIMARY KEY,
    colonyname  text NOT NULL REFERENCES colonies (name) ON DELETE CASCADE,
    label       text NOT NULL,
    name        text NOT NULL,
    size        bigint NOT NULL DEFAULT 0,
    sequencenr  bigint NOT NULL DEFAULT nextval('file_sequencenr'),
    checksum    text NOT NULL DEFAULT '',
    checksumalg text NOT NULL DEFAULT '',
    ref         jsonb NOT NULL,
    added       timestamptz NOT NULL,
    creatorid   text NOT NULL
);
CREATE INDEX files_by_label_name ON files (colonyname, label, name, sequencenr DESC);
CREATE INDEX files_by_label_prefix ON files (colonyname, label text_pattern_ops);

CREATE TABLE snapshots (
    snapshotid text PRIMARY KEY,
    colonyname text NOT NULL REFERENCES colonies (name) ON DELETE CASCADE,
    label      text NOT NULL,
    name       text NOT NULL,
    fileids    text[] NOT NULL,
    added      timestamptz NOT NULL,
    UNIQUE (colonyname, name)
);

-- Processes, their attributes and logs.

CREATE SEQUENCE process_seq;

CREATE TABLE processes (
    processid          text PRIMARY KEY,
    colonyname         text NOT NULL REFERENCES colonies (name) ON DELETE CASCADE,
    -- Insertion order: breaks ties on prioritytime so assignment order is deterministic.
    seq                bigint NOT NULL DEFAULT nextval('process_seq'),
    state              smallint NOT NULL DEFAULT 0,
    isassigned         boolean NOT NULL DEFAULT false,
    assignedexecutorid text NOT NULL DEFAULT '',
    initiatorid        text NOT NULL,
    initiatorname      text NOT NULL,
    -- Matching keys copied out of the spec (docs/protocol.md §7.3).
    executortype       text NOT NULL,
    executornames      text[] NOT NULL DEFAULT '{}',
    location_lc        text NOT NULL DEFAULT '',
    req_cpu            bigint NOT NULL DEFAULT 0,
    req_mem            bigint NOT NULL DEFAULT 0,
    waitforparents     boolean NOT NULL DEFAULT false,
    prioritytime       bigint NOT NULL,
    submissiontime     timestamptz NOT NULL,
    starttime          timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    endtime            timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    waitdeadline       timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    execdeadline       timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    retries            integer NOT NULL DEFAULT 0,
    maxexectime        integer NOT NULL DEFAULT 0,
    maxwaittime        integer NOT NULL DEFAULT 0,
    maxretries         integer NOT NULL DEFAULT 0,
    funcname           text NOT NULL DEFAULT '',
    label              text NOT NULL DEFAULT '',
    spec               jsonb NOT NULL,
    processgraphid     text NOT NULL DEFAULT '',
    parents            text[] NOT NULL DEFAULT '{}',
    children           text[] NOT NULL DEFAULT '{}',
    input              jsonb NOT NULL DEFAULT '[]',
    output             jsonb NOT NULL DEFAULT '[]',
    errors             text[] NOT NULL DEFAULT '{}'
);

-- The claim: waiting processes only, in assignment order. Finished history is not in it,
-- so it cannot slow the claim down however large it grows.
CREATE INDEX processes_claim ON processes (colonyname, executortype, prioritytime, seq)
    WHERE state = 0 AND NOT waitforparents;
-- Listings and statistics per colony and state, newest activity first where it matters.
CREATE INDEX processes_by_state ON processes (colonyname, state, submissiontime);
CREATE INDEX processes_by_end ON processes (colonyname, state, endtime DESC)
    WHERE state >= 2;
CREATE INDEX processes_running ON processes (colonyname, starttime) WHERE state = 1;
CREATE INDEX processes_by_graph ON processes (processgraphid) WHERE processgraphid <> '';

CREATE TABLE attributes (
    attributeid          text PRIMARY KEY,
    targetid             text NOT NULL REFERENCES processes (processid) ON DELETE CASCADE,
    targetcolonyname     text NOT NULL,
    targetprocessgraphid text NOT NULL DEFAULT '',
    attributetype        smallint NOT NULL,
    key                  text NOT NULL,
    value                text NOT NULL,
    seq                  bigserial
);
CREATE INDEX attributes_by_target ON attributes (targetid, seq);

CREATE TABLE logs (
    seq          bigserial PRIMARY KEY,
    colonyname   text NOT NULL REFERENCES colonies (name) ON DELETE CASCADE,
    processid    text NOT NULL DEFAULT '',
    executorname text NOT NULL DEFAULT '',
    message      text NOT NULL,
    ts           bigint NOT NULL
);
CREATE INDEX logs_by_process ON logs (processid, ts) WHERE processid <> '';
CREATE INDEX logs_by_executor ON logs (colonyname, executorname, ts);
CREATE INDEX logs_by_time ON logs (colonyname, ts);

-- Process graphs, generators, crons, pause flags, and the leader's fencing term.

CREATE TABLE processgraphs (
    processgraphid text PRIMARY KEY,
    colonyname     text NOT NULL REFERENCES colonies (name) ON DELETE CASCADE,
    initiatorid    text NOT NULL,
    initiatorname  text NOT NULL,
    rootprocessids text[] NOT NULL DEFAULT '{}',
    state          smallint NOT NULL DEFAULT 0,
    submissiontime timestamptz NOT NULL,
    starttime      timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    endtime        timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00'
);
CREATE INDEX processgraphs_by_state ON processgraphs (colonyname, state, submissiontime);

-- Deadlines scanned by the leader's timeout tick; only processes that have one are indexed.
CREATE INDEX processes_exec_deadline ON processes (execdeadline)
    WHERE state = 1 AND maxexectime > 0;
CREATE INDEX processes_wait_deadline ON processes (waitdeadline)
    WHERE state = 0 AND maxwaittime > 0;

ALTER TABLE colonies ADD COLUMN paused boolean NOT NULL DEFAULT false;

CREATE TABLE generators (
    generatorid   text PRIMARY KEY,
    colonyname    text NOT NULL REFERENCES colonies (name) ON DELETE CASCADE,
    initiatorid   text NOT NULL,
    initiatorname text NOT NULL,
    name          text NOT NULL,
    workflowspec  text NOT NULL,
    trigger       bigint NOT NULL,
    timeout       bigint NOT NULL,
    firstpack     timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    lastrun       timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    UNIQUE (colonyname, name)
);

-- Packed arguments, consumed in FIFO order (seq) exactly once.
CREATE TABLE generator_args (
    seq         bigserial PRIMARY KEY,
    generatorid text NOT NULL REFERENCES generators (generatorid) ON DELETE CASCADE,
    arg         text NOT NULL
);
CREATE INDEX generator_args_fifo ON generator_args (generatorid, seq);

CREATE TABLE crons (
    cronid                  text PRIMARY KEY,
    colonyname              text NOT NULL REFERENCES colonies (name) ON DELETE CASCADE,
    initiatorid             text NOT NULL,
    initiatorname           text NOT NULL,
    name                    text NOT NULL,
    cronexpression          text NOT NULL DEFAULT '',
    interval                bigint NOT NULL DEFAULT -1,
    random                  boolean NOT NULL DEFAULT false,
    nextrun                 timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    lastrun                 timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    workflowspec            text NOT NULL,
    prevprocessgraphid      text NOT NULL DEFAULT '',
    waitforprevprocessgraph boolean NOT NULL DEFAULT false,
    UNIQUE (colonyname, name)
);
CREATE INDEX crons_due ON crons (nextrun);

-- Fencing: every leader tick first raises this to its own term, or finds a newer one and
-- refuses to act (docs/architecture.md §5.3).
CREATE TABLE leader_term (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    term      bigint NOT NULL,
    holder    text NOT NULL DEFAULT '',
    since     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO leader_term (term) VALUES (0);

-- The execution ledger: every state change of every process and workflow, appended by triggers
-- in the transaction that makes the change. The leader later links entries into one hash chain
-- (SHA3-256 over a canonical encoding, each entry holding its predecessor's hash) in the order
-- it seals them, and signs checkpoints of the chain head. Nothing ever deletes ledger rows.

CREATE TABLE ledger (
    seq        bigserial PRIMARY KEY,
    ts         timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind       text NOT NULL,        -- 'process' or 'graph'
    objectid   text NOT NULL,
    colonyname text NOT NULL,
    event      text NOT NULL,        -- submitted, assigned, reclaimed, closed, failed, cancelled, removed
    state      smallint NOT NULL,
    actor      text NOT NULL DEFAULT '',
    chain_pos  bigint UNIQUE,        -- set when sealed: the entry's place in the chain
    prevhash   bytea,
    hash       bytea
);
CREATE INDEX ledger_unsealed ON ledger (seq) WHERE chain_pos IS NULL;
CREATE INDEX ledger_by_object ON ledger (objectid, seq);

CREATE TABLE ledger_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    chain_pos bigint NOT NULL,
    hash      bytea NOT NULL
);
INSERT INTO ledger_head (chain_pos, hash) VALUES (0, '\x00'::bytea);

CREATE TABLE ledger_checkpoints (
    chain_pos bigint PRIMARY KEY,
    hash      bytea NOT NULL,
    ts        timestamptz NOT NULL,
    signer    text NOT NULL,      -- the server owner's ID, '' when no key is configured
    signature text NOT NULL       -- over the ASCII of "<chain_pos>:<hash hex>"
);

CREATE FUNCTION ledger_event(old_state smallint, new_state smallint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN old_state IS NULL THEN 'submitted'
        WHEN new_state IS NULL THEN 'removed'
        WHEN new_state = 1 THEN 'assigned'
        WHEN new_state = 0 THEN 'reclaimed'
        WHEN new_state = 2 THEN 'closed'
        WHEN new_state = 3 THEN 'failed'
        WHEN new_state = 4 THEN 'cancelled'
        ELSE 'changed' END
$$;

CREATE FUNCTION ledger_process_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO ledger (kind, objectid, colonyname, event, state, actor)
        VALUES ('process', OLD.processid, OLD.colonyname, 'removed', OLD.state, '');
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.state = OLD.state THEN
        RETURN NULL;
    END IF;
    INSERT INTO ledger (kind, objectid, colonyname, event, state, actor)
    VALUES ('process', NEW.processid, NEW.colonyname,
            ledger_event(CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.state END, NEW.state),
            NEW.state,
            CASE WHEN TG_OP = 'INSERT' THEN NEW.initiatorid ELSE NEW.assignedexecutorid END);
    RETURN NULL;
END $$;

CREATE TRIGGER processes_ledger
    AFTER INSERT OR DELETE OR UPDATE OF state ON processes
    FOR EACH ROW EXECUTE FUNCTION ledger_process_change();

CREATE FUNCTION ledger_graph_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO ledger (kind, objectid, colonyname, event, state, actor)
        VALUES ('graph', OLD.processgraphid, OLD.colonyname, 'removed', OLD.state, '');
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.state = OLD.state THEN
        RETURN NULL;
    END IF;
    INSERT INTO ledger (kind, objectid, colonyname, event, state, actor)
    VALUES ('graph', NEW.processgraphid, NEW.colonyname,
            CASE WHEN TG_OP = 'INSERT' THEN 'submitted'
                 WHEN NEW.state = 1 THEN 'running'
                 ELSE ledger_event(OLD.state, NEW.state) END,
            NEW.state, CASE WHEN TG_OP = 'INSERT' THEN NEW.initiatorid ELSE '' END);
    RETURN NULL;
END $$;

CREATE TRIGGER processgraphs_ledger
    AFTER INSERT OR DELETE OR UPDATE OF state ON processgraphs
    FOR EACH ROW EXECUTE FUNCTION ledger_graph_change();

-- The ledger entries of process changes, appended once per statement instead of once per row:
-- a statement that submits, claims or closes a batch of processes (store/batching.py) runs one
-- INSERT ... SELECT over its transition table instead of a PL/pgSQL call and an INSERT per row.
-- What is recorded is unchanged (009_ledger.sql): one entry per insert, per change of state and
-- per delete.
DROP TRIGGER processes_ledger ON processes;
DROP FUNCTION ledger_process_change();

CREATE FUNCTION ledger_processes_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger (kind, objectid, colonyname, event, state, actor)
    SELECT 'process', n.processid, n.colonyname, 'submitted', n.state, n.initiatorid
      FROM inserted n;
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_processes_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger (kind, objectid, colonyname, event, state, actor)
    SELECT 'process', n.processid, n.colonyname, ledger_event(o.state, n.state), n.state,
           n.assignedexecutorid
      FROM old_rows o JOIN new_rows n USING (processid)
     WHERE n.state <> o.state;
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_processes_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger (kind, objectid, colonyname, event, state, actor)
    SELECT 'process', o.processid, o.colonyname, 'removed', o.state, '' FROM deleted o;
    RETURN NULL;
END $$;

CREATE TRIGGER processes_ledger_insert AFTER INSERT ON processes
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_processes_inserted();
-- Transition tables allow no column list (UPDATE OF state): the WHERE above keeps only changes
-- of state.
CREATE TRIGGER processes_ledger_update AFTER UPDATE ON processes
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_processes_updated();
CREATE TRIGGER processes_ledger_delete AFTER DELETE ON processes
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_processes_deleted();

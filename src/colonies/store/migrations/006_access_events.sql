-- Replicas cache who is what in a colony (the authorization look-up of every request); any
-- change to colonies, executors or users tells every replica to forget, through the same NOTIFY
-- channel as other events, when the change commits. Column lists keep the hot path quiet: an
-- assign refreshes lastheardfromtime and must not invalidate anything.

CREATE FUNCTION notify_access_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('colonies_events', '["a"]');
    RETURN NULL;
END $$;

CREATE TRIGGER colonies_access_change
    AFTER INSERT OR DELETE OR UPDATE OF name, colonyid, paused ON colonies
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_change();

CREATE TRIGGER executors_access_change
    AFTER INSERT OR DELETE OR UPDATE OF colonyname, executorname, executorid, executortype,
        state, locationname ON executors
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_change();

CREATE TRIGGER users_access_change
    AFTER INSERT OR DELETE OR UPDATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_change();

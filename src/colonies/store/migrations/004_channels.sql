-- Channels: append-only message logs attached to a process (docs/protocol.md §7.12), in PostgreSQL
-- so every replica sees them; deleted when the process ends.

CREATE TABLE channels (
    channelid text PRIMARY KEY,  -- <processid>_<name>
    processid text NOT NULL REFERENCES processes (processid) ON DELETE CASCADE,
    name      text NOT NULL,
    entries   integer NOT NULL DEFAULT 0  -- the next entry's position
);
CREATE INDEX channels_by_process ON channels (processid);

CREATE TABLE channel_entries (
    channelid text NOT NULL REFERENCES channels (channelid) ON DELETE CASCADE,
    position  integer NOT NULL,  -- arrival order, 0-based: what afterseq counts
    sequence  bigint NOT NULL,
    inreplyto bigint NOT NULL DEFAULT 0,
    ts        timestamptz NOT NULL,
    senderid  text NOT NULL,
    payload   bytea NOT NULL,
    type      text NOT NULL,
    error     text NOT NULL DEFAULT '',
    PRIMARY KEY (channelid, position)
);

-- A process that ends (closed, failed, cancelled) loses its channels. The WHEN clause keeps
-- the trigger off the hot path of processes without channels.
CREATE FUNCTION drop_channels_of_ended_process() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM channels WHERE processid = NEW.processid;
    RETURN NULL;
END $$;

CREATE TRIGGER processes_end_channels
    AFTER UPDATE OF state ON processes
    FOR EACH ROW
    WHEN (NEW.state >= 2 AND OLD.state < 2 AND NEW.spec -> 'channels' <> '[]'::jsonb)
    EXECUTE FUNCTION drop_channels_of_ended_process();

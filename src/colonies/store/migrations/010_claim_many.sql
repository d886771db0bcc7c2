-- Claims for several executors in one statement take only processes open to any executor; they
-- fall back to one claim per executor while a process aimed at executors by name waits (so
-- that one is not passed over). This index answers "does one wait?" without a scan.
CREATE INDEX processes_waiting_named ON processes (colonyname, executortype)
    WHERE state = 0 AND cardinality(executornames) > 0 AND executornames <> '{*}';

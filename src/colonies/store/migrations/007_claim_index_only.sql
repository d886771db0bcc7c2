-- Waiting processes get indexes of their own, so no index over every state competes with the
-- claim index (the planner took the general one for small queues), and finished history never
-- enters a waiting-process look-up.
DROP INDEX processes_by_state;
CREATE INDEX processes_history ON processes (colonyname, state, submissiontime) WHERE state <> 0;
CREATE INDEX processes_waiting ON processes (colonyname, prioritytime, seq) WHERE state = 0;

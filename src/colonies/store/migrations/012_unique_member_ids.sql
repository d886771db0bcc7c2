-- colonies: readable-by 11
-- One key is at most one executor, and at most one user, of a colony: the authorization
-- look-up of a request (store/server.py) finds one row, never one of several.
--
-- Rows that share an ID already (an executor added twice under two names, an ID rotated onto
-- another member's) are kept: the one registered first keeps the ID, the others get one no key
-- can sign for ('duplicate:' and their name), executors rejected as well, for the colony owner
-- to remove or add again. Nothing else changes, so the previous release runs on this schema.

UPDATE executors e
   SET executorid = 'duplicate:' || e.executorname, state = 2 /* REJECTED */
  FROM (SELECT colonyname, executorname,
               row_number() OVER (PARTITION BY colonyname, executorid
                                  ORDER BY commissiontime, executorname) AS n
          FROM executors) d
 WHERE d.colonyname = e.colonyname AND d.executorname = e.executorname AND d.n > 1;

DROP INDEX executors_by_id;
CREATE UNIQUE INDEX executors_by_id ON executors (executorid, colonyname);

UPDATE users u
   SET userid = 'duplicate:' || u.name
  FROM (SELECT colonyname, name,
               row_number() OVER (PARTITION BY colonyname, userid ORDER BY name) AS n
          FROM users) d
 WHERE d.colonyname = u.colonyname AND d.name = u.name AND d.n > 1;

DROP INDEX users_by_id;
CREATE UNIQUE INDEX users_by_id ON users (userid, colonyname);

-- Replay protection: a (caller, nonce) is accepted once inside the freshness window; every
-- replica agrees because the check is this table's primary key. The leader deletes expired rows.
CREATE TABLE request_nonces (
    caller  text NOT NULL,
    nonce   text NOT NULL,
    expires timestamptz NOT NULL,
    PRIMARY KEY (caller, nonce)
);
CREATE INDEX request_nonces_expiry ON request_nonces (expires);

-- Sign-in security: the one token signing key in force, and smart lockout state.

-- The installation's token signing key in one well-known slot ('current'): two servers that
-- start at once on an empty database both try `INSERT … ON CONFLICT (slot) DO NOTHING` and
-- then read back the row that won, so they sign with the same key. `private_key` is the
-- PKCS#8 key sealed with AES-256-GCM under a key kept outside the database
-- ('aes256gcm:v1:' + base64 of nonce and ciphertext); a plain base64 key written by an older
-- version is sealed on the next start. The old `signing_keys` table is read once, here.
CREATE TABLE signing_key_slot (
    slot TEXT PRIMARY KEY,
    kid TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO signing_key_slot (slot, kid, private_key, created_at)
    SELECT 'current', kid, private_key, created_at FROM signing_keys
    ORDER BY created_at DESC, kid LIMIT 1;

-- Derived: failed sign-ins per (tenant, user name as typed, source address). Kept in the
-- database so that every server of one installation counts the same failures. `subject` is the
-- lower-cased user name whether or not such a user exists (an unknown name locks the same
-- way); `source` is the peer address of the connection ('' when unknown).
CREATE TABLE sign_in_failures (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    subject TEXT NOT NULL,
    source TEXT NOT NULL,
    -- Failures since the last success or the last lockout.
    failures BIGINT NOT NULL,
    -- Lockouts so far (each lasts twice as long as the one before).
    lockouts BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject, source)
);

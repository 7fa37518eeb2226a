-- The admin center (issue 8): server-side browser sessions and daily product counts.

-- A signed-in browser. The cookie carries a random token; only its SHA-256 (hex) is stored,
-- so a copy of the database signs nobody in. `csrf` is the session's form token. A session
-- ends when idle past its idle limit (`last_seen_at`), at `expires_at` whatever happens, at
-- sign-out, and when the user is deleted, disabled or changes the password.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    user_id TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (tenant_id, user_id);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- Derived (a report, not intent): each product's seat counts once a day, kept two years, for
-- the home page's chart of assigned against total over time. `day` is days since 1970-01-01
-- (UTC); a later snapshot on the same day replaces the earlier one.
CREATE TABLE sku_snapshots (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    sku_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    total BIGINT NOT NULL,
    assigned BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, sku_id, day)
);

-- App registrations (client credentials), token signing keys and durable jobs.

-- Intent: an application registered in a tenant, with the Graph application permissions it was
-- granted. The secret is stored as an argon2id hash only.
CREATE TABLE app_registrations (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    app_id TEXT NOT NULL,
    -- The service principal's object id: the `oid` of the app's tokens.
    object_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    -- Space-separated Graph permission names, e.g. 'User.ReadWrite.All LicenseAssignment.ReadWrite.All'.
    permissions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, app_id)
);

-- The installation's token signing keys (PKCS#8, base64). Not tenant data: one issuer for all.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    private_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Durable background jobs (D13): a group license change is recorded as intent plus a job in one
-- transaction; the server's worker applies it to the members and marks it complete. A job that
-- was in progress when the process died is run again (it is idempotent: it recomputes from intent).
CREATE TABLE jobs (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    -- Graph licenseProcessingState: QueuedForProcessing, ProcessingInProgress, ProcessingComplete
    state TEXT NOT NULL,
    actor TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX jobs_open ON jobs (state, created_at);
CREATE INDEX jobs_target ON jobs (tenant_id, target_id, created_at);

-- Who acted, for Graph's directoryAudit initiatedBy: 'user' (actor_id = user id), 'app'
-- (actor_id = app id), 'system' or 'operator'.
ALTER TABLE audit_log ADD COLUMN actor_kind TEXT NOT NULL DEFAULT 'operator';
ALTER TABLE audit_log ADD COLUMN actor_id TEXT NOT NULL DEFAULT '';

-- Cross-process correctness (issue 7 items 1 and 7).

-- Bumped in the same transaction as any change to the tenant's own products or plans (D14): every
-- process keeps its cached catalog with the version it was read at and reloads when the row says
-- otherwise.
ALTER TABLE tenants ADD COLUMN catalog_version BIGINT NOT NULL DEFAULT 0;

-- Failing jobs are retried with exponential backoff and given up after a bounded number of
-- attempts (state 'ProcessingFailed'). A worker claims a job with a lease: `lease_owner` runs it
-- until `lease_until`; a crashed worker's lease expires and another worker takes the job. `runs`
-- counts how many times a worker started the job (at most one at a time holds the lease).
ALTER TABLE jobs ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN runs BIGINT NOT NULL DEFAULT 0;

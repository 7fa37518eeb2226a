-- Derived: per group, how many users hold a license through it (an applied path whose source is
-- the group) and how many have a path from it in error. Kept by the engine's deltas with the path
-- states (like sku_usage), so the admin center's group counts read one row per group instead of
-- counting every path state; `skuld doctor` recounts them from path_states. Rows at zero are not
-- kept.
CREATE TABLE group_license_counts (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    group_id TEXT NOT NULL,
    licensed BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, group_id)
);

-- The counters of existing tenants, counted once from their path states.
INSERT INTO group_license_counts (tenant_id, group_id, licensed, errors)
SELECT tenant_id, source,
       COUNT(DISTINCT CASE WHEN applied = 1 THEN user_id END),
       COUNT(DISTINCT CASE WHEN error <> 'None' THEN user_id END)
FROM path_states
WHERE source <> 'direct'
GROUP BY tenant_id, source
HAVING COUNT(DISTINCT CASE WHEN applied = 1 THEN user_id END) > 0
    OR COUNT(DISTINCT CASE WHEN error <> 'None' THEN user_id END) > 0;

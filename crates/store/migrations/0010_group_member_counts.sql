-- Per group, how many direct members it has: users (live and soft-deleted), live users, and
-- groups. Kept by the store's membership and user writes in the same transaction (like
-- group_license_counts), so the admin center's group page reads one row instead of counting a
-- million membership rows; `skuld doctor` recounts them from memberships.
CREATE TABLE group_member_counts (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    group_id TEXT NOT NULL,
    user_members BIGINT NOT NULL,
    live_user_members BIGINT NOT NULL,
    group_members BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, group_id)
);

-- The counters of existing tenants, counted once from their memberships.
INSERT INTO group_member_counts (tenant_id, group_id, user_members, live_user_members, group_members)
SELECT m.tenant_id, m.group_id,
       SUM(CASE WHEN m.member_kind = 'user' THEN 1 ELSE 0 END),
       SUM(CASE WHEN m.member_kind = 'user' AND u.id IS NOT NULL AND u.deleted_at IS NULL THEN 1 ELSE 0 END),
       SUM(CASE WHEN m.member_kind = 'group' THEN 1 ELSE 0 END)
FROM memberships m
LEFT JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.member_id
GROUP BY m.tenant_id, m.group_id;

-- Derived: per tenant, how many users have at least one license path in error (direct or
-- through a group). Kept by the engine's deltas with the path states, like
-- group_license_counts; the home page's "Users with errors" card reads it.
CREATE TABLE tenant_license_counts (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    users_in_error BIGINT NOT NULL,
    PRIMARY KEY (tenant_id)
);

INSERT INTO tenant_license_counts (tenant_id, users_in_error)
SELECT tenant_id, COUNT(DISTINCT user_id) FROM path_states WHERE error <> 'None' GROUP BY tenant_id;

-- A group's users in error, in id order, straight from the index (the group page lists the
-- first of them; the error count comes from group_license_counts).
DROP INDEX path_states_source;
CREATE INDEX path_states_source ON path_states (tenant_id, source, error, user_id);

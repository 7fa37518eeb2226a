-- Nested-group walks read the group-in-group edges of a tenant on every membership change;
-- without this index that read scans every membership of the tenant.
CREATE INDEX memberships_kind ON memberships (tenant_id, member_kind);

-- Waiting users are served in D4 order straight from this index, a page at a time, however many
-- wait.
CREATE INDEX path_states_waiting ON path_states (tenant_id, sku_id, error, priority DESC, since, user_id);
-- Superseded by path_states_waiting, which starts with the same columns.
DROP INDEX path_states_error;

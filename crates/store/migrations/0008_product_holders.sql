-- The admin center's product page lists a product's holders a page at a time (keyset on the
-- user id), so a product held by a million users costs one page, not a million rows.
CREATE INDEX path_states_sku_user ON path_states (tenant_id, sku_id, user_id);
-- The home page's "users with license errors": the few users in error of a large tenant, found
-- without reading every path state.
CREATE INDEX path_states_error_user ON path_states (tenant_id, error, user_id);
-- Active users lists people by display name (the sort expression of list queries), a keyset page
-- at a time.
CREATE INDEX users_display_name ON users (tenant_id, LOWER(COALESCE(display_name, '')), id);
-- Deleted users, a keyset page at a time, without walking every live user to find them.
CREATE INDEX users_deleted ON users (tenant_id, id) WHERE deleted_at IS NOT NULL;
-- A group's guests are found from the guests (few), not from its members (many).
CREATE INDEX users_type ON users (tenant_id, user_type, deleted_at);

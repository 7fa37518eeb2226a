-- Large fan-outs read the members of a group and the licensing facts of every user; these
-- covering indexes let both reads skip the wide table rows.
CREATE INDEX memberships_group_members ON memberships (tenant_id, group_id, member_kind, member_id);
CREATE INDEX users_licensing ON users (tenant_id, id, usage_location, deleted_at);

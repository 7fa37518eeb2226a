-- skuld schema. Portable between SQLite and PostgreSQL: TEXT ids (lowercase GUIDs), BIGINT
-- integers, booleans and milliseconds since the Unix epoch. Every table is keyed by tenant.
--
-- Intent: tenants, users, dir_groups, memberships, direct_assignments, group_assignments,
-- subscriptions, custom catalog, role_assignments.
-- Derived (recomputable by `skuld doctor`): path_states, sku_usage, dynamic memberships.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    default_domain TEXT NOT NULL,
    country TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- Bumped by every write transaction: takes the tenant's licensing lock on both backends.
    lock_version BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE tenant_domains (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE users (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    upn TEXT NOT NULL,
    upn_key TEXT NOT NULL,
    display_name TEXT NOT NULL,
    given_name TEXT,
    surname TEXT,
    mail_nickname TEXT NOT NULL,
    mail TEXT,
    usage_location TEXT,
    user_type TEXT NOT NULL,
    account_enabled BIGINT NOT NULL,
    job_title TEXT,
    department TEXT,
    company_name TEXT,
    employee_id TEXT,
    office_location TEXT,
    business_phone TEXT,
    mobile_phone TEXT,
    fax TEXT,
    street_address TEXT,
    city TEXT,
    state TEXT,
    postal_code TEXT,
    country TEXT,
    password_hash TEXT,
    force_change_password BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT,
    on_prem_sync BIGINT,
    PRIMARY KEY (tenant_id, id)
);
-- A soft-deleted user keeps its UPN; a new user may take it (restore then conflicts).
CREATE UNIQUE INDEX users_upn_live ON users (tenant_id, upn_key) WHERE deleted_at IS NULL;

CREATE TABLE dir_groups (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT,
    mail_nickname TEXT NOT NULL,
    kind TEXT NOT NULL,
    security_enabled BIGINT NOT NULL,
    mail_enabled BIGINT NOT NULL,
    membership_rule TEXT,
    rule_paused BIGINT NOT NULL,
    license_priority BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE memberships (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    group_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    member_kind TEXT NOT NULL,
    -- 1 when derived from the group's membership rule.
    dynamic BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, member_id)
);
CREATE INDEX memberships_member ON memberships (tenant_id, member_id);

CREATE TABLE custom_plans (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE custom_products (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    sku_id TEXT NOT NULL,
    part_number TEXT NOT NULL,
    display_name TEXT NOT NULL,
    applies_to TEXT NOT NULL,
    plans TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sku_id)
);

CREATE TABLE subscriptions (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    sku_id TEXT NOT NULL,
    units BIGINT NOT NULL,
    status TEXT NOT NULL,
    is_trial BIGINT NOT NULL,
    self_service_owner TEXT,
    created_at BIGINT NOT NULL,
    next_lifecycle_at BIGINT,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE direct_assignments (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    user_id TEXT NOT NULL,
    sku_id TEXT NOT NULL,
    disabled_plans TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, sku_id)
);

CREATE TABLE group_assignments (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    group_id TEXT NOT NULL,
    sku_id TEXT NOT NULL,
    disabled_plans TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, sku_id)
);

CREATE TABLE role_assignments (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    user_id TEXT NOT NULL,
    role_template_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, role_template_id)
);

-- Derived: one row per user, product and path (Graph licenseAssignmentStates).
CREATE TABLE path_states (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    user_id TEXT NOT NULL,
    sku_id TEXT NOT NULL,
    -- 'direct' or the granting group's id
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT NOT NULL,
    applied BIGINT NOT NULL,
    disabled_plans TEXT NOT NULL,
    since BIGINT NOT NULL,
    priority BIGINT NOT NULL,
    detail TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, sku_id, source)
);
CREATE INDEX path_states_error ON path_states (tenant_id, sku_id, error);
CREATE INDEX path_states_source ON path_states (tenant_id, source, error);

-- Derived: seats held per product.
CREATE TABLE sku_usage (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    sku_id TEXT NOT NULL,
    consumed BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, sku_id)
);

CREATE TABLE audit_log (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    category TEXT NOT NULL,
    activity TEXT NOT NULL,
    result TEXT NOT NULL,
    result_reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_name TEXT NOT NULL,
    modified TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_seq ON audit_log (tenant_id, seq);

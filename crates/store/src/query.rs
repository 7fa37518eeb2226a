//! List queries of users and groups ([`ListQuery`]) as SQL: every value is a bound parameter,
//! every column comes from the fixed maps below. Paging is keyset paging: rows are ordered by
//! the requested keys and then by id, and the cursor carries the last row's keys, so a page
//! boundary does not move when objects are added or removed before it.
//!
//! Cursor: base64url (no padding) of a JSON array `[fingerprint, key…, id]`, where the
//! fingerprint names the object kind, the deleted flag and the sort keys. A cursor of another
//! query, or anything that does not decode, is [`StoreError::BadCursor`].
//!
//! String comparisons are case-insensitive (`LOWER` on both sides, so each backend agrees with
//! itself), and every comparison with a null column is false rather than unknown, which makes
//! `NOT` behave like Graph's.

use crate::tenant_tx::{group_from_row, user_from_row};
use crate::{Backend, Result, StoreError, TenantTx};
use base64::Engine;
use skuld_domain::query::{Cmp, Field, FieldKind, Filter, ListQuery, Order, Page, Search, Value};
use skuld_domain::{Group, User};
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

type Q<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    User,
    Group,
}

impl Entity {
    fn table(&self) -> &'static str {
        match self {
            Entity::User => "users",
            Entity::Group => "dir_groups",
        }
    }
    fn name(&self) -> &'static str {
        match self {
            Entity::User => "user",
            Entity::Group => "group",
        }
    }
}

/// A bound parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Str(String),
    Int(i64),
}

/// SQL text with its parameters, in order of appearance: `?` on SQLite, `$N` on PostgreSQL.
struct Sql {
    text: String,
    args: Vec<Arg>,
    backend: Backend,
}

impl Sql {
    fn new(backend: Backend) -> Self {
        Self {
            text: String::new(),
            args: Vec::new(),
            backend,
        }
    }
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }
    fn arg(&mut self, a: Arg) {
        self.args.push(a);
        if self.backend == Backend::Sqlite {
            self.text.push('?');
        } else {
            self.text.push('$');
            self.text.push_str(&self.args.len().to_string());
        }
    }
    fn str(&mut self, s: impl Into<String>) {
        self.arg(Arg::Str(s.into()));
    }
    fn int(&mut self, i: i64) {
        self.arg(Arg::Int(i));
    }
    fn query(&self) -> Q<'_> {
        let mut q = sqlx::query(&self.text);
        for a in &self.args {
            q = match a {
                Arg::Str(s) => q.bind(s.as_str()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

fn bad(msg: String) -> StoreError {
    StoreError::BadQuery(msg)
}

/// The column (or fixed expression) of a property; `o` is the object's table.
fn column(entity: Entity, field: Field) -> Result<&'static str> {
    let c = match (entity, field) {
        (_, Field::Id) => "o.id",
        (_, Field::DisplayName) => "o.display_name",
        (_, Field::MailNickname) => "o.mail_nickname",
        (_, Field::CreatedDateTime) => "o.created_at",
        (Entity::User, f) => match f {
            Field::GivenName => "o.given_name",
            Field::Surname => "o.surname",
            Field::UserPrincipalName => "o.upn",
            Field::Mail => "o.mail",
            Field::UsageLocation => "o.usage_location",
            Field::UserType => "o.user_type",
            Field::AccountEnabled => "o.account_enabled",
            Field::JobTitle => "o.job_title",
            Field::Department => "o.department",
            Field::CompanyName => "o.company_name",
            Field::City => "o.city",
            Field::Country => "o.country",
            Field::State => "o.state",
            Field::PostalCode => "o.postal_code",
            Field::StreetAddress => "o.street_address",
            Field::OfficeLocation => "o.office_location",
            Field::MobilePhone => "o.mobile_phone",
            Field::FaxNumber => "o.fax",
            Field::EmployeeId => "o.employee_id",
            Field::DeletedDateTime => "o.deleted_at",
            Field::OnPremisesSyncEnabled => "o.on_prem_sync",
            f => return Err(bad(format!("{f:?} is not a property of a user"))),
        },
        (Entity::Group, f) => match f {
            Field::Description => "o.description",
            Field::SecurityEnabled => "o.security_enabled",
            Field::MailEnabled => "o.mail_enabled",
            Field::MembershipRule => "o.membership_rule",
            Field::MembershipRuleProcessingState => {
                "(CASE WHEN o.membership_rule IS NULL THEN NULL WHEN o.rule_paused = 1 THEN 'Paused' ELSE 'On' END)"
            }
            f => return Err(bad(format!("{f:?} is not a property of a group"))),
        },
    };
    Ok(c)
}

/// The expression a property is sorted by: never null, strings lowercased.
fn sort_expr(entity: Entity, field: Field) -> Result<String> {
    let c = column(entity, field)?;
    Ok(match field.kind() {
        FieldKind::Id => c.to_string(),
        FieldKind::Text => format!("LOWER(COALESCE({c}, ''))"),
        FieldKind::Bool | FieldKind::Time => format!("COALESCE({c}, -1)"),
    })
}

fn op_sql(op: Cmp) -> &'static str {
    match op {
        Cmp::Eq => "=",
        Cmp::Ne => "<>",
        Cmp::Lt => "<",
        Cmp::Le => "<=",
        Cmp::Gt => ">",
        Cmp::Ge => ">=",
    }
}

/// `s` with LIKE's wildcards and the escape character escaped (for `ESCAPE '!'`).
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '!' | '%' | '_') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

fn is_text(field: Field) -> bool {
    matches!(field.kind(), FieldKind::Text | FieldKind::Id)
}

/// `col op value`, false when the column is null (so `Ne` is `NOT Eq` and includes nulls).
fn compare(sql: &mut Sql, entity: Entity, field: Field, op: Cmp, value: &Value) -> Result<()> {
    let col = column(entity, field)?;
    if *value == Value::Null {
        let s = match op {
            Cmp::Eq => format!("({col} IS NULL)"),
            Cmp::Ne => format!("({col} IS NOT NULL)"),
            _ => "(1 = 0)".to_string(),
        };
        sql.push(&s);
        return Ok(());
    }
    if op == Cmp::Ne {
        sql.push("(NOT ");
        compare(sql, entity, field, Cmp::Eq, value)?;
        sql.push(")");
        return Ok(());
    }
    let o = op_sql(op);
    match (field.kind(), value) {
        (FieldKind::Text | FieldKind::Id, Value::Str(s)) => {
            sql.push(&format!("({col} IS NOT NULL AND LOWER({col}) {o} LOWER("));
            sql.str(s.as_str());
            sql.push("))");
        }
        (FieldKind::Id, Value::Guid(u)) => {
            sql.push(&format!("({col} IS NOT NULL AND {col} {o} "));
            sql.str(u.hyphenated().to_string());
            sql.push(")");
        }
        (FieldKind::Bool, Value::Bool(b)) => {
            sql.push(&format!("({col} IS NOT NULL AND {col} {o} "));
            sql.int(*b as i64);
            sql.push(")");
        }
        (FieldKind::Time, Value::Time(t)) => {
            sql.push(&format!("({col} IS NOT NULL AND {col} {o} "));
            sql.int(t.0);
            sql.push(")");
        }
        (kind, v) => {
            return Err(bad(format!(
                "cannot compare {field:?} ({kind:?}) with {v:?}"
            )))
        }
    }
    Ok(())
}

fn like(sql: &mut Sql, col: &str, patterns: &[String]) {
    sql.push(&format!("({col} IS NOT NULL AND ("));
    for (i, p) in patterns.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push(&format!("LOWER({col}) LIKE LOWER("));
        sql.str(p.as_str());
        sql.push(") ESCAPE '!'");
    }
    sql.push("))");
}

fn list(sql: &mut Sql, skus: impl Iterator<Item = String>) {
    let mut first = true;
    for s in skus {
        if !first {
            sql.push(", ");
        }
        first = false;
        sql.str(s);
    }
}

/// The rows of a user's held products (`ps`) or of a group's assigned products (`ga`).
fn licenses_of(entity: Entity) -> &'static str {
    match entity {
        Entity::User => {
            "path_states lic WHERE lic.tenant_id = o.tenant_id AND lic.user_id = o.id AND lic.applied = 1"
        }
        Entity::Group => {
            "group_assignments lic WHERE lic.tenant_id = o.tenant_id AND lic.group_id = o.id"
        }
    }
}

fn filter(sql: &mut Sql, entity: Entity, f: &Filter) -> Result<()> {
    match f {
        Filter::And(v) | Filter::Or(v) => {
            let (join, empty) = if matches!(f, Filter::And(_)) {
                (" AND ", "(1 = 1)")
            } else {
                (" OR ", "(1 = 0)")
            };
            if v.is_empty() {
                sql.push(empty);
                return Ok(());
            }
            sql.push("(");
            for (i, g) in v.iter().enumerate() {
                if i > 0 {
                    sql.push(join);
                }
                filter(sql, entity, g)?;
            }
            sql.push(")");
        }
        Filter::Not(g) => {
            sql.push("(NOT ");
            filter(sql, entity, g)?;
            sql.push(")");
        }
        Filter::Compare { field, op, value } => compare(sql, entity, *field, *op, value)?,
        Filter::In { field, values } => {
            if values.is_empty() {
                sql.push("(1 = 0)");
                return Ok(());
            }
            sql.push("(");
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    sql.push(" OR ");
                }
                compare(sql, entity, *field, Cmp::Eq, v)?;
            }
            sql.push(")");
        }
        Filter::StartsWith { field, prefix } => {
            if !is_text(*field) {
                return Err(bad(format!("startswith on {field:?}")));
            }
            let col = column(entity, *field)?;
            like(sql, col, &[format!("{}%", like_escape(prefix))]);
        }
        Filter::EndsWith { field, suffix } => {
            if !is_text(*field) {
                return Err(bad(format!("endswith on {field:?}")));
            }
            let col = column(entity, *field)?;
            like(sql, col, &[format!("%{}", like_escape(suffix))]);
        }
        Filter::HasLicense(skus) => {
            if skus.is_empty() {
                sql.push("(1 = 0)");
                return Ok(());
            }
            sql.push(&format!(
                "EXISTS (SELECT 1 FROM {} AND lic.sku_id IN (",
                licenses_of(entity)
            ));
            list(sql, skus.iter().map(|s| s.to_string()));
            sql.push("))");
        }
        Filter::HasPlan(_) => {
            return Err(bad(
                "an assignedPlans condition must be resolved against the catalog first".into(),
            ))
        }
        Filter::HasEnabledPlan(pairs) => {
            if pairs.is_empty() {
                sql.push("(1 = 0)");
                return Ok(());
            }
            // Per product: one of its matching plans is not disabled on the row.
            let mut by_sku: Vec<(String, Vec<String>)> = Vec::new();
            for (sku, plan) in pairs {
                let (s, p) = (sku.to_string(), plan.to_string());
                match by_sku.iter_mut().find(|(k, _)| *k == s) {
                    Some((_, v)) => v.push(p),
                    None => by_sku.push((s, vec![p])),
                }
            }
            sql.push(&format!(
                "EXISTS (SELECT 1 FROM {} AND (",
                licenses_of(entity)
            ));
            for (i, (sku, plans)) in by_sku.into_iter().enumerate() {
                if i > 0 {
                    sql.push(" OR ");
                }
                sql.push("(lic.sku_id = ");
                sql.str(sku);
                sql.push(" AND (");
                for (j, p) in plans.into_iter().enumerate() {
                    if j > 0 {
                        sql.push(" OR ");
                    }
                    sql.push("lic.disabled_plans NOT LIKE ");
                    sql.str(format!("%{}%", like_escape(&p)));
                    sql.push(" ESCAPE '!'");
                }
                sql.push("))");
            }
            sql.push("))");
        }
        Filter::LicenseCount { op, n } => {
            sql.push(&format!(
                "((SELECT COUNT(DISTINCT lic.sku_id) FROM {}) {} ",
                licenses_of(entity),
                op_sql(*op)
            ));
            sql.int(*n);
            sql.push(")");
        }
        Filter::GroupType(t) => {
            if entity != Entity::Group {
                return Err(bad("groupTypes is not a property of a user".into()));
            }
            sql.push(match t.to_ascii_lowercase().as_str() {
                "unified" => "(o.kind = 'Microsoft365')",
                "dynamicmembership" => "(o.membership_rule IS NOT NULL)",
                _ => "(1 = 0)",
            });
        }
        Filter::HasMembersWithLicenseErrors(b) => {
            if entity != Entity::Group {
                return Err(bad(
                    "hasMembersWithLicenseErrors is not a property of a user".into(),
                ));
            }
            sql.push(if *b { "EXISTS" } else { "NOT EXISTS" });
            // The group's counter of users in error (kept with the path states; doctor checks it).
            sql.push(" (SELECT 1 FROM group_license_counts e WHERE e.tenant_id = o.tenant_id AND e.group_id = o.id AND e.errors > 0)");
        }
        Filter::Const(b) => sql.push(if *b { "(1 = 1)" } else { "(1 = 0)" }),
    }
    Ok(())
}

fn search(sql: &mut Sql, entity: Entity, s: &Search) -> Result<()> {
    match s {
        Search::Term { field, text } => {
            if !is_text(*field) {
                return Err(bad(format!("search on {field:?}")));
            }
            let col = column(entity, *field)?;
            // A word of the value starts with the text: at the start or after a separator.
            let t = like_escape(text);
            let patterns: Vec<String> = std::iter::once(format!("{t}%"))
                .chain(
                    [" ", ".", "-", "!_", "@"]
                        .iter()
                        .map(|sep| format!("%{sep}{t}%")),
                )
                .collect();
            like(sql, col, &patterns);
        }
        Search::And(v) | Search::Or(v) => {
            let (join, empty) = if matches!(s, Search::And(_)) {
                (" AND ", "(1 = 1)")
            } else {
                (" OR ", "(1 = 0)")
            };
            if v.is_empty() {
                sql.push(empty);
                return Ok(());
            }
            sql.push("(");
            for (i, t) in v.iter().enumerate() {
                if i > 0 {
                    sql.push(join);
                }
                search(sql, entity, t)?;
            }
            sql.push(")");
        }
    }
    Ok(())
}

/// A sort key's value as stored in a cursor.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Str(String),
    Int(i64),
}

fn fingerprint(entity: Entity, q: &ListQuery) -> String {
    let mut s = format!(
        "{}{}",
        entity.name(),
        if q.deleted { "-deleted" } else { "" }
    );
    for o in &q.order {
        s.push_str(&format!(
            ",{:?}{}",
            o.field,
            if o.descending { "-" } else { "+" }
        ));
    }
    s
}

fn encode_cursor(fp: &str, keys: &[Key], id: &str) -> String {
    let mut v = vec![serde_json::Value::from(fp)];
    for k in keys {
        v.push(match k {
            Key::Str(s) => serde_json::Value::from(s.as_str()),
            Key::Int(i) => serde_json::Value::from(*i),
        });
    }
    v.push(serde_json::Value::from(id));
    let json = serde_json::Value::Array(v).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor(fp: &str, order: &[Order], cursor: &str) -> Result<(Vec<Key>, String)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| StoreError::BadCursor)?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
    let arr = v.as_array().ok_or(StoreError::BadCursor)?;
    if arr.len() != order.len() + 2 || arr[0].as_str() != Some(fp) {
        return Err(StoreError::BadCursor);
    }
    let mut keys = Vec::with_capacity(order.len());
    for (o, k) in order.iter().zip(&arr[1..]) {
        keys.push(match o.field.kind() {
            FieldKind::Text | FieldKind::Id => {
                Key::Str(k.as_str().ok_or(StoreError::BadCursor)?.into())
            }
            FieldKind::Bool | FieldKind::Time => Key::Int(k.as_i64().ok_or(StoreError::BadCursor)?),
        });
    }
    let id = arr[order.len() + 1]
        .as_str()
        .filter(|s| uuid::Uuid::parse_str(s).is_ok())
        .ok_or(StoreError::BadCursor)?;
    Ok((keys, id.to_string()))
}

fn bind_key(sql: &mut Sql, k: &Key) {
    match k {
        Key::Str(s) => sql.str(s.as_str()),
        Key::Int(i) => sql.int(*i),
    }
}

/// `FROM … WHERE …` of a query: tenant, live/deleted, filter and search (no cursor).
fn where_clause(sql: &mut Sql, entity: Entity, tid: &str, q: &ListQuery) -> Result<()> {
    sql.push(&format!(" FROM {} o WHERE o.tenant_id = ", entity.table()));
    sql.str(tid);
    if entity == Entity::User {
        sql.push(if q.deleted {
            " AND o.deleted_at IS NOT NULL"
        } else {
            " AND o.deleted_at IS NULL"
        });
    }
    if let Some(f) = &q.filter {
        sql.push(" AND ");
        filter(sql, entity, f)?;
    }
    if let Some(s) = &q.search {
        sql.push(" AND ");
        search(sql, entity, s)?;
    }
    Ok(())
}

/// The SQL of one page: rows after the cursor, `limit + 1` of them (the extra one tells
/// whether there is a next page). Sort keys are selected as `skuld_k0…`.
fn page_sql(backend: Backend, entity: Entity, tid: &str, q: &ListQuery) -> Result<Sql> {
    let exprs = q
        .order
        .iter()
        .map(|o| sort_expr(entity, o.field))
        .collect::<Result<Vec<_>>>()?;
    let mut sql = Sql::new(backend);
    sql.push("SELECT o.*");
    for (i, e) in exprs.iter().enumerate() {
        sql.push(&format!(", {e} AS skuld_k{i}"));
    }
    where_clause(&mut sql, entity, tid, q)?;
    if let Some(c) = &q.after {
        let (keys, id) = decode_cursor(&fingerprint(entity, q), &q.order, c)?;
        // (k0 ⋗ v0) OR (k0 = v0 AND k1 ⋗ v1) OR … OR (k0 = v0 AND … AND id > last id)
        sql.push(" AND (");
        for i in 0..=exprs.len() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(");
            for j in 0..i {
                sql.push(&format!("{} = ", exprs[j]));
                bind_key(&mut sql, &keys[j]);
                sql.push(" AND ");
            }
            if i < exprs.len() {
                let op = if q.order[i].descending { "<" } else { ">" };
                sql.push(&format!("{} {op} ", exprs[i]));
                bind_key(&mut sql, &keys[i]);
            } else {
                sql.push("o.id > ");
                sql.str(id.as_str());
            }
            sql.push(")");
        }
        sql.push(")");
    }
    sql.push(" ORDER BY ");
    for (i, o) in q.order.iter().enumerate() {
        sql.push(&format!(
            "skuld_k{i}{}, ",
            if o.descending { " DESC" } else { "" }
        ));
    }
    sql.push("o.id LIMIT ");
    sql.int(q.limit.max(1) as i64 + 1);
    Ok(sql)
}

fn count_sql(backend: Backend, entity: Entity, tid: &str, q: &ListQuery) -> Result<Sql> {
    let mut sql = Sql::new(backend);
    sql.push("SELECT COUNT(*)");
    where_clause(&mut sql, entity, tid, q)?;
    Ok(sql)
}

impl TenantTx {
    async fn list_page<T>(
        &mut self,
        entity: Entity,
        q: &ListQuery,
        decode: fn(&AnyRow) -> Result<T>,
    ) -> Result<Page<T>> {
        let sql = page_sql(self.backend, entity, &self.tid, q)?;
        let rows = sql.query().fetch_all(&mut *self.tx).await?;
        let limit = q.limit.max(1) as usize;
        let more = rows.len() > limit;
        let mut items = Vec::with_capacity(rows.len().min(limit));
        for r in rows.iter().take(limit) {
            items.push(decode(r)?);
        }
        let next = if more {
            let last = &rows[limit - 1];
            let mut keys = Vec::with_capacity(q.order.len());
            for (i, o) in q.order.iter().enumerate() {
                let name = format!("skuld_k{i}");
                keys.push(match o.field.kind() {
                    FieldKind::Text | FieldKind::Id => Key::Str(last.try_get(name.as_str())?),
                    FieldKind::Bool | FieldKind::Time => Key::Int(last.try_get(name.as_str())?),
                });
            }
            let id: String = last.try_get("id")?;
            Some(encode_cursor(&fingerprint(entity, q), &keys, &id))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn count_matching(&mut self, entity: Entity, q: &ListQuery) -> Result<i64> {
        let sql = count_sql(self.backend, entity, &self.tid, q)?;
        Ok(sql.query().fetch_one(&mut *self.tx).await?.try_get(0)?)
    }

    /// One page of live (or, with `q.deleted`, soft-deleted) users matching `q`.
    /// `assignedPlans` conditions must have been resolved ([`ListQuery::resolve_plans`]).
    pub async fn list_users(&mut self, q: &ListQuery) -> Result<Page<User>> {
        self.list_page(Entity::User, q, user_from_row).await
    }

    /// How many users match `q`, ignoring its cursor and page size.
    pub async fn count_users_matching(&mut self, q: &ListQuery) -> Result<i64> {
        self.count_matching(Entity::User, q).await
    }

    /// One page of groups matching `q` (`q.deleted` is ignored: groups are deleted for good).
    pub async fn list_groups(&mut self, q: &ListQuery) -> Result<Page<Group>> {
        self.list_page(Entity::Group, q, group_from_row).await
    }

    /// How many groups match `q`, ignoring its cursor and page size.
    pub async fn count_groups_matching(&mut self, q: &ListQuery) -> Result<i64> {
        self.count_matching(Entity::Group, q).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skuld_domain::query::Order;
    use skuld_domain::SkuId;

    fn sql_of(backend: Backend, f: Filter) -> Sql {
        let q = ListQuery {
            filter: Some(f),
            ..Default::default()
        };
        page_sql(backend, Entity::User, "t", &q).unwrap()
    }

    #[test]
    fn values_are_bound_never_spliced() {
        let evil = "x' OR 1=1 --";
        let s = sql_of(
            Backend::Postgres,
            Filter::And(vec![
                Filter::Compare {
                    field: Field::DisplayName,
                    op: Cmp::Eq,
                    value: Value::Str(evil.into()),
                },
                Filter::StartsWith {
                    field: Field::Mail,
                    prefix: "50%_off!".into(),
                },
                Filter::HasLicense(vec![SkuId::new()]),
            ]),
        );
        assert!(!s.text.contains(evil));
        assert!(s.args.contains(&Arg::Str(evil.into())));
        assert!(s.args.contains(&Arg::Str("50!%!_off!!%".into())));
        // $1 … $N in order, each once.
        for i in 1..=s.args.len() {
            let p = format!("${i}");
            let uses = s
                .text
                .match_indices(&p)
                .filter(|(at, _)| !s.text[at + p.len()..].starts_with(|c: char| c.is_ascii_digit()))
                .count();
            assert_eq!(uses, 1, "{p} in {}", s.text);
        }
        assert!(!s.text.contains(&format!("${}", s.args.len() + 1)));
        let s = sql_of(
            Backend::Sqlite,
            Filter::Compare {
                field: Field::City,
                op: Cmp::Eq,
                value: Value::Null,
            },
        );
        assert!(s.text.contains("(o.city IS NULL)"), "{}", s.text);
        assert_eq!(s.text.matches('?').count(), s.args.len());
    }

    #[test]
    fn fields_of_the_other_kind_are_refused() {
        let q = ListQuery {
            filter: Some(Filter::Compare {
                field: Field::SecurityEnabled,
                op: Cmp::Eq,
                value: Value::Bool(true),
            }),
            ..Default::default()
        };
        assert!(matches!(
            page_sql(Backend::Sqlite, Entity::User, "t", &q),
            Err(StoreError::BadQuery(_))
        ));
        assert!(page_sql(Backend::Sqlite, Entity::Group, "t", &q).is_ok());
    }

    #[test]
    fn cursors_round_trip_and_reject_other_queries() {
        let order = vec![Order {
            field: Field::DisplayName,
            descending: true,
        }];
        let q = ListQuery {
            order: order.clone(),
            ..Default::default()
        };
        let fp = fingerprint(Entity::User, &q);
        let id = uuid::Uuid::new_v4().to_string();
        let c = encode_cursor(&fp, &[Key::Str("adele".into())], &id);
        assert_eq!(
            decode_cursor(&fp, &order, &c).unwrap(),
            (vec![Key::Str("adele".into())], id.clone())
        );
        assert!(matches!(
            decode_cursor(&fingerprint(Entity::Group, &q), &order, &c),
            Err(StoreError::BadCursor)
        ));
        assert!(matches!(
            decode_cursor(&fp, &[], &c),
            Err(StoreError::BadCursor)
        ));
        for junk in ["", "!!", "bnVsbA", "W10", "WyJ1c2VyIiwxLDJd"] {
            assert!(matches!(
                decode_cursor(&fp, &order, junk),
                Err(StoreError::BadCursor)
            ));
        }
    }
}

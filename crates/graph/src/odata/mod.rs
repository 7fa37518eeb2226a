//! OData query options (graph-api.md §9): the raw query string of a list request becomes
//! [`QueryOptions`] — `$select`, `$expand=members`, `$count`, and a domain
//! [`ListQuery`](skuld_domain::query::ListQuery) built from `$filter`, `$search`, `$orderby`,
//! `$top` and `$skiptoken` — or a Graph error with Graph's text. Nothing here panics or answers
//! 5xx, whatever the input.
//!
//! Decisions where Graph is silent or unverified (graph-api.md "DECISION"):
//! - `$skip` is refused on every collection (Graph: not supported on users).
//! - unknown `$`-options are refused; options without `$` are ignored (and kept in nextLinks).
//! - `not x eq y` is read as `not (x eq y)`.
//! - `id` compares with a quoted or a bare GUID; `skuId`/`servicePlanId` accept both too.
//! - `$expand=members($select=…)` honours the nested `$select` (validated against user and
//!   group properties) and ignores other nested options; `$expand` with an advanced query is
//!   refused, as Graph documents.
//! - `assignedPlans/any(p: …)` knows `servicePlanId`, `capabilityStatus` and `service`
//!   (`eq`, `startswith`), joined by `and`, alternatives by `or`. The parse leaves
//!   [`Filter::HasPlan`](skuld_domain::query::Filter::HasPlan), which the app resolves against
//!   the tenant's catalog.

mod filter;
mod props;
mod search;
#[cfg(test)]
mod tests;

pub use filter::parse_filter;
pub use search::parse_search;

use crate::GraphError;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use skuld_domain::query::{ListQuery, Order};

/// The collection a query is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    User,
    Group,
    /// `/directory/deletedItems/microsoft.graph.user`: user properties, soft-deleted users.
    DeletedUser,
}

impl Resource {
    /// Graph's resource name in filter errors.
    pub fn graph_name(&self) -> &'static str {
        match self {
            Resource::User | Resource::DeletedUser => "User",
            Resource::Group => "Group",
        }
    }
    fn type_name(&self) -> &'static str {
        match self {
            Resource::User | Resource::DeletedUser => "microsoft.graph.user",
            Resource::Group => "microsoft.graph.group",
        }
    }
}

/// Default page size (graph-api.md §9.1).
pub const DEFAULT_TOP: u32 = 100;
/// Largest `$top`.
pub const MAX_TOP: u32 = 999;

/// The query options of one list request.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOptions {
    /// `$select`: Graph's spelling of each property, in the caller's order, without repeats.
    pub select: Option<Vec<String>>,
    /// `$expand=members` (groups only).
    pub expand_members: bool,
    /// The nested `$select` of `$expand=members($select=…)`.
    pub expand_select: Option<Vec<String>>,
    /// `$count=true` with `ConsistencyLevel: eventual`: answer `@odata.count`.
    pub count: bool,
    pub query: ListQuery,
    /// Every option as decoded, in order, except `$skiptoken`: what a nextLink repeats.
    pub raw: Vec<(String, String)>,
}

impl QueryOptions {
    /// Parses the raw (still percent-encoded) query string of a request for `resource`.
    /// `consistency_eventual` is whether the request carries `ConsistencyLevel: eventual`.
    pub fn parse(
        raw_query: Option<&str>,
        consistency_eventual: bool,
        resource: Resource,
    ) -> Result<QueryOptions, GraphError> {
        let pairs = decode_query(raw_query.unwrap_or(""))?;
        let mut raw = Vec::with_capacity(pairs.len());
        let mut opt: [Option<String>; 8] = Default::default();
        const NAMES: [&str; 8] = [
            "$select",
            "$filter",
            "$top",
            "$count",
            "$orderby",
            "$search",
            "$expand",
            "$skiptoken",
        ];
        for (k, v) in pairs {
            let lower = k.to_ascii_lowercase();
            if let Some(i) = NAMES.iter().position(|n| *n == lower) {
                if opt[i].is_some() {
                    return Err(GraphError::bad_request(format!(
                        "Query option '{}' was specified more than once, but it must be specified at most once.",
                        NAMES[i]
                    )));
                }
                opt[i] = Some(v.clone());
            } else if lower == "$skip" {
                return Err(GraphError::bad_request(
                    "'$skip' is not supported by the service.",
                ));
            } else if lower == "$format" {
                if !v.eq_ignore_ascii_case("json") && !v.starts_with("application/json") {
                    return Err(GraphError::bad_request(format!(
                        "The requested format '{v}' is not supported."
                    )));
                }
            } else if lower.starts_with('$') {
                return Err(GraphError::bad_request(format!(
                    "The query parameter '{k}' is not supported."
                )));
            }
            if lower != "$skiptoken" {
                raw.push((k, v));
            }
        }
        let [select, filter, top, count, orderby, search, expand, skiptoken] = opt;

        let limit = match top.as_deref() {
            None => DEFAULT_TOP,
            Some(t) => parse_top(t)?,
        };
        let count_requested = match count.as_deref() {
            None => false,
            Some(c) if c.eq_ignore_ascii_case("true") => true,
            Some(c) if c.eq_ignore_ascii_case("false") => false,
            Some(c) => {
                return Err(GraphError::bad_request(format!(
                    "Invalid value '{c}' for $count query option found. Valid values are 'true' and 'false'."
                )))
            }
        };
        let advanced = consistency_eventual && count_requested;

        let search = match search.as_deref() {
            None => None,
            Some(_) if !consistency_eventual => return Err(errors::search_needs_header()),
            Some(s) => Some(parse_search(s, resource)?),
        };
        let filter = match filter.as_deref() {
            None => None,
            Some(f) => Some(parse_filter(f, resource, advanced)?),
        };
        let order = match orderby.as_deref() {
            None => Vec::new(),
            Some(o) => parse_orderby(o, resource, advanced)?,
        };
        if filter.is_some() && !order.is_empty() && !advanced {
            return Err(errors::sorting());
        }
        let select = match select.as_deref() {
            None => None,
            Some(s) => parse_select(s, resource)?,
        };
        let (expand_members, expand_select) = match expand.as_deref() {
            None => (false, None),
            Some(e) => parse_expand(e, resource)?,
        };
        if expand_members && advanced {
            return Err(GraphError::unsupported_query(
                "$expand is not supported with advanced queries.",
            ));
        }
        Ok(QueryOptions {
            select,
            expand_members,
            expand_select,
            count: advanced,
            query: ListQuery {
                filter,
                search,
                order,
                after: skiptoken,
                limit,
                deleted: resource == Resource::DeletedUser,
            },
            raw,
        })
    }
}

/// `GET /users/$count` and `/groups/$count` need `ConsistencyLevel: eventual` (graph-api.md §8).
pub fn check_count_segment(consistency_eventual: bool) -> Result<(), GraphError> {
    if consistency_eventual {
        Ok(())
    } else {
        Err(GraphError::bad_request(
            "$count is not currently supported.",
        ))
    }
}

/// Splits a query string at `&` and `=`, turning `+` into a space and decoding `%XX`.
pub fn decode_query(q: &str) -> Result<Vec<(String, String)>, GraphError> {
    let q = q.strip_prefix('?').unwrap_or(q);
    let mut out = Vec::new();
    for part in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((decode(k)?, decode(v)?));
    }
    Ok(out)
}

fn decode(s: &str) -> Result<String, GraphError> {
    let s = s.replace('+', " ");
    percent_decode_str(&s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| GraphError::bad_request("The query string is not valid UTF-8."))
}

fn parse_top(t: &str) -> Result<u32, GraphError> {
    let t = t.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(GraphError::bad_request(format!(
            "Invalid value '{t}' for $top query option found. The $top query option requires a non-negative integer value."
        )));
    }
    match t.parse::<u32>() {
        Ok(n) if (1..=MAX_TOP).contains(&n) => Ok(n),
        _ => Err(GraphError::unsupported_query(format!(
            "Invalid page size specified: '{t}'. Must be between 1 and 999 inclusive."
        ))),
    }
}

fn parse_orderby(text: &str, resource: Resource, advanced: bool) -> Result<Vec<Order>, GraphError> {
    let mut out: Vec<Order> = Vec::new();
    for item in text.split(',') {
        let mut words = item.split_whitespace();
        let Some(name) = words.next() else {
            return Err(errors::expression_expected(text, text.len()));
        };
        let descending = match words.next() {
            None => false,
            Some(w) if w.eq_ignore_ascii_case("asc") => false,
            Some(w) if w.eq_ignore_ascii_case("desc") => true,
            Some(_) => return Err(errors::syntax_at(text, 0)),
        };
        if words.next().is_some() {
            return Err(errors::syntax_at(text, 0));
        }
        let Some(p) = props::filterable(resource, name) else {
            return Err(match props::known(resource, name) {
                Some(_) => errors::sorting(),
                None => errors::no_such_property(name, resource),
            });
        };
        let ok = p.order == props::Sup::Yes || (p.order == props::Sup::Advanced && advanced);
        if !ok {
            return Err(errors::sorting());
        }
        if out.iter().any(|o| o.field == p.field) {
            return Err(GraphError::bad_request(format!(
                "Duplicate property named '{}' is not supported in '$orderby'.",
                p.name
            )));
        }
        out.push(Order {
            field: p.field,
            descending,
        });
    }
    Ok(out)
}

fn parse_select(text: &str, resource: Resource) -> Result<Option<Vec<String>>, GraphError> {
    let mut out: Vec<String> = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(canonical) = props::known(resource, name) else {
            return Err(errors::no_such_property(name, resource));
        };
        if !out.iter().any(|o| o == canonical) {
            out.push(canonical.to_string());
        }
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

/// Top-level items of `$expand` (commas inside parentheses belong to an item).
fn expand_items(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// `$expand`: whether `members` is expanded, and its nested `$select`.
fn parse_expand(text: &str, resource: Resource) -> Result<(bool, Option<Vec<String>>), GraphError> {
    let mut members = false;
    let mut nested_select = None;
    for item in expand_items(text) {
        let name = item.split('(').next().unwrap_or("").trim();
        if name.is_empty() {
            continue;
        }
        if resource == Resource::Group && name.eq_ignore_ascii_case("members") {
            members = true;
            let inner = item
                .find('(')
                .map(|i| item[i + 1..].trim_end().trim_end_matches(')'))
                .unwrap_or("");
            for opt in inner.split(';') {
                let Some((k, v)) = opt.split_once('=') else {
                    continue;
                };
                if k.trim().eq_ignore_ascii_case("$select") {
                    nested_select = member_select(v)?;
                }
            }
        } else if props::known_navigation(resource, name) || props::known(resource, name).is_some()
        {
            return Err(GraphError::unsupported_query(format!(
                "Expanding '{name}' is not supported."
            )));
        } else {
            return Err(errors::no_such_property(name, resource));
        }
    }
    Ok((members, nested_select))
}

/// A `$select` over directoryObjects (members): each name declared on user or group.
fn member_select(text: &str) -> Result<Option<Vec<String>>, GraphError> {
    let mut out: Vec<String> = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let canonical = props::known(Resource::User, name)
            .or_else(|| props::known(Resource::Group, name))
            .ok_or_else(|| {
                GraphError::bad_request(format!(
                    "Could not find a property named '{name}' on type 'microsoft.graph.directoryObject'."
                ))
            })?;
        if !out.iter().any(|o| o == canonical) {
            out.push(canonical.to_string());
        }
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

impl QueryOptions {
    /// The `@odata.context` fragment for `set` with this request's `$select` and `$expand`, as
    /// Graph writes it: `users`, `users(id,displayName)`, `groups(members())`,
    /// `groups(id,displayName,members())`, `groups(members(id,displayName))`.
    pub fn context(&self, set: &str) -> String {
        let mut items: Vec<String> = self.select.clone().unwrap_or_default();
        if self.expand_members {
            items.push(format!(
                "members({})",
                self.expand_select.as_deref().unwrap_or(&[]).join(",")
            ));
        }
        if items.is_empty() {
            set.to_string()
        } else {
            format!("{set}({})", items.join(","))
        }
    }
}

/// Characters left as they are in a nextLink's values; everything else is percent-encoded.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// Keys keep their `$`.
const KEY: &AsciiSet = &VALUE.remove(b'$');

/// The absolute `@odata.nextLink` of the next page: `base` (this collection's external URL),
/// every original option and `$skiptoken=cursor`.
pub fn next_link(base: &str, raw: &[(String, String)], cursor: &str) -> String {
    let mut out = base.to_string();
    let mut sep = if base.contains('?') { '&' } else { '?' };
    for (k, v) in raw
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
    {
        out.push(sep);
        out.extend(utf8_percent_encode(k, KEY));
        out.push('=');
        out.extend(utf8_percent_encode(v, VALUE));
        sep = '&';
    }
    out.push(sep);
    out.push_str("$skiptoken=");
    out.extend(utf8_percent_encode(cursor, VALUE));
    out
}

/// Graph's texts for query errors (graph-api.md §8 and observed OData texts).
pub(crate) mod errors {
    use super::Resource;
    use crate::GraphError;

    /// Character position of byte offset `at` (OData counts characters).
    fn chars_before(text: &str, at: usize) -> usize {
        text.get(..at)
            .map(|s| s.chars().count())
            .unwrap_or_else(|| text.chars().count())
    }

    pub fn syntax_char(text: &str, at: usize) -> GraphError {
        let c = text.get(at..).and_then(|s| s.chars().next());
        match c {
            Some(c) => GraphError::bad_request(format!(
                "Syntax error: character '{c}' is not valid at position {} in '{text}'.",
                chars_before(text, at)
            )),
            None => expression_expected(text, at),
        }
    }
    pub fn syntax_at(text: &str, at: usize) -> GraphError {
        GraphError::bad_request(format!(
            "Syntax error at position {} in '{text}'.",
            chars_before(text, at)
        ))
    }
    pub fn expression_expected(text: &str, at: usize) -> GraphError {
        GraphError::bad_request(format!(
            "Expression expected at position {} in '{text}'.",
            chars_before(text, at)
        ))
    }
    pub fn unterminated(text: &str, at: usize) -> GraphError {
        GraphError::bad_request(format!(
            "There is an unterminated string literal at position {} in '{text}'.",
            chars_before(text, at)
        ))
    }
    pub fn bad_datetime(word: &str, text: &str, at: usize) -> GraphError {
        GraphError::bad_request(format!(
            "Unrecognized 'Edm.DateTimeOffset' literal '{word}' at '{}' in '{text}'.",
            chars_before(text, at)
        ))
    }
    pub fn too_complex() -> GraphError {
        GraphError::bad_request(
            "The query specified in the URI is not valid. The query is too long or nested too deeply.",
        )
    }
    pub fn not_boolean() -> GraphError {
        GraphError::bad_request("The $filter expression must evaluate to a single boolean value.")
    }
    pub fn not_equals() -> GraphError {
        GraphError::unsupported_query("Filter operator 'NotEqualsMatch' is not supported.")
    }
    pub fn advanced_operator(op: &str) -> GraphError {
        GraphError::unsupported_query(format!(
            "Operator '{op}' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"
        ))
    }
    pub fn unsupported_property(prop: &str, r: Resource) -> GraphError {
        GraphError::unsupported_query(format!(
            "Unsupported or invalid query filter clause specified for property '{prop}' of resource '{}'.",
            r.graph_name()
        ))
    }
    pub fn no_such_property(name: &str, r: Resource) -> GraphError {
        GraphError::bad_request(format!(
            "Could not find a property named '{name}' on type '{}'.",
            r.type_name()
        ))
    }
    pub fn incompatible(left: &str, right: &str, op: skuld_domain::query::Cmp) -> GraphError {
        use skuld_domain::query::Cmp;
        let kind = match op {
            Cmp::Eq => "Equal",
            Cmp::Ne => "NotEqual",
            Cmp::Lt => "LessThan",
            Cmp::Le => "LessThanOrEqual",
            Cmp::Gt => "GreaterThan",
            Cmp::Ge => "GreaterThanOrEqual",
        };
        GraphError::bad_request(format!(
            "A binary operator with incompatible types was detected. Found operand types '{left}' and '{right}' for operator kind '{kind}'."
        ))
    }
    pub fn no_function_signature(func: &str, left: &str, right: &str) -> GraphError {
        GraphError::bad_request(format!(
            "No function signature for the function with name '{func}' matches the specified arguments. The function signatures considered are: {func}(Edm.String Nullable=true, Edm.String Nullable=true). Found: {func}({left}, {right})."
        ))
    }
    pub fn function_args(func: &str) -> GraphError {
        GraphError::bad_request(format!(
            "No function signature for the function with name '{func}' matches the specified arguments. The function signatures considered are: {func}(Edm.String Nullable=true, Edm.String Nullable=true)."
        ))
    }
    pub fn function_unsupported(name: &str) -> GraphError {
        let mut cap = String::new();
        let mut chars = name.chars();
        if let Some(f) = chars.next() {
            cap.extend(f.to_uppercase());
            cap.push_str(&chars.as_str().to_ascii_lowercase());
        }
        GraphError::unsupported_query(format!("Operator: '{cap}' is not supported."))
    }
    pub fn unknown_function(name: &str) -> GraphError {
        GraphError::bad_request(format!(
            "An unknown function with name '{name}' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed."
        ))
    }
    pub fn sorting() -> GraphError {
        GraphError::unsupported_query("Sorting not supported for current query.")
    }
    pub fn search_needs_header() -> GraphError {
        GraphError::unsupported_query("Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
    }
    pub fn search_unsupported(prop: &str, r: Resource) -> GraphError {
        GraphError::unsupported_query(format!(
            "Unsupported or invalid query search clause specified for property '{prop}' of resource '{}'.",
            r.graph_name()
        ))
    }
}

//! Conversions between domain values and their column spellings.

use crate::{Backend, StoreError};
use skuld_domain::PlanId;
use std::str::FromStr;

/// Plan lists are stored as comma-separated lowercase GUIDs, sorted.
pub fn encode_plans(plans: &[PlanId]) -> String {
    let mut v: Vec<String> = plans.iter().map(|p| p.to_string()).collect();
    v.sort();
    v.join(",")
}

pub fn decode_plans(s: &str) -> Result<Vec<PlanId>, StoreError> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let mut v = s
        .split(',')
        .map(|p| PlanId::parse(p).map_err(|e| StoreError::Corrupt(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    v.sort();
    Ok(v)
}

pub(crate) fn parse<T: FromStr>(s: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    T::from_str(s).map_err(|e| StoreError::Corrupt(format!("{e}")))
}

/// `($1, $2, …), ($n+1, …)` for a multi-row insert of `rows` rows of `cols` columns. SQLite gets
/// anonymous `?` instead: it resolves each named parameter by a linear search, which makes
/// binding a statement with thousands of `$N` parameters quadratic.
pub(crate) fn values_placeholders(backend: Backend, cols: usize, rows: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 6);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            if backend == Backend::Sqlite {
                s.push('?');
            } else {
                s.push('$');
                s.push_str(&(r * cols + c + 1).to_string());
            }
        }
        s.push(')');
    }
    s
}

/// `$start, $start+1, …` for an IN list. On SQLite the list is anonymous `?` (see
/// `values_placeholders`), so every parameter before it must be anonymous too.
pub(crate) fn list_placeholders(backend: Backend, start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| {
            if backend == Backend::Sqlite {
                "?".to_string()
            } else {
                format!("${i}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

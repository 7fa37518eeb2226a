//! Read models of the admin center's Users pages (issue 8, pages 4 and 7): Active users — a
//! page of users with their products, searched and filtered, in keyset pages that cost their
//! size on a tenant of any size (never a count of everybody, never an offset) — and Deleted
//! users, with the days left before the 30-day purge (rulebook §8.5, D7).

use crate::error::ProductRef;
use crate::{Action, Actor, App, AppError, Result};
use skuld_domain::licensing::LicenseError;
use skuld_domain::query::{Cmp, Field, Filter, ListQuery, Order, Value};
use skuld_domain::{SkuId, Tenant, Timestamp, User, UserId, UserType};
use std::collections::{BTreeSet, HashMap};

/// The filters of Active users (admin-center.md §"Users › Active users").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserFilter {
    #[default]
    All,
    Licensed,
    Unlicensed,
    Guests,
    /// A license path in error.
    Errors,
    /// Synchronized from on-premises.
    Synced,
    SignInBlocked,
}

impl UserFilter {
    pub const ALL: [UserFilter; 7] = [
        UserFilter::All,
        UserFilter::Licensed,
        UserFilter::Unlicensed,
        UserFilter::Guests,
        UserFilter::Errors,
        UserFilter::Synced,
        UserFilter::SignInBlocked,
    ];

    /// The filter's name in a page address (`?filter=licensed`).
    pub fn key(self) -> &'static str {
        match self {
            UserFilter::All => "all",
            UserFilter::Licensed => "licensed",
            UserFilter::Unlicensed => "unlicensed",
            UserFilter::Guests => "guests",
            UserFilter::Errors => "errors",
            UserFilter::Synced => "synced",
            UserFilter::SignInBlocked => "blocked",
        }
    }

    /// The label the admin center shows.
    pub fn label(self) -> &'static str {
        match self {
            UserFilter::All => "All users",
            UserFilter::Licensed => "Licensed users",
            UserFilter::Unlicensed => "Unlicensed users",
            UserFilter::Guests => "Guest users",
            UserFilter::Errors => "Users with errors",
            UserFilter::Synced => "Synchronized users",
            UserFilter::SignInBlocked => "Sign-in blocked",
        }
    }

    /// The filter of a key; an unknown or empty key is `All`.
    pub fn parse(key: &str) -> UserFilter {
        UserFilter::ALL
            .into_iter()
            .find(|f| f.key().eq_ignore_ascii_case(key.trim()))
            .unwrap_or_default()
    }

    /// The condition as a list filter (`Errors` has none: it is read from the error rows).
    fn condition(self) -> Option<Filter> {
        let cmp = |field, value| Filter::Compare {
            field,
            op: Cmp::Eq,
            value,
        };
        match self {
            UserFilter::All | UserFilter::Errors => None,
            UserFilter::Licensed => Some(Filter::LicenseCount { op: Cmp::Gt, n: 0 }),
            UserFilter::Unlicensed => Some(Filter::LicenseCount { op: Cmp::Eq, n: 0 }),
            UserFilter::Guests => Some(cmp(
                Field::UserType,
                Value::Str(UserType::Guest.as_str().into()),
            )),
            UserFilter::Synced => Some(cmp(Field::OnPremisesSyncEnabled, Value::Bool(true))),
            UserFilter::SignInBlocked => Some(cmp(Field::AccountEnabled, Value::Bool(false))),
        }
    }
}

/// What a page of Active users shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserListQuery {
    /// A prefix of the display name, user name or mail (case-insensitive); empty: everybody.
    pub search: String,
    pub filter: UserFilter,
    /// Only holders of this product.
    pub product: Option<SkuId>,
    /// The `next` of the previous page of the same query.
    pub after: Option<String>,
    pub limit: u32,
}

/// One row of Active users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub user: User,
    /// The products the user holds a seat of, by name.
    pub products: Vec<ProductRef>,
    /// The user has a license path in error.
    pub in_error: bool,
}

/// A page of Active users and the cursor of the next one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserList {
    pub rows: Vec<UserRow>,
    pub next: Option<String>,
}

/// How many error rows one page of "Users with errors" reads at most before it answers with
/// what it found (a search over them may match few).
const ERROR_SCAN: usize = 2_000;

fn starts_with(s: Option<&str>, prefix: &str) -> bool {
    s.is_some_and(|s| s.to_lowercase().starts_with(prefix))
}

/// Whether a user matches the search text (a lowercased prefix).
fn matches_search(u: &User, prefix: &str) -> bool {
    prefix.is_empty()
        || starts_with(Some(&u.display_name), prefix)
        || starts_with(Some(&u.upn), prefix)
        || starts_with(u.mail.as_deref(), prefix)
}

/// A bad page link, in the admin's words.
fn stale_link() -> AppError {
    AppError::BadRequest(
        "This page link is out of date or belongs to another search. Start again from the first page."
            .into(),
    )
}

impl App {
    /// One page of Active users (issue 8 page 4): `q.search` as a prefix of display name, user
    /// name or mail, one filter, optionally one product, in id order after `q.after`.
    pub async fn active_users(
        &self,
        tenant: &Tenant,
        actor: &Actor,
        q: &UserListQuery,
    ) -> Result<UserList> {
        if !actor.may(Action::ReadUsers) {
            return Err(AppError::forbidden());
        }
        let limit = q.limit.clamp(1, 500) as usize;
        let search = q.search.trim().to_lowercase();
        let mut tx = self.store().read(tenant.id).await?;
        let catalog = self.catalog(&mut tx).await?;
        let (users, next) = if q.filter == UserFilter::Errors {
            let mut after = match &q.after {
                Some(a) => Some(UserId::parse(a.trim()).map_err(|_| stale_link())?),
                None => None,
            };
            let mut users: Vec<User> = Vec::new();
            let mut scanned = 0usize;
            let next = loop {
                let chunk = limit.max(100);
                let ids = tx.users_in_error_after(after, chunk as i64).await?;
                let found: HashMap<UserId, User> = tx
                    .users_by_ids(&ids)
                    .await?
                    .into_iter()
                    .map(|u| (u.id, u))
                    .collect();
                let held = match q.product {
                    Some(_) => tx.path_states(Some(&ids)).await?,
                    None => HashMap::new(),
                };
                let mut full = false;
                for (i, id) in ids.iter().enumerate() {
                    after = Some(*id);
                    scanned += 1;
                    let Some(u) = found.get(id) else { continue };
                    let product_ok = q.product.is_none_or(|p| {
                        held.get(id)
                            .is_some_and(|v| v.iter().any(|s| s.sku == p && s.applied))
                    });
                    if !u.is_deleted() && matches_search(u, &search) && product_ok {
                        users.push(u.clone());
                    }
                    if users.len() == limit {
                        full = i + 1 < ids.len() || ids.len() == chunk;
                        break;
                    }
                }
                if users.len() == limit {
                    break full.then(|| after.map(|a| a.to_string())).flatten();
                }
                if ids.len() < chunk {
                    break None;
                }
                if scanned >= ERROR_SCAN {
                    break after.map(|a| a.to_string());
                }
            };
            (users, next)
        } else {
            let mut all = Vec::new();
            if let Some(c) = q.filter.condition() {
                all.push(c);
            }
            if let Some(p) = q.product {
                all.push(Filter::HasLicense(vec![p]));
            }
            if !search.is_empty() {
                all.push(Filter::Or(
                    [Field::DisplayName, Field::UserPrincipalName, Field::Mail]
                        .into_iter()
                        .map(|field| Filter::StartsWith {
                            field,
                            prefix: q.search.trim().to_string(),
                        })
                        .collect(),
                ));
            }
            let lq = ListQuery {
                filter: match all.len() {
                    0 => None,
                    1 => all.pop(),
                    _ => Some(Filter::And(all)),
                },
                // By display name, as the admin center lists people (the id breaks ties); an
                // index on the same expression makes a page cost its size.
                order: vec![Order {
                    field: Field::DisplayName,
                    descending: false,
                }],
                after: q.after.clone(),
                limit: limit as u32,
                ..Default::default()
            };
            let page = tx.list_users(&lq).await.map_err(|e| match e {
                skuld_store::StoreError::BadCursor => stale_link(),
                e => AppError::Store(e),
            })?;
            (page.items, page.next)
        };
        let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
        let states = tx.path_states(Some(&ids)).await?;
        tx.commit().await?;
        let rows = users
            .into_iter()
            .map(|u| {
                let st = states.get(&u.id).map(Vec::as_slice).unwrap_or(&[]);
                let held: BTreeSet<SkuId> =
                    st.iter().filter(|s| s.applied).map(|s| s.sku).collect();
                let mut products: Vec<ProductRef> = held
                    .into_iter()
                    .map(|s| ProductRef::of(&catalog, s))
                    .collect();
                products.sort_by(|a, b| a.name.cmp(&b.name));
                UserRow {
                    in_error: st.iter().any(|s| s.error != LicenseError::None),
                    products,
                    user: u,
                }
            })
            .collect();
        Ok(UserList { rows, next })
    }

    /// One page of soft-deleted users (issue 8 page 7), in id order after `after`, each with the
    /// days left before it is deleted for good (30 days after deletion, D7).
    pub async fn deleted_users_page(
        &self,
        tenant: &Tenant,
        actor: &Actor,
        after: Option<String>,
        limit: u32,
        at: Timestamp,
    ) -> Result<(Vec<(User, i64)>, Option<String>)> {
        if !actor.may(Action::ReadUsers) {
            return Err(AppError::forbidden());
        }
        let lq = ListQuery {
            after,
            limit: limit.clamp(1, 500),
            deleted: true,
            ..Default::default()
        };
        let mut tx = self.store().read(tenant.id).await?;
        let page = tx.list_users(&lq).await.map_err(|e| match e {
            skuld_store::StoreError::BadCursor => stale_link(),
            e => AppError::Store(e),
        })?;
        tx.commit().await?;
        let rows = page
            .items
            .into_iter()
            .map(|u| {
                let left = days_left(u.deleted_at.unwrap_or(at), at);
                (u, left)
            })
            .collect();
        Ok((rows, page.next))
    }
}

/// Whole days left of the 30 after `deleted` (D7), at `at`; 0 once they are over.
pub fn days_left(deleted: Timestamp, at: Timestamp) -> i64 {
    let end = deleted.plus_days(30).0;
    let ms = end - at.0;
    if ms <= 0 {
        0
    } else {
        (ms + Timestamp::DAY_MS - 1) / Timestamp::DAY_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn app(dir: &tempfile::TempDir) -> App {
        App::open(&format!("{}/t.db", dir.path().display()))
            .await
            .unwrap()
    }

    #[test]
    fn days_left_count_whole_days_of_thirty() {
        let d = Timestamp(1_000_000_000_000);
        assert_eq!(days_left(d, d), 30);
        assert_eq!(days_left(d, d.plus_days(1)), 29);
        assert_eq!(days_left(d, Timestamp(d.plus_days(1).0 + 1)), 29);
        assert_eq!(days_left(d, d.plus_days(30)), 0);
        assert_eq!(days_left(d, d.plus_days(45)), 0);
    }

    #[test]
    fn filters_round_trip_by_key() {
        for f in UserFilter::ALL {
            assert_eq!(UserFilter::parse(f.key()), f);
        }
        assert_eq!(UserFilter::parse("nonsense"), UserFilter::All);
        assert_eq!(UserFilter::parse("ERRORS"), UserFilter::Errors);
    }

    /// Pages follow each other without gaps or repeats, for plain lists and for the errors
    /// list, and a reader without the right is refused.
    #[tokio::test]
    async fn pages_cover_every_user_once() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(&dir).await;
        let sum = app.seed_demo(None).await.unwrap();
        let t = &sum.tenant;
        let op = Actor::Operator;
        for filter in UserFilter::ALL {
            let mut seen = Vec::new();
            let mut after = None;
            loop {
                let page = app
                    .active_users(
                        t,
                        &op,
                        &UserListQuery {
                            filter,
                            after: after.clone(),
                            limit: 7,
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                assert!(page.rows.len() <= 7);
                seen.extend(page.rows.iter().map(|r| r.user.id));
                match page.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            let n = seen.len();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), n, "{filter:?} repeated a user");
            if filter == UserFilter::All {
                assert_eq!(n as i64, app.user_count(t).await.unwrap());
            }
            if filter == UserFilter::Errors {
                let (errors, _) = app.users_in_license_error(t, 1000).await.unwrap();
                assert_eq!(n, errors);
                assert!(n > 0);
            }
        }
        // Search: a prefix of the display name, the user name or the mail.
        let page = app
            .active_users(
                t,
                &op,
                &UserListQuery {
                    search: "chlo".into(),
                    filter: UserFilter::Errors,
                    limit: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.rows.len(), 1);
        assert_eq!(page.rows[0].user.upn, "chloe.dubois@contoso.test");
        assert!(page.rows[0].in_error);
        // A bad cursor is the admin's mistake, said plainly.
        let bad = app
            .active_users(
                t,
                &op,
                &UserListQuery {
                    after: Some("junk".into()),
                    limit: 5,
                    ..Default::default()
                },
            )
            .await;
        assert!(matches!(bad, Err(AppError::BadRequest(_))));
        let guest = Actor::User {
            id: UserId::new(),
            upn: "x@contoso.test".into(),
            roles: vec![],
            scopes: None,
            guest: true,
        };
        assert!(matches!(
            app.active_users(t, &guest, &UserListQuery::default()).await,
            Err(AppError::Forbidden(_))
        ));
    }
}

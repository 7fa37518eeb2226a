//! User use cases: create, update, soft delete, restore, purge.

use crate::audit::{Actor, Audit};
use crate::authz::Action;
use crate::error::{Problem, ProductRef};
use crate::groups::sync_dynamic_for_user;
use crate::reconcile::{reconcile, Ctx, Groups};
use crate::{now, App, AppError, Result};
use argon2::password_hash::{rand_core::OsRng, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use rand::Rng;
use skuld_domain::{Password, Tenant, Timestamp, Upn, UsageLocation, User, UserId, UserType};
use skuld_store::TenantTx;

/// A user to create. Only `upn` and `display_name` are required; a password is generated when
/// none is given.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub upn: String,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail_nickname: Option<String>,
    pub usage_location: Option<String>,
    pub user_type: UserType,
    pub account_enabled: bool,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub company_name: Option<String>,
    pub office_location: Option<String>,
    pub business_phone: Option<String>,
    pub mobile_phone: Option<String>,
    pub fax: Option<String>,
    pub street_address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub password: Option<String>,
    pub force_change_password: bool,
}

/// Changes to a user; `None` leaves a property as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub usage_location: Option<Option<String>>,
    pub department: Option<Option<String>>,
    pub job_title: Option<Option<String>>,
    pub city: Option<Option<String>>,
    pub country: Option<Option<String>>,
    pub company_name: Option<Option<String>>,
    pub account_enabled: Option<bool>,
    pub user_type: Option<UserType>,
}

/// Generates a 16-character password with all four character classes (rulebook §8.2).
pub fn generate_password() -> String {
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    const SYM: &[u8] = b"!#$%&*+-=?@";
    let mut rng = rand::thread_rng();
    let sets = [LOWER, UPPER, DIGIT, SYM];
    let mut chars: Vec<u8> = sets.iter().map(|s| s[rng.gen_range(0..s.len())]).collect();
    while chars.len() < 16 {
        let s = sets[rng.gen_range(0..sets.len())];
        chars.push(s[rng.gen_range(0..s.len())]);
    }
    for i in (1..chars.len()).rev() {
        chars.swap(i, rng.gen_range(0..=i));
    }
    String::from_utf8(chars).unwrap_or_default()
}

/// An argon2id PHC string of a password, computed off the async threads.
pub(crate) async fn hash_password(p: &Password) -> Result<String> {
    hash_secret_blocking(p.expose().to_string()).await
}

/// An argon2id PHC string of a secret.
pub(crate) fn hash_secret(secret: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Corrupt(format!("password hashing failed: {e}")))
}

/// [`hash_secret`] on tokio's blocking pool: an argon2 hash takes tens of milliseconds of CPU,
/// which must not stall the async worker threads that serve other requests (issue 7 item 8).
pub(crate) async fn hash_secret_blocking(secret: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_secret(&secret))
        .await
        .map_err(|e| AppError::Corrupt(format!("password hashing failed: {e}")))?
}

/// Checks a password against a stored argon2id hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    argon2::PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random secret with the same parameters as every stored hash: verifying against
/// it costs what verifying against a real hash costs, and never succeeds.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let secret = uuid::Uuid::new_v4().to_string();
        hash_secret(&secret).unwrap_or_default()
    })
}

/// Verifies a password on the blocking pool. With no stored hash (an unknown user or app, a
/// user without a password) it verifies against [`dummy_hash`] and answers `false`, so an
/// unknown name takes as long as a wrong password (issue 7 item 17: no enumeration by timing).
pub(crate) async fn verify_blocking(hash: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || match hash {
        Some(h) if argon2::PasswordHash::new(&h).is_ok() => verify_password(&h, &password),
        _ => {
            let _ = verify_password(dummy_hash(), &password);
            false
        }
    })
    .await
    .unwrap_or(false)
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

pub(crate) fn bad(m: impl Into<String>) -> AppError {
    AppError::BadRequest(m.into())
}

/// A missing (`None`) or invalid property of a user.
fn property(property: &'static str, value: Option<&str>) -> AppError {
    Problem::Property {
        resource: "User",
        property,
        value: value.map(str::to_string),
    }
    .into()
}

fn parse_location(l: Option<String>) -> Result<Option<UsageLocation>> {
    clean(l)
        .map(|l| UsageLocation::parse(&l).map_err(|e| bad(e.to_string())))
        .transpose()
}

impl App {
    pub(crate) async fn begin(&self, tenant: &Tenant) -> Result<(TenantTx, Ctx)> {
        let mut tx = self.store().write(tenant.id).await?;
        let catalog = self.catalog(&mut tx).await?;
        Ok((
            tx,
            Ctx {
                catalog,
                tenant: tenant.clone(),
                now: now(),
            },
        ))
    }

    /// Validates and builds a user (with its hashed password) without storing it.
    pub(crate) fn build_user(
        &self,
        tenant: &Tenant,
        n: NewUser,
        at: Timestamp,
    ) -> Result<(User, Option<String>, Password)> {
        let upn = Upn::parse(&n.upn).map_err(|e| bad(e.to_string()))?;
        // Guests carry their home address in the alias (`…#EXT#@tenant`), members need a
        // verified domain of the tenant.
        if !tenant.has_domain(upn.domain()) {
            return Err(Problem::UnverifiedDomain {
                upn: upn.to_string(),
                domains: tenant.domains.clone(),
            }
            .into());
        }
        let display_name = n.display_name.trim().to_string();
        if display_name.is_empty() {
            return Err(property("displayName", None));
        }
        if display_name.chars().count() > 256 {
            return Err(property("displayName", Some(&display_name)));
        }
        let nick = clean(n.mail_nickname).unwrap_or_else(|| upn.alias().replace('#', "_"));
        if nick.chars().count() > 64
            || nick.contains([
                '@', ' ', '(', ')', '\\', '[', ']', '"', ';', ':', '<', '>', ',',
            ])
        {
            return Err(property("mailNickname", Some(&nick)));
        }
        let (password, generated) = match n.password {
            Some(p) => (p, None),
            None => {
                let g = generate_password();
                (g.clone(), Some(g))
            }
        };
        let password =
            Password::parse(&password).map_err(|e| Problem::WeakPassword { why: e.to_string() })?;
        for (name, v, max) in [
            ("givenName", &n.given_name, 64),
            ("surname", &n.surname, 64),
            ("jobTitle", &n.job_title, 128),
            ("department", &n.department, 64),
        ] {
            if let Some(s) = v.as_ref().filter(|s| s.chars().count() > max) {
                return Err(property(name, Some(s)));
            }
        }
        let user = User {
            id: UserId::new(),
            upn: upn.to_string(),
            display_name,
            given_name: clean(n.given_name),
            surname: clean(n.surname),
            mail: if n.user_type == UserType::Member {
                Some(upn.to_string())
            } else {
                None
            },
            mail_nickname: nick,
            usage_location: parse_location(n.usage_location)?,
            user_type: n.user_type,
            account_enabled: n.account_enabled,
            job_title: clean(n.job_title),
            department: clean(n.department),
            company_name: clean(n.company_name),
            employee_id: None,
            office_location: clean(n.office_location),
            business_phone: clean(n.business_phone),
            mobile_phone: clean(n.mobile_phone),
            fax: clean(n.fax),
            street_address: clean(n.street_address),
            city: clean(n.city),
            state: clean(n.state),
            postal_code: clean(n.postal_code),
            country: clean(n.country),
            // Hashed by the caller, off the async threads.
            password_hash: None,
            force_change_password: n.force_change_password,
            created_at: at,
            deleted_at: None,
            on_premises_sync_enabled: None,
        };
        Ok((user, generated, password))
    }

    /// Creates a user; returns it with the generated password, if one was generated.
    pub async fn create_user(
        &self,
        tenant: &Tenant,
        n: NewUser,
        actor: &Actor,
    ) -> Result<(User, Option<String>)> {
        let guest = n.user_type == UserType::Guest;
        let allowed = actor.may(if guest {
            Action::CreateGuest
        } else {
            Action::CreateUser
        });
        if !allowed {
            return Err(AppError::forbidden());
        }
        let (mut user, generated, password) = self.build_user(tenant, n, now())?;
        user.password_hash = Some(hash_password(&password).await?);
        let (mut tx, cx) = self.begin(tenant).await?;
        if tx.user_by_upn(&user.upn).await?.is_some() {
            return Err(Problem::DuplicateUpn {
                upn: user.upn.clone(),
            }
            .into());
        }
        tx.insert_user(&user).await?;
        let groups = Groups::load(&mut tx).await?;
        sync_dynamic_for_user(&mut tx, &self.rules, &groups, &user, cx.now).await?;
        reconcile(&mut tx, &cx, &groups, &[user.id], &[]).await?;
        commit_user_event(tx, actor, cx.now, "Add user", &user).await?;
        Ok((user, generated))
    }

    /// Finds a live user by id or UPN.
    pub async fn user(&self, tenant: &Tenant, key: &str) -> Result<User> {
        let mut tx = self.store().read(tenant.id).await?;
        let u = find_user(&mut tx, key).await?;
        tx.commit().await?;
        Ok(u)
    }

    /// Live users (or soft-deleted ones), ordered by UPN.
    pub async fn users(
        &self,
        tenant: &Tenant,
        deleted: bool,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<User>> {
        let mut tx = self.store().read(tenant.id).await?;
        let v = tx.users(deleted, limit, offset).await?;
        tx.commit().await?;
        Ok(v)
    }

    /// Changes a user's properties. A License Administrator may change only the usage location
    /// (rulebook U7). Dynamic memberships and licenses follow at once.
    pub async fn update_user(
        &self,
        tenant: &Tenant,
        key: &str,
        p: UserPatch,
        actor: &Actor,
    ) -> Result<User> {
        let only_location = p.display_name.is_none()
            && p.department.is_none()
            && p.job_title.is_none()
            && p.city.is_none()
            && p.country.is_none()
            && p.company_name.is_none()
            && p.account_enabled.is_none()
            && p.user_type.is_none();
        let allowed = actor.may(Action::UpdateUser)
            || (only_location && actor.may(Action::UpdateUsageLocation));
        if !allowed {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let mut u = find_user(&mut tx, key).await?;
        ensure_may_manage(&mut tx, actor, &u).await?;
        // Rulebook B1: only a Global Administrator licenses guests directly, so turning a guest
        // into a member (and back) needs that right too, both ways (item 20).
        if p.user_type.is_some_and(|t| t != u.user_type) && !actor.may(Action::LicenseGuest) {
            return Err(AppError::forbidden());
        }
        let old = u.clone();
        if let Some(d) = p.display_name {
            let d = d.trim().to_string();
            if d.is_empty() {
                return Err(property("displayName", Some(&d)));
            }
            u.display_name = d;
        }
        if let Some(l) = p.usage_location {
            u.usage_location = parse_location(l)?;
        }
        if let Some(v) = p.department {
            u.department = clean(v);
        }
        if let Some(v) = p.job_title {
            u.job_title = clean(v);
        }
        if let Some(v) = p.city {
            u.city = clean(v);
        }
        if let Some(v) = p.country {
            u.country = clean(v);
        }
        if let Some(v) = p.company_name {
            u.company_name = clean(v);
        }
        if let Some(v) = p.account_enabled {
            u.account_enabled = v;
        }
        if let Some(v) = p.user_type {
            u.user_type = v;
        }
        if old.usage_location.is_some() && u.usage_location.is_none() {
            // A change that takes a license away is never silent: direct licenses need the
            // user's own location (U1), so clearing it is refused while the user holds any.
            let mut direct: Vec<ProductRef> = tx
                .direct_assignments(Some(&[u.id]))
                .await?
                .iter()
                .map(|d| ProductRef::of(&cx.catalog, d.1))
                .collect();
            if !direct.is_empty() {
                direct.sort_by(|a, b| a.name.cmp(&b.name));
                return Err(Problem::LocationNeeded {
                    user: u.upn.clone(),
                    products: direct,
                }
                .into());
            }
        }
        tx.update_user(&u).await?;
        let groups = Groups::load(&mut tx).await?;
        sync_dynamic_for_user(&mut tx, &self.rules, &groups, &u, cx.now).await?;
        // D3: fixing a usage location heals the user's waiting paths at once.
        reconcile(&mut tx, &cx, &groups, &[u.id], &[]).await?;
        let mut audit = Audit::new(actor, cx.now);
        let mut modified = Vec::new();
        if old.usage_location != u.usage_location {
            modified.push((
                "UsageLocation",
                fmt_opt(old.usage_location.map(|l| l.to_string())),
                fmt_opt(u.usage_location.map(|l| l.to_string())),
            ));
        }
        if old.department != u.department {
            modified.push((
                "Department",
                fmt_opt(old.department.clone()),
                fmt_opt(u.department.clone()),
            ));
        }
        audit.push(
            "UserManagement",
            "Update user",
            "User",
            u.id.to_string(),
            u.upn.clone(),
            modified,
            None,
        );
        if old.account_enabled != u.account_enabled {
            let act = if u.account_enabled {
                "Enable account"
            } else {
                "Disable account"
            };
            audit.push(
                "UserManagement",
                act,
                "User",
                u.id.to_string(),
                u.upn.clone(),
                vec![],
                None,
            );
        }
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(u)
    }

    /// Soft-deletes a user: its seats are released at once, its intents stay (D7).
    pub async fn delete_user(&self, tenant: &Tenant, key: &str, actor: &Actor) -> Result<User> {
        if !actor.may(Action::DeleteUser) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let u = write_delete(&mut tx, &cx, key, actor).await?;
        let groups = Groups::load(&mut tx).await?;
        reconcile(&mut tx, &cx, &groups, &[u.id], &[]).await?;
        commit_user_event(tx, actor, cx.now, "Delete user", &u).await?;
        Ok(u)
    }

    /// Deletes several users at once, all or none (the admin center's delete of selected
    /// users): one transaction, one reconciliation that gives the freed seats to waiting users.
    pub async fn delete_users(
        &self,
        tenant: &Tenant,
        keys: &[String],
        actor: &Actor,
    ) -> Result<Vec<User>> {
        if !actor.may(Action::DeleteUser) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let mut gone = Vec::new();
        for k in keys {
            gone.push(write_delete(&mut tx, &cx, k, actor).await?);
        }
        let ids: Vec<UserId> = gone.iter().map(|u| u.id).collect();
        let groups = Groups::load(&mut tx).await?;
        reconcile(&mut tx, &cx, &groups, &ids, &[]).await?;
        let mut audit = Audit::new(actor, cx.now);
        for u in &gone {
            audit.push(
                "UserManagement",
                "Delete user",
                "User",
                u.id.to_string(),
                u.upn.clone(),
                vec![],
                None,
            );
        }
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(gone)
    }

    /// Restores a soft-deleted user (by id, or by UPN when only one deleted user has it). Its
    /// licenses are evaluated again; when seats are short it waits in CountViolation (D7).
    pub async fn restore_user(&self, tenant: &Tenant, key: &str, actor: &Actor) -> Result<User> {
        if !actor.may(Action::DeleteUser) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let mut u = find_deleted_user(&mut tx, key).await?;
        ensure_may_manage(&mut tx, actor, &u).await?;
        if tx.user_by_upn(&u.upn).await?.is_some() {
            return Err(bad(format!(
                "Another object with the same value for property userPrincipalName already exists: rename the active user '{}' before restoring",
                u.upn
            )));
        }
        u.deleted_at = None;
        tx.update_user(&u).await?;
        let groups = Groups::load(&mut tx).await?;
        sync_dynamic_for_user(&mut tx, &self.rules, &groups, &u, cx.now).await?;
        reconcile(&mut tx, &cx, &groups, &[u.id], &[]).await?;
        commit_user_event(tx, actor, cx.now, "Restore user", &u).await?;
        Ok(u)
    }

    /// Deletes a soft-deleted user for good.
    pub async fn purge_user(&self, tenant: &Tenant, key: &str, actor: &Actor) -> Result<User> {
        if !actor.may(Action::DeleteUser) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let u = find_deleted_user(&mut tx, key).await?;
        ensure_may_manage(&mut tx, actor, &u).await?;
        crate::reconcile::purge(&mut tx, &cx, &[u.id]).await?;
        commit_user_event(tx, actor, cx.now, "Hard Delete user", &u).await?;
        Ok(u)
    }

    /// Sets a user's password (Entra "Reset password"); the user must change it at next sign-in
    /// when `force_change` is set.
    pub async fn reset_password(
        &self,
        tenant: &Tenant,
        key: &str,
        password: &str,
        force_change: bool,
        actor: &Actor,
    ) -> Result<User> {
        if !actor.may(Action::UpdateUser) {
            return Err(AppError::forbidden());
        }
        let p = Password::parse(password).map_err(|e| bad(e.to_string()))?;
        let hash = hash_password(&p).await?;
        let (mut tx, cx) = self.begin(tenant).await?;
        let mut u = find_user(&mut tx, key).await?;
        ensure_may_manage(&mut tx, actor, &u).await?;
        u.password_hash = Some(hash);
        u.force_change_password = force_change;
        tx.update_user(&u).await?;
        commit_user_event(tx, actor, cx.now, "Reset password", &u).await?;
        Ok(u)
    }

    /// Purges users deleted more than 30 days ago (D7); returns how many.
    pub async fn purge_expired(&self, tenant: &Tenant, at: Timestamp) -> Result<usize> {
        let (mut tx, cx) = self.begin(tenant).await?;
        let cutoff = at.plus_days(-30);
        let expired: Vec<User> = tx
            .users(true, i64::MAX, 0)
            .await?
            .into_iter()
            .filter(|u| u.deleted_at.is_some_and(|d| d <= cutoff))
            .collect();
        let system = Actor::System;
        let mut audit = Audit::new(&system, cx.now);
        let ids: Vec<UserId> = expired.iter().map(|u| u.id).collect();
        crate::reconcile::purge(&mut tx, &cx, &ids).await?;
        for u in &expired {
            audit.push(
                "UserManagement",
                "Hard Delete user",
                "User",
                u.id.to_string(),
                u.upn.clone(),
                vec![],
                None,
            );
        }
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(expired.len())
    }
}

fn fmt_opt(v: Option<String>) -> String {
    v.unwrap_or_default()
}

/// Writes one user event with no property changes (`Delete user`, `Restore user`, …) and
/// commits.
pub(crate) async fn commit_user_event(
    mut tx: TenantTx,
    actor: &Actor,
    at: Timestamp,
    activity: &str,
    u: &User,
) -> Result<()> {
    let mut audit = Audit::new(actor, at);
    audit.push(
        "UserManagement",
        activity,
        "User",
        u.id.to_string(),
        u.upn.clone(),
        vec![],
        None,
    );
    tx.insert_audit(&audit.rows).await?;
    tx.commit().await?;
    Ok(())
}

/// Item 16: the privileged-target rule ([`Actor::may_manage_user`]) for a user about to change.
async fn ensure_may_manage(tx: &mut TenantTx, actor: &Actor, u: &User) -> Result<()> {
    if actor.may_manage_user(&tx.roles_of(u.id).await?) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

pub(crate) async fn find_user(tx: &mut TenantTx, key: &str) -> Result<User> {
    let key = key.trim();
    if let Ok(id) = UserId::parse(key) {
        if let Some(u) = tx.user(id).await?.filter(|u| !u.is_deleted()) {
            return Ok(u);
        }
    } else if let Some(u) = tx.user_by_upn(key).await? {
        return Ok(u);
    }
    Err(unknown_user(key))
}

pub(crate) fn unknown_user(key: &str) -> AppError {
    Problem::UnknownUser {
        key: key.to_string(),
        close: Vec::new(),
    }
    .into()
}

pub(crate) async fn find_deleted_user(tx: &mut TenantTx, key: &str) -> Result<User> {
    let key = key.trim();
    if let Ok(id) = UserId::parse(key) {
        if let Some(u) = tx.user(id).await?.filter(|u| u.is_deleted()) {
            return Ok(u);
        }
        return Err(unknown_user(key));
    }
    let mut hits = tx.deleted_users_by_upn(key).await?;
    match hits.len() {
        0 => Err(unknown_user(key)),
        1 => Ok(hits.remove(0)),
        n => Err(bad(format!(
            "{n} deleted users have the name '{key}': restore one by its id"
        ))),
    }
}

/// The intent part of deleting a user (shared by [`App::delete_user`] and the what-if
/// preview): soft-deletes it (§8.5), checking who may delete an administrator (item 16).
pub(crate) async fn write_delete(
    tx: &mut TenantTx,
    cx: &Ctx,
    key: &str,
    actor: &Actor,
) -> Result<User> {
    let mut u = find_user(tx, key).await?;
    ensure_may_manage(tx, actor, &u).await?;
    u.deleted_at = Some(cx.now);
    tx.update_user(&u).await?;
    Ok(u)
}

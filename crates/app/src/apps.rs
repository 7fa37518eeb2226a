//! App registrations and sign-in: who a token may be issued to (graph-api.md §10).

use crate::audit::{Actor, Audit};
use crate::authz::{canonical_permission, Action};
use crate::users::{bad, commit_user_event, hash_password, hash_secret_blocking, verify_blocking};
use crate::{now, App, AppError, Result};
use rand::Rng;
use skuld_domain::{DirectoryRole, Password, Tenant, Timestamp, User, UserId};
use skuld_store::AppRow;

/// Smart lockout (issue 7 item 4, Entra's defaults): after this many failed sign-ins of one
/// user name from one source address, sign-ins are refused for [`FIRST_LOCKOUT_MS`]…
pub const LOCKOUT_THRESHOLD: i64 = 10;
/// …and each further lockout lasts twice as long as the one before, up to [`MAX_LOCKOUT_MS`].
pub const FIRST_LOCKOUT_MS: i64 = 60_000;
pub const MAX_LOCKOUT_MS: i64 = 30 * 60_000;
/// A lockout that ended this long ago no longer lengthens the next one.
const LOCKOUT_MEMORY_MS: i64 = 24 * 3_600_000;

/// The outcome of a password sign-in (or of a password change, which signs in first).
// Short-lived, one per sign-in: boxing the user would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// The password is right (for a change: the password was changed).
    Ok(User, Vec<DirectoryRole>),
    /// Unknown, deleted or disabled user, or a wrong password: nothing tells them apart.
    Invalid,
    /// Too many failures from this source: refused whether the password is right or not.
    Locked,
    /// The password is right but an administrator requires a new one first (Entra AADSTS50055).
    MustChange,
}

/// How long the `n`-th lockout lasts.
fn lockout_ms(n: i64) -> i64 {
    let doublings = (n - 1).clamp(0, 20) as u32;
    FIRST_LOCKOUT_MS
        .saturating_mul(1i64 << doublings)
        .min(MAX_LOCKOUT_MS)
}

/// Generates a 40-character client secret in the alphabet of Entra's secrets.
fn generate_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-";
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

impl App {
    /// Registers an application with Graph application permissions; returns it with its client
    /// secret, which is shown this once and stored only as a hash.
    pub async fn add_app(
        &self,
        tenant: &Tenant,
        name: &str,
        permissions: &[String],
        actor: &Actor,
    ) -> Result<(AppRow, String)> {
        if !actor.may(Action::ManageApps) {
            return Err(AppError::forbidden());
        }
        let name = name.trim();
        if name.is_empty() || name.len() > 120 {
            return Err(bad("an application needs a name of 1 to 120 characters"));
        }
        let mut perms: Vec<String> = Vec::new();
        for p in permissions.iter().flat_map(|p| p.split([',', ' '])) {
            if p.trim().is_empty() {
                continue;
            }
            let c = canonical_permission(p).ok_or_else(|| {
                bad(format!(
                    "'{p}' is not a Graph application permission skuld knows; known: {}",
                    crate::KNOWN_PERMISSIONS.join(", ")
                ))
            })?;
            if !perms.iter().any(|x| x == c) {
                perms.push(c.to_string());
            }
        }
        let secret = generate_secret();
        let row = AppRow {
            app_id: uuid::Uuid::new_v4(),
            object_id: uuid::Uuid::new_v4(),
            display_name: name.to_string(),
            secret_hash: hash_secret_blocking(secret.clone()).await?,
            permissions: perms,
            created_at: now(),
        };
        let mut tx = self.store().write(tenant.id).await?;
        tx.insert_app(&row).await?;
        let mut audit = Audit::new(actor, row.created_at);
        audit.push(
            "ApplicationManagement",
            "Add application",
            "Application",
            row.app_id.to_string(),
            row.display_name.clone(),
            vec![("AppRoles", String::new(), row.permissions.join(" "))],
            None,
        );
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok((row, secret))
    }

    pub async fn apps(&self, tenant: &Tenant) -> Result<Vec<AppRow>> {
        let mut tx = self.store().read(tenant.id).await?;
        let v = tx.apps().await?;
        tx.commit().await?;
        Ok(v)
    }

    pub async fn remove_app(&self, tenant: &Tenant, app_id: &str, actor: &Actor) -> Result<()> {
        if !actor.may(Action::ManageApps) {
            return Err(AppError::forbidden());
        }
        let id = uuid::Uuid::parse_str(app_id.trim()).map_err(|_| AppError::not_found(app_id))?;
        let mut tx = self.store().write(tenant.id).await?;
        let Some(row) = tx.app(id).await? else {
            return Err(AppError::not_found(app_id));
        };
        tx.delete_app(id).await?;
        let mut audit = Audit::new(actor, now());
        audit.push(
            "ApplicationManagement",
            "Delete application",
            "Application",
            row.app_id.to_string(),
            row.display_name,
            vec![],
            None,
        );
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks client credentials; `None` when the app is unknown or the secret is wrong. An
    /// unknown app costs the same hashing work as a wrong secret.
    pub async fn authenticate_app(
        &self,
        tenant: &Tenant,
        client_id: &str,
        secret: &str,
    ) -> Result<Option<AppRow>> {
        let row = match uuid::Uuid::parse_str(client_id.trim()) {
            Ok(id) => {
                let mut tx = self.store().read(tenant.id).await?;
                let row = tx.app(id).await?;
                tx.commit().await?;
                row
            }
            Err(_) => None,
        };
        let hash = row.as_ref().map(|r| r.secret_hash.clone());
        let ok = verify_blocking(hash, secret.to_string()).await;
        Ok(row.filter(|_| ok))
    }

    /// Checks a user's password (ROPC) under smart lockout: `source` is the caller's address
    /// ('' when unknown), `at` the time (injectable, so tests can move it). A locked user name
    /// is refused without looking at the password; a user name that does not exist is counted
    /// and locked like one that does, and costs the same hashing work. Returns the user's
    /// directory roles on success; a user who must change the password gets
    /// [`SignIn::MustChange`] (only once the password is known to be right).
    pub async fn authenticate_user(
        &self,
        tenant: &Tenant,
        upn: &str,
        password: &str,
        source: &str,
        at: Timestamp,
    ) -> Result<SignIn> {
        Ok(
            match self
                .check_password(tenant, upn, password, source, at)
                .await?
            {
                SignIn::Ok(u, _) if u.force_change_password => SignIn::MustChange,
                other => other,
            },
        )
    }

    async fn check_password(
        &self,
        tenant: &Tenant,
        upn: &str,
        password: &str,
        source: &str,
        at: Timestamp,
    ) -> Result<SignIn> {
        let subject = upn.trim().to_lowercase();
        let mut tx = self.store().sign_in(tenant.id).await?;
        let record = tx.sign_in_failures(&subject, source).await?;
        let user = tx.user_by_upn(upn.trim()).await?;
        let roles = match &user {
            Some(u) => tx.roles_of(u.id).await?,
            None => Vec::new(),
        };
        tx.commit().await?;
        if record.is_some_and(|r| r.locked_until.0 > at.0) {
            return Ok(SignIn::Locked);
        }
        let usable = user
            .as_ref()
            .filter(|u| u.account_enabled && !u.is_deleted());
        let hash = usable.and_then(|u| u.password_hash.clone());
        let right = verify_blocking(hash, password.to_string()).await;
        let mut tx = self.store().sign_in(tenant.id).await?;
        if right && usable.is_some() {
            tx.clear_sign_in_failures(&subject, source).await?;
            tx.commit().await?;
            return Ok(user.map_or(SignIn::Invalid, |u| SignIn::Ok(u, roles)));
        }
        let r = tx.count_sign_in_failure(&subject, source, at).await?;
        if r.failures >= LOCKOUT_THRESHOLD {
            let forgotten = r.locked_until.0 > 0 && at.0 - r.locked_until.0 > LOCKOUT_MEMORY_MS;
            let n = if forgotten { 1 } else { r.lockouts + 1 };
            let until = Timestamp(at.0.saturating_add(lockout_ms(n)));
            tx.lock_sign_in(&subject, source, n, until, at).await?;
        }
        tx.commit().await?;
        Ok(SignIn::Invalid)
    }

    /// A user changes their own password: the current one is checked as a sign-in is (with
    /// smart lockout, and it may be one that must be changed), the new one must meet the
    /// tenant's password rules and differ from the current one. Clears "must change at next
    /// sign-in". Serves Graph's `changePassword`, the change-password form beside the token
    /// endpoint and `skuld user password`. Returns [`SignIn::Ok`] with the changed user, or why
    /// the current password was refused.
    #[allow(clippy::too_many_arguments)]
    pub async fn change_password(
        &self,
        tenant: &Tenant,
        upn: &str,
        current: &str,
        new: &str,
        source: &str,
        at: Timestamp,
    ) -> Result<SignIn> {
        let (user, roles) = match self
            .check_password(tenant, upn, current, source, at)
            .await?
        {
            SignIn::Ok(u, roles) => (u, roles),
            other => return Ok(other),
        };
        let weak = || {
            bad("The specified password does not comply with password complexity requirements. Please provide a different password.")
        };
        let p = Password::parse(new).map_err(|_| weak())?;
        if new == current {
            return Err(weak());
        }
        let hash = hash_password(&p).await?;
        let (mut tx, cx) = self.begin(tenant).await?;
        let Some(mut u) = tx.user(user.id).await? else {
            return Ok(SignIn::Invalid);
        };
        u.password_hash = Some(hash);
        u.force_change_password = false;
        tx.update_user(&u).await?;
        let actor = Actor::User {
            id: u.id,
            upn: u.upn.clone(),
            roles: roles.clone(),
            scopes: None,
            guest: u.user_type == skuld_domain::UserType::Guest,
        };
        commit_user_event(tx, &actor, cx.now, "Change user password", &u).await?;
        Ok(SignIn::Ok(u, roles))
    }

    /// The actor behind a user token, with the roles the user holds now (a role removed after
    /// the token was issued no longer counts) and the token's delegated permissions. `None` if
    /// the user is gone or disabled.
    pub async fn user_actor(
        &self,
        tenant: &Tenant,
        user: UserId,
        scopes: Vec<String>,
    ) -> Result<Option<Actor>> {
        let mut tx = self.store().read(tenant.id).await?;
        let u = tx.user(user).await?;
        let roles = match &u {
            Some(u) => tx.roles_of(u.id).await?,
            None => Vec::new(),
        };
        tx.commit().await?;
        Ok(u.filter(|u| u.account_enabled && !u.is_deleted())
            .map(|u| Actor::User {
                id: u.id,
                guest: u.user_type == skuld_domain::UserType::Guest,
                upn: u.upn,
                roles,
                scopes: Some(scopes),
            }))
    }

    /// Replaces the stored form of the signing key if it is still `old` (sealing a plain key).
    pub async fn reseal_signing_key(&self, kid: &str, old: &str, new: &str) -> Result<bool> {
        Ok(self.store().reseal_signing_key(kid, old, new).await?)
    }

    /// The actor behind an app token, with the permissions the app holds now.
    pub async fn app_actor(&self, tenant: &Tenant, app_id: uuid::Uuid) -> Result<Option<Actor>> {
        let mut tx = self.store().read(tenant.id).await?;
        let row = tx.app(app_id).await?;
        tx.commit().await?;
        Ok(row.map(|r| Actor::App {
            app_id: r.app_id,
            name: r.display_name,
            permissions: r.permissions,
        }))
    }
}

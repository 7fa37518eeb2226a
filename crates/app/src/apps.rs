//! App registrations and sign-in: who a token may be issued to (graph-api.md §10).

use crate::audit::{Actor, Audit};
use crate::authz::{canonical_permission, Action};
use crate::users::{bad, hash_secret, verify_password};
use crate::{now, App, AppError, Result};
use rand::Rng;
use skuld_domain::{DirectoryRole, Tenant, User, UserId};
use skuld_store::AppRow;

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
            secret_hash: hash_secret(&secret)?,
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

    /// Checks client credentials; `None` when the app is unknown or the secret is wrong.
    pub async fn authenticate_app(
        &self,
        tenant: &Tenant,
        client_id: &str,
        secret: &str,
    ) -> Result<Option<AppRow>> {
        let Ok(id) = uuid::Uuid::parse_str(client_id.trim()) else {
            return Ok(None);
        };
        let mut tx = self.store().read(tenant.id).await?;
        let row = tx.app(id).await?;
        tx.commit().await?;
        Ok(row.filter(|r| verify_password(&r.secret_hash, secret)))
    }

    /// Checks a user's password (ROPC); `None` for an unknown, deleted or disabled user or a
    /// wrong password. Returns the user's directory roles.
    pub async fn authenticate_user(
        &self,
        tenant: &Tenant,
        upn: &str,
        password: &str,
    ) -> Result<Option<(User, Vec<DirectoryRole>)>> {
        let mut tx = self.store().read(tenant.id).await?;
        let Some(u) = tx.user_by_upn(upn.trim()).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        let roles = tx.roles_of(u.id).await?;
        tx.commit().await?;
        let ok = u.account_enabled
            && !u.is_deleted()
            && u.password_hash
                .as_deref()
                .is_some_and(|h| verify_password(h, password));
        Ok(ok.then_some((u, roles)))
    }

    /// The actor behind a user token, with the roles the user holds now (a role removed after
    /// the token was issued no longer counts). `None` if the user is gone or disabled.
    pub async fn user_actor(&self, tenant: &Tenant, user: UserId) -> Result<Option<Actor>> {
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
            }))
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

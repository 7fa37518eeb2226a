//! Admin center sign-in sessions (issue 8): server-side, kept in the database so that they
//! survive a restart and every server of one installation honours them; a session ends when
//! idle for [`SESSION_IDLE_MS`], after [`SESSION_MAX_MS`] whatever happens, at sign-out, and
//! when its user is deleted, blocked or no longer exists.

use crate::audit::Actor;
use crate::{App, Result};
use rand::RngCore;
use skuld_domain::{Tenant, Timestamp, User, UserId};
use skuld_store::WebSessionRow;

/// A session unused this long ends (Microsoft 365's idle session timeout offers 1 hour as a
/// common choice).
pub const SESSION_IDLE_MS: i64 = 60 * 60_000;
/// A session ends this long after sign-in even when in use.
pub const SESSION_MAX_MS: i64 = 12 * 60 * 60_000;
/// `last_seen_at` is written at most this often (a page view is not a write).
const TOUCH_EVERY_MS: i64 = 60_000;

/// A session that was started: the cookie value (shown this once) and the form token.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf: String,
}

/// A live session with the signed-in user as they are now.
#[derive(Debug, Clone)]
pub struct Session {
    pub tenant: Tenant,
    pub user: User,
    pub actor: Actor,
    pub csrf: String,
}

/// A random token of 32 bytes as URL-safe text (no padding).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The SHA-256 of a session token, as stored.
pub fn token_hash(token: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    d.as_ref().iter().map(|x| format!("{x:02x}")).collect()
}

impl App {
    /// Starts a session for a user who has just signed in.
    pub async fn start_session(
        &self,
        tenant: &Tenant,
        user: UserId,
        at: Timestamp,
    ) -> Result<NewSession> {
        let token = random_token();
        let csrf = random_token();
        self.store()
            .insert_web_session(&WebSessionRow {
                token_hash: token_hash(&token),
                tenant_id: tenant.id,
                user_id: user,
                csrf: csrf.clone(),
                created_at: at,
                last_seen_at: at,
                expires_at: Timestamp(at.0.saturating_add(SESSION_MAX_MS)),
            })
            .await?;
        Ok(NewSession { token, csrf })
    }

    /// The session a cookie names, if it is still live: the user must exist, not be deleted
    /// and be allowed to sign in; roles are read now (a role removed a second ago no longer
    /// counts). An expired or orphaned session is removed.
    pub async fn session(&self, token: &str, at: Timestamp) -> Result<Option<Session>> {
        let hash = token_hash(token);
        let Some(row) = self.store().web_session(&hash).await? else {
            return Ok(None);
        };
        if row.expires_at.0 <= at.0 || at.0 - row.last_seen_at.0 > SESSION_IDLE_MS {
            self.store().delete_web_session(&hash).await?;
            return Ok(None);
        }
        let Some(tenant) = self.tenant_by_id(row.tenant_id).await? else {
            self.store().delete_web_session(&hash).await?;
            return Ok(None);
        };
        let Some(actor) = self.user_actor(&tenant, row.user_id, Vec::new()).await? else {
            self.store().delete_web_session(&hash).await?;
            return Ok(None);
        };
        // The admin center acts with the signed-in user's roles and no narrower scope.
        let actor = match actor {
            Actor::User {
                id,
                upn,
                roles,
                guest,
                ..
            } => Actor::User {
                id,
                upn,
                roles,
                scopes: None,
                guest,
            },
            other => other,
        };
        let Some(user) = self.any_user(&tenant, row.user_id).await? else {
            return Ok(None);
        };
        if at.0 - row.last_seen_at.0 >= TOUCH_EVERY_MS {
            self.store().touch_web_session(&hash, at).await?;
        }
        Ok(Some(Session {
            tenant,
            user,
            actor,
            csrf: row.csrf,
        }))
    }

    /// Ends one session (sign-out).
    pub async fn end_session(&self, token: &str) -> Result<()> {
        Ok(self.store().delete_web_session(&token_hash(token)).await?)
    }

    /// Ends every session of a user (after a password reset, for instance).
    pub async fn end_sessions_of(&self, tenant: &Tenant, user: UserId) -> Result<u64> {
        Ok(self.store().delete_web_sessions_of(tenant.id, user).await?)
    }

    /// Removes expired and idle sessions (the background worker calls it).
    pub async fn purge_sessions(&self, at: Timestamp) -> Result<u64> {
        Ok(self
            .store()
            .purge_web_sessions(at, Timestamp(at.0 - SESSION_IDLE_MS))
            .await?)
    }
}

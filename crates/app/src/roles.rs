//! Directory roles and the audit log.

use crate::audit::{Actor, Audit};
use crate::authz::Action;
use crate::users::find_user;
use crate::{App, AppError, Result};
use skuld_domain::{DirectoryRole, Tenant, Timestamp, User, UserId};
use skuld_store::{AuditFilter, AuditRow};

impl App {
    /// Gives a user a built-in directory role. Only a Global Administrator assigns roles (the
    /// Privileged Role Administrator is not modelled).
    pub async fn add_role(
        &self,
        tenant: &Tenant,
        user: &str,
        role: DirectoryRole,
        actor: &Actor,
    ) -> Result<User> {
        if !actor.may(Action::ManageRoles) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let u = find_user(&mut tx, user).await?;
        if !tx.add_role(u.id, role, cx.now).await? {
            return Err(AppError::BadRequest(format!(
                "{} already has the role {}",
                u.upn,
                role.display_name()
            )));
        }
        let mut audit = Audit::new(actor, cx.now);
        audit.push(
            "RoleManagement",
            "Add member to role",
            "User",
            u.id.to_string(),
            u.upn.clone(),
            vec![(
                "Role.DisplayName",
                String::new(),
                role.display_name().into(),
            )],
            None,
        );
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(u)
    }

    pub async fn remove_role(
        &self,
        tenant: &Tenant,
        user: &str,
        role: DirectoryRole,
        actor: &Actor,
    ) -> Result<User> {
        if !actor.may(Action::ManageRoles) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let u = find_user(&mut tx, user).await?;
        if !tx.remove_role(u.id, role).await? {
            return Err(AppError::BadRequest(format!(
                "{} does not have the role {}",
                u.upn,
                role.display_name()
            )));
        }
        let mut audit = Audit::new(actor, cx.now);
        audit.push(
            "RoleManagement",
            "Remove member from role",
            "User",
            u.id.to_string(),
            u.upn.clone(),
            vec![(
                "Role.DisplayName",
                role.display_name().into(),
                String::new(),
            )],
            None,
        );
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(u)
    }

    /// Every role assignment with the user's UPN.
    pub async fn role_assignments(
        &self,
        tenant: &Tenant,
    ) -> Result<Vec<(UserId, String, DirectoryRole, Timestamp)>> {
        let mut tx = self.store().read(tenant.id).await?;
        let rows = tx.role_assignments().await?;
        let ids: Vec<UserId> = rows.iter().map(|r| r.0).collect();
        let users = tx.users_by_ids(&ids).await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|(id, role, at)| {
                let upn = users
                    .iter()
                    .find(|u| u.id == id)
                    .map(|u| u.upn.clone())
                    .unwrap_or_else(|| id.to_string());
                (id, upn, role, at)
            })
            .collect())
    }

    /// Audit events older than `before` (a sequence number), newest first.
    pub async fn audit_page(
        &self,
        tenant: &Tenant,
        before: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>> {
        let mut tx = self.store().read(tenant.id).await?;
        let rows = tx.audit_before(before, limit).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// The newest audit events.
    pub async fn audit_log(&self, tenant: &Tenant, limit: i64) -> Result<Vec<AuditRow>> {
        let mut tx = self.store().read(tenant.id).await?;
        let rows = tx.audit(limit).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// One page of the audit log older than `before` (a sequence number) that passes the
    /// filter, newest first, for someone who may read the audit log.
    pub async fn audit_search(
        &self,
        tenant: &Tenant,
        filter: &AuditFilter,
        before: i64,
        limit: i64,
        actor: &Actor,
    ) -> Result<Vec<AuditRow>> {
        if !actor.may(Action::ReadAudit) {
            return Err(AppError::forbidden());
        }
        let mut tx = self.store().read(tenant.id).await?;
        let rows = tx.audit_filtered(before, filter, limit).await?;
        tx.commit().await?;
        Ok(rows)
    }
}

/// Every activity the audit log records (the admin center's activity filter).
pub const AUDIT_ACTIVITIES: &[&str] = &[
    "Add application",
    "Add group",
    "Add member to group",
    "Add member to role",
    "Add product",
    "Add subscription",
    "Add user",
    "Change user license",
    "Change user password",
    "Delete application",
    "Delete group",
    "Delete user",
    "Finish applying group based license to users",
    "Hard Delete user",
    "Remove member from group",
    "Remove member from role",
    "Reset password",
    "Restore user",
    "Set group license",
    "Start applying group based license to users",
    "Take over self-service subscription",
    "Trigger group license recalculation",
    "Update group",
    "Update subscription",
    "Update user",
];

#[cfg(test)]
mod tests {
    /// Every activity the code records is in [`super::AUDIT_ACTIVITIES`] (the admin center's
    /// filter offers only those): the literal after each `…Management` category and the
    /// activity of each `commit_user_event`.
    #[test]
    fn the_activity_list_names_every_recorded_activity() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = std::collections::BTreeSet::new();
        for f in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            let literals: Vec<&str> = text.split('"').skip(1).step_by(2).collect();
            for w in literals.windows(2) {
                if w[0].ends_with("Management") && !w[0].contains(' ') {
                    found.insert(w[1].to_string());
                }
            }
            for (i, _) in text.match_indices("commit_user_event(") {
                let rest = &text[i..];
                if let Some(a) = rest.find('"') {
                    let lit = &rest[a + 1..];
                    if let Some(b) = lit.find('"') {
                        if !text[..i].ends_with("fn ") {
                            found.insert(lit[..b].to_string());
                        }
                    }
                }
            }
        }
        let missing: Vec<_> = found
            .iter()
            .filter(|a| !super::AUDIT_ACTIVITIES.contains(&a.as_str()))
            .collect();
        assert!(found.len() > 10, "{found:?}");
        assert!(missing.is_empty(), "not in AUDIT_ACTIVITIES: {missing:?}");
    }
}

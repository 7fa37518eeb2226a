//! Read models and use cases of the admin center's Groups pages (issue 8, page 8): license
//! counts per group for the list, a preview of who a dynamic rule would match, and
//! **Reprocess** of a group's members (Entra's "Trigger group license recalculation").

use crate::audit::{Actor, Audit};
use crate::authz::Action;
use crate::groups::find_group;
use crate::licenses::audit_license_changes;
use crate::reconcile::{reconcile, transitive_user_members, Groups};
use crate::{App, AppError, Result};
use skuld_domain::directory::matches_user;
use skuld_domain::query::ListQuery;
use skuld_domain::rule::{MembershipRule, RuleError};
use skuld_domain::{GroupId, Tenant, User};
use std::collections::HashMap;

/// Users a rule preview looks at, at most: a keystroke must answer fast on a large tenant, so
/// a preview over more users says it saw only the first ones (by id).
pub const RULE_PREVIEW_SCAN: usize = 10_000;
/// Matching users a preview lists by name.
pub const RULE_PREVIEW_SHOWN: usize = 10;

/// Who a dynamic membership rule would match now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulePreview {
    /// Matching live users among those looked at.
    pub matches: usize,
    /// The first matching users (by id), at most [`RULE_PREVIEW_SHOWN`].
    pub first: Vec<User>,
    /// Users looked at.
    pub scanned: usize,
    /// Whether every live user was looked at (`false`: the tenant has more than
    /// [`RULE_PREVIEW_SCAN`] users and the count covers the first ones only).
    pub complete: bool,
}

/// What a group reprocess did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupReprocess {
    /// Transitive user members evaluated again.
    pub members: usize,
    /// Users whose license states changed (members, or waiters who took a freed seat).
    pub changed: usize,
    /// Members still in error on a path from this group afterwards.
    pub errors: usize,
}

impl App {
    /// Per group: `(users licensed through it, users in error on a path from it)`, from the
    /// counters of the derived state (one query for every group).
    pub async fn group_license_stats(
        &self,
        tenant: &Tenant,
    ) -> Result<HashMap<GroupId, (i64, i64)>> {
        let mut tx = self.store().read(tenant.id).await?;
        let c = tx.group_license_counts().await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Which live users a dynamic membership rule would match, without changing anything: the
    /// malformed rule is the positioned [`RuleError`] (1-based character position). Needs
    /// `ReadUsers`. Looks at most at [`RULE_PREVIEW_SCAN`] users.
    pub async fn preview_rule(
        &self,
        tenant: &Tenant,
        text: &str,
        actor: &Actor,
    ) -> Result<std::result::Result<RulePreview, RuleError>> {
        if !actor.may(Action::ReadUsers) {
            return Err(AppError::forbidden());
        }
        let rule = match MembershipRule::parse(text.trim()) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let mut out = RulePreview {
            matches: 0,
            first: Vec::new(),
            scanned: 0,
            complete: false,
        };
        let mut q = ListQuery {
            limit: 1_000,
            ..Default::default()
        };
        loop {
            let page = self.list_users(tenant, &q).await?;
            for u in page.items {
                out.scanned += 1;
                if matches_user(&rule, &u) {
                    out.matches += 1;
                    if out.first.len() < RULE_PREVIEW_SHOWN {
                        out.first.push(u);
                    }
                }
            }
            match page.next {
                None => {
                    out.complete = true;
                    break;
                }
                Some(_) if out.scanned >= RULE_PREVIEW_SCAN => break,
                Some(next) => q.after = Some(next),
            }
        }
        Ok(Ok(out))
    }

    /// Evaluates every transitive user member of a group again (Entra's **Reprocess** on a
    /// group's Licenses page; rulebook §11 pain 3). skuld re-evaluates on every change (D3),
    /// so this heals only what an outside change left behind (a catalog edit, a bug fixed).
    /// Needs `AssignGroupLicense`. Audited as "Trigger group license recalculation".
    pub async fn reprocess_group(
        &self,
        tenant: &Tenant,
        key: &str,
        actor: &Actor,
    ) -> Result<GroupReprocess> {
        if !actor.may(Action::AssignGroupLicense) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let g = find_group(&mut tx, key).await?;
        let groups = Groups::load(&mut tx).await?;
        let members = transitive_user_members(&mut tx, &groups, g.id).await?;
        let r = reconcile(&mut tx, &cx, &groups, &members, &[]).await?;
        let errors = tx
            .group_license_counts()
            .await?
            .get(&g.id)
            .map_or(0, |c| c.1 as usize);
        let mut audit = Audit::new(actor, cx.now);
        audit.push(
            "GroupManagement",
            "Trigger group license recalculation",
            "Group",
            g.id.to_string(),
            g.display_name.clone(),
            vec![],
            None,
        );
        audit_license_changes(&mut audit, &mut tx, &r).await?;
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(GroupReprocess {
            members: members.len(),
            changed: r.changed,
            errors,
        })
    }
}

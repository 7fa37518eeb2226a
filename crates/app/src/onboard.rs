//! The admin center's "Add a user" wizard (issue 8, rulebook §8.1): a user, its direct licenses
//! and its directory roles created in ONE transaction — all of it or nothing. A license the
//! engine cannot apply (no seat left, a plan prohibited in the user's location, a conflict) or
//! a role the actor may not give refuses the whole command, and no user exists afterwards.

use crate::audit::{Actor, Audit};
use crate::authz::Action;
use crate::error::{Problem, ProductRef, Refusal};
use crate::groups::sync_dynamic_for_user;
use crate::licenses::{check_products, engine_problem, LicenseSpec};
use crate::reconcile::{load_ledger, reconcile, Groups};
use crate::users::{hash_password, NewUser};
use crate::{now, App, AppError, Result};
use skuld_domain::licensing::{LicenseError, Source};
use skuld_domain::{DirectoryRole, Subscription, Tenant, User, UserType};

impl App {
    /// Creates a user with direct `licenses` and `roles`, all in one transaction (the wizard's
    /// *Finish adding*). Rights: creating the user (`CreateUser`, `CreateGuest` for a guest),
    /// plus `AssignUserLicense` when licenses are given (`LicenseGuest` for a guest, B1), plus
    /// `ManageRoles` when roles are given. Every problem with the licenses is named at once;
    /// any refusal leaves nothing behind. Returns the user and the generated password, if one
    /// was generated.
    pub async fn create_user_with(
        &self,
        tenant: &Tenant,
        n: NewUser,
        licenses: &[LicenseSpec],
        roles: &[DirectoryRole],
        actor: &Actor,
    ) -> Result<(User, Option<String>)> {
        let guest = n.user_type == UserType::Guest;
        let mut needs = vec![if guest {
            Action::CreateGuest
        } else {
            Action::CreateUser
        }];
        if !licenses.is_empty() {
            needs.push(Action::AssignUserLicense);
            if guest {
                needs.push(Action::LicenseGuest);
            }
        }
        if !roles.is_empty() {
            needs.push(Action::ManageRoles);
        }
        if !needs.iter().all(|a| actor.may(*a)) {
            return Err(AppError::forbidden());
        }
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        let (mut user, generated, password) = self.build_user(tenant, n, now())?;
        user.password_hash = Some(hash_password(&password).await?);
        let (mut tx, cx) = self.begin(tenant).await?;
        if tx.user_by_upn(&user.upn).await?.is_some() {
            return Err(Problem::DuplicateUpn {
                upn: user.upn.clone(),
            }
            .into());
        }
        if !licenses.is_empty() {
            check_products(&mut tx, &cx, licenses, &[]).await?;
            // U1: a direct license needs the user's own usage location.
            if user.usage_location.is_none() {
                return Err(Problem::NoUsageLocation {
                    user: user.upn.clone(),
                    products: licenses
                        .iter()
                        .map(|s| ProductRef::of(&cx.catalog, s.sku))
                        .collect(),
                    example: tenant.country.to_string(),
                }
                .into());
            }
        }
        tx.insert_user(&user).await?;
        let groups = Groups::load(&mut tx).await?;
        sync_dynamic_for_user(&mut tx, &self.rules, &groups, &user, cx.now).await?;
        for s in licenses {
            tx.upsert_direct(user.id, s.sku, &s.disabled_plans, cx.now)
                .await?;
        }
        let ledger = load_ledger(&mut tx).await?;
        let r = reconcile(&mut tx, &cx, &groups, &[user.id], &[]).await?;
        let states = r
            .outcomes
            .iter()
            .find(|o| o.user == user.id)
            .map(|o| o.states.clone())
            .unwrap_or_default();
        let subs = tx.subscriptions().await?;
        let mut problems = Vec::new();
        for s in licenses {
            let Some(st) = states
                .iter()
                .find(|x| x.source == Source::Direct && x.sku == s.sku && !x.applied)
            else {
                continue;
            };
            if st.error == LicenseError::CountViolation {
                let seats = ledger.get(&s.sku);
                let mut on_sale: Vec<&Subscription> = subs
                    .iter()
                    .filter(|x| x.sku_id == s.sku && x.status.is_assignable())
                    .collect();
                on_sale.sort_by_key(|x| (x.self_service_owner.is_some(), x.is_trial, x.created_at));
                problems.push(Problem::NoSeats {
                    product: ProductRef::of(&cx.catalog, s.sku),
                    capacity: seats.capacity,
                    assigned: seats.consumed,
                    users: vec![user.upn.clone()],
                    subscriptions: on_sale.iter().map(|x| (x.id, x.units)).collect(),
                });
            } else {
                problems.push(engine_problem(&cx, &user, s, st, &states));
            }
        }
        if !problems.is_empty() {
            // Dropping the transaction rolls back the user, its licenses and its memberships.
            return Err(Refusal { problems }.into());
        }
        for role in &roles {
            tx.add_role(user.id, *role, cx.now).await?;
        }
        let mut audit = Audit::new(actor, cx.now);
        audit.push(
            "UserManagement",
            "Add user",
            "User",
            user.id.to_string(),
            user.upn.clone(),
            vec![],
            None,
        );
        if !licenses.is_empty() {
            let new: Vec<String> = licenses.iter().map(|s| s.sku.to_string()).collect();
            audit.push(
                "UserManagement",
                "Change user license",
                "User",
                user.id.to_string(),
                user.upn.clone(),
                vec![("AssignedLicense", String::new(), new.join(","))],
                None,
            );
        }
        for role in &roles {
            audit.push(
                "RoleManagement",
                "Add member to role",
                "User",
                user.id.to_string(),
                user.upn.clone(),
                vec![(
                    "Role.DisplayName",
                    String::new(),
                    role.display_name().into(),
                )],
                None,
            );
        }
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok((user, generated))
    }
}

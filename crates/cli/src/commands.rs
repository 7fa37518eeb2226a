//! Side effects of each command: call the application, render the result.

use crate::args::*;
use crate::render::{table, Out};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::json;
use skuld_app::{
    Actor, App, AppError, ChangeOutcome, GroupPatch, LicenseChange, LicenseSpec, NewGroup,
    NewSubscription, NewUser, Problem, SkuRow, UserPatch, UserView,
};
use skuld_domain::directory::GroupKind;
use skuld_domain::{
    Catalog, DirectoryRole, PlanId, SkuId, SubscriptionId, SubscriptionStatus, Tenant, Timestamp,
    UserType,
};

const OP: Actor = Actor::Operator;

async fn tenant(app: &App, key: Option<&str>) -> Result<Tenant> {
    Ok(match key {
        Some(k) => app.tenant(k).await?,
        None => app.sole_tenant().await?,
    })
}

/// Short names admins use for the common products.
const ALIASES: &[(&str, &str)] = &[
    ("E1", "STANDARDPACK"),
    ("E3", "ENTERPRISEPACK"),
    ("E5", "ENTERPRISEPREMIUM"),
    ("M365E3", "SPE_E3"),
    ("M365E5", "SPE_E5"),
    ("P1", "AAD_PREMIUM"),
    ("P2", "AAD_PREMIUM_P2"),
    ("BP", "SPB"),
    ("AUDIO", "MCOMEETADV"),
];

fn sku(catalog: &Catalog, key: &str) -> Result<SkuId> {
    let key = ALIASES
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(key))
        .map(|(_, p)| *p)
        .unwrap_or(key);
    if let Some(p) = catalog.find_product(key) {
        return Ok(p.sku_id);
    }
    let names: Vec<String> = catalog
        .products()
        .map(|p| p.part_number.clone())
        .chain(ALIASES.iter().map(|(a, _)| a.to_string()))
        .collect();
    let close = close_matches(key, &names);
    bail!(
        "there is no product '{key}': name it by part number (ENTERPRISEPACK), skuId or alias ({}) — see `skuld sku list` for the tenant's products{}",
        ALIASES.iter().map(|(a, _)| *a).collect::<Vec<_>>().join(" "),
        if close.is_empty() {
            String::new()
        } else {
            format!("; did you mean {}?", close.join(" or "))
        }
    )
}

fn plans(catalog: &Catalog, sku: SkuId, names: &[String]) -> Result<Vec<PlanId>> {
    let product = catalog
        .product(&sku)
        .ok_or_else(|| anyhow!("there is no product {sku} (see `skuld sku list`)"))?;
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for n in names {
        match catalog.find_plan_in(product, n) {
            Some(p) => out.push(p),
            None => missing.push(format!("'{n}'")),
        }
    }
    if !missing.is_empty() {
        bail!(
            "{} ({}) has no service plan {} — see its plans with `skuld sku plans {}`",
            product.display_name,
            product.part_number,
            missing.join(", "),
            product.part_number
        );
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// One line per user and product of a license command: what changed.
fn change_line(c: &LicenseChange) -> String {
    let apps = |v: &[skuld_app::PlanRef]| {
        v.iter()
            .map(|p| p.friendly.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let what = match &c.outcome {
        ChangeOutcome::Assigned => "assigned".to_string(),
        ChangeOutcome::Removed => "removed".to_string(),
        ChangeOutcome::Unchanged => "already held with the same apps: unchanged".to_string(),
        ChangeOutcome::Changed { on, off } => {
            let mut parts = Vec::new();
            if !on.is_empty() {
                parts.push(format!("apps turned on: {}", apps(on)));
            }
            if !off.is_empty() {
                parts.push(format!("apps turned off: {}", apps(off)));
            }
            parts.join("; ")
        }
    };
    format!("{} — {}: {what}", c.user, c.product.name)
}

fn change_json(c: &LicenseChange) -> serde_json::Value {
    let names = |v: &[skuld_app::PlanRef]| v.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    let (outcome, on, off) = match &c.outcome {
        ChangeOutcome::Assigned => ("assigned", vec![], vec![]),
        ChangeOutcome::Removed => ("removed", vec![], vec![]),
        ChangeOutcome::Unchanged => ("unchanged", vec![], vec![]),
        ChangeOutcome::Changed { on, off } => ("changed", names(on), names(off)),
    };
    json!({"userPrincipalName": c.user, "skuPartNumber": c.product.part, "outcome": outcome, "plansOn": on, "plansOff": off})
}

fn sku_rows_json(rows: &[SkuRow]) -> serde_json::Value {
    json!(rows
        .iter()
        .map(|r| json!({"skuId": r.sku_id.to_string(), "skuPartNumber": r.part_number, "displayName": r.display_name,
            "total": r.total, "assigned": r.assigned, "available": r.available, "expiringSoon": r.expiring_soon,
            "suspended": r.suspended, "capabilityStatus": r.status, "subscriptions": r.subscriptions, "selfService": r.self_service}))
        .collect::<Vec<_>>())
}

fn print_sku_rows(rows: &[SkuRow]) {
    let body = rows
        .iter()
        .map(|r| {
            let mut avail = r.available.to_string();
            if r.assigned > r.total {
                avail = format!("0 (over by {})", r.assigned - r.total);
            }
            vec![
                r.part_number.clone(),
                r.display_name.clone(),
                r.total.to_string(),
                r.assigned.to_string(),
                avail,
                r.expiring_soon.to_string(),
                format!(
                    "{}{}",
                    r.status,
                    if r.self_service { ", self-service" } else { "" }
                ),
            ]
        })
        .collect();
    println!(
        "{}",
        table(
            &[
                "Product",
                "Name",
                "Total",
                "Assigned",
                "Available",
                "Expiring soon",
                "Status"
            ],
            body
        )
    );
}

fn user_json(v: &UserView) -> serde_json::Value {
    let u = &v.user;
    json!({
        "id": u.id.to_string(), "userPrincipalName": u.upn, "displayName": u.display_name, "userType": u.user_type.as_str(),
        "usageLocation": u.usage_location.map(|l| l.to_string()), "accountEnabled": u.account_enabled,
        "department": u.department, "jobTitle": u.job_title, "deletedDateTime": u.deleted_at.map(|t| t.to_rfc3339()),
        "roles": v.roles.iter().map(|r| r.display_name()).collect::<Vec<_>>(),
        "groups": v.groups.iter().map(|(g, direct)| json!({"displayName": g, "direct": direct})).collect::<Vec<_>>(),
        "licenses": v.licenses.iter().map(|l| json!({
            "skuId": l.sku_id.to_string(), "skuPartNumber": l.part_number, "held": l.held,
            "enabledPlans": l.enabled_plans.iter().map(|(p, via)| json!({"plan": p, "via": via})).collect::<Vec<_>>(),
            "disabledPlans": l.disabled_plans,
            "licenseAssignmentStates": l.paths.iter().map(|p| json!({
                "assignedByGroup": p.group_id.map(|g| g.to_string()), "source": p.source, "state": p.state.as_str(),
                "error": p.error.as_str(), "detail": p.detail, "reason": p.reason, "disabledPlans": p.disabled_plans,
                "lastUpdatedDateTime": p.updated_at.to_rfc3339()})).collect::<Vec<_>>()
        })).collect::<Vec<_>>(),
    })
}

fn print_user(v: &UserView) {
    let u = &v.user;
    println!("{} ({})", u.display_name, u.upn);
    println!("  id:              {}", u.id);
    println!(
        "  type:            {}{}",
        u.user_type.as_str(),
        if u.account_enabled {
            ""
        } else {
            ", sign-in blocked"
        }
    );
    if let Some(d) = u.deleted_at {
        println!(
            "  DELETED:         {} (restorable until {})",
            d.to_rfc3339(),
            d.plus_days(30).date()
        );
    }
    println!("  usage location:  {}", v.effective_location);
    for (label, val) in [
        ("department", &u.department),
        ("job title", &u.job_title),
        ("city", &u.city),
    ] {
        if let Some(x) = val {
            println!("  {label:<16} {x}");
        }
    }
    if !v.roles.is_empty() {
        println!(
            "  roles:           {}",
            v.roles
                .iter()
                .map(|r| r.display_name())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !v.groups.is_empty() {
        let g: Vec<String> = v
            .groups
            .iter()
            .map(|(n, d)| {
                if *d {
                    n.clone()
                } else {
                    format!("{n} (nested)")
                }
            })
            .collect();
        println!("  groups:          {}", g.join(", "));
    }
    if v.licenses.is_empty() {
        println!("  licenses:        none");
        return;
    }
    let mut rows = Vec::new();
    for l in &v.licenses {
        for p in &l.paths {
            let err = if p.error == skuld_domain::LicenseError::None {
                String::new()
            } else {
                format!("{}: {}", p.error, p.reason)
            };
            let dis = if p.disabled_plans.is_empty() {
                String::new()
            } else {
                p.disabled_plans.join(", ")
            };
            rows.push(vec![
                l.part_number.clone(),
                p.source.clone(),
                p.state.as_str().to_string(),
                err,
                dis,
            ]);
        }
    }
    println!(
        "{}",
        table(
            &[
                "Product",
                "Assigned by",
                "State",
                "Error",
                "Plans turned off on this path"
            ],
            rows
        )
    );
    for l in &v.licenses {
        if l.held {
            println!(
                "  {}: {} plans on, {} off{}",
                l.part_number,
                l.enabled_plans.len(),
                l.disabled_plans.len(),
                if l.disabled_plans.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", l.disabled_plans.join(", "))
                }
            );
        } else {
            println!("  {}: no seat held", l.part_number);
        }
    }
}

fn parse_date(s: &str) -> Result<Timestamp> {
    Timestamp::parse_rfc3339(&format!("{s}T00:00:00Z"))
        .or_else(|| Timestamp::parse_rfc3339(s))
        .ok_or_else(|| anyhow!("'{s}' is not a date (YYYY-MM-DD)"))
}

pub async fn dispatch(app: &App, tenant_key: Option<&str>, cmd: Command, out: &Out) -> Result<i32> {
    let r = run_command(app, tenant_key, cmd, out).await;
    match r {
        Err(mut e) => {
            suggest(app, tenant_key, &mut e).await;
            Err(e)
        }
        ok => ok,
    }
}

/// Fills in close matches for users and groups that were typed but do not exist (only here,
/// when a person reads the error: Graph's 404 stays cheap).
async fn suggest(app: &App, tenant_key: Option<&str>, e: &mut anyhow::Error) {
    let Some(AppError::Refused(r)) = e.downcast_mut::<AppError>() else {
        return;
    };
    let Ok(t) = tenant(app, tenant_key).await else {
        return;
    };
    let mut upns: Option<Vec<String>> = None;
    let mut groups: Option<Vec<String>> = None;
    for p in r.problems.iter_mut() {
        match p {
            Problem::UnknownUser { key, close } => {
                if upns.is_none() {
                    upns = Some(
                        app.users(&t, false, 20_000, 0)
                            .await
                            .map(|v| v.into_iter().map(|u| u.upn).collect())
                            .unwrap_or_default(),
                    );
                }
                *close = close_matches(key, upns.as_deref().unwrap_or_default());
            }
            Problem::UnknownGroup { key, close } => {
                if groups.is_none() {
                    groups = Some(
                        app.groups(&t)
                            .await
                            .map(|v| v.into_iter().map(|g| g.display_name).collect())
                            .unwrap_or_default(),
                    );
                }
                *close = close_matches(key, groups.as_deref().unwrap_or_default());
            }
            _ => {}
        }
    }
}

/// The names closest to what was typed, within a small edit distance (at most three).
fn close_matches(typed: &str, names: &[String]) -> Vec<String> {
    let t = typed.to_lowercase();
    let limit = (t.chars().count() / 4).clamp(1, 3);
    let mut hits: Vec<(usize, &String)> = names
        .iter()
        .map(|n| (edit_distance(&t, &n.to_lowercase()), n))
        .filter(|(d, _)| *d <= limit)
        .collect();
    hits.sort();
    let best = hits.first().map(|h| h.0);
    hits.into_iter()
        .take_while(|h| Some(h.0) == best)
        .take(3)
        .map(|(_, n)| n.clone())
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

async fn run_command(app: &App, tenant_key: Option<&str>, cmd: Command, out: &Out) -> Result<i32> {
    match cmd {
        Command::Init => {
            out.emit(json!({"ok": true}), || println!("database ready"));
        }
        Command::Demo { admin_password } => {
            let d = app.seed_demo(admin_password).await?;
            let rows = app.sku_rows(&d.tenant).await?;
            out.emit(
                json!({"tenant": d.tenant.default_domain, "tenantId": d.tenant.id.to_string(), "admin": d.admin_upn,
                       "password": d.admin_password, "users": d.users, "groups": d.groups, "products": sku_rows_json(&rows)}),
                || {
                    println!("Seeded tenant {} ({}) with {} users and {} groups.", d.tenant.name, d.tenant.default_domain, d.users, d.groups);
                    println!("Admin: {}  password: {}", d.admin_upn, d.admin_password);
                    print_sku_rows(&rows);
                    println!("Worth a look:");
                    for (upn, why) in &d.highlights {
                        println!("  {upn:<40} {why}");
                    }
                    println!("Try: skuld user list · skuld user show <upn> · skuld group list · skuld doctor");
                },
            );
        }
        Command::Tenant(t) => match t {
            TenantCmd::Add {
                name,
                domain,
                country,
            } => {
                let t = app.create_tenant(&name, &domain, &country).await?;
                out.emit(
                    json!({"id": t.id.to_string(), "name": t.name, "domain": t.default_domain}),
                    || {
                        println!(
                            "created tenant {} ({}) id {}",
                            t.name, t.default_domain, t.id
                        )
                    },
                );
            }
            TenantCmd::List => {
                let ts = app.tenants().await?;
                out.emit(
                    json!(ts.iter().map(|t| json!({"id": t.id.to_string(), "name": t.name, "domain": t.default_domain, "country": t.country.to_string()})).collect::<Vec<_>>()),
                    || {
                        let rows = ts.iter().map(|t| vec![t.name.clone(), t.default_domain.clone(), t.country.to_string(), t.id.to_string()]).collect();
                        println!("{}", table(&["Name", "Domain", "Country", "Id"], rows));
                    },
                );
            }
            TenantCmd::Show => {
                let t = tenant(app, tenant_key).await?;
                out.emit(json!({"id": t.id.to_string(), "name": t.name, "domains": t.domains, "country": t.country.to_string()}), || {
                    println!("{} ({})\n  id: {}\n  domains: {}\n  country: {}", t.name, t.default_domain, t.id, t.domains.join(", "), t.country)
                });
            }
        },
        Command::User(u) => return user(app, &tenant(app, tenant_key).await?, u, out).await,
        Command::Group(g) => return group(app, &tenant(app, tenant_key).await?, g, out).await,
        Command::Sku(s) => {
            let t = tenant(app, tenant_key).await?;
            match s {
                SkuCmd::List => {
                    let rows = app.sku_rows(&t).await?;
                    out.emit(sku_rows_json(&rows), || print_sku_rows(&rows));
                }
                SkuCmd::Plans { sku: key } => {
                    let cat = app.tenant_catalog(&t).await?;
                    let id = sku(&cat, &key)?;
                    let p = cat.product(&id).ok_or_else(|| anyhow!("unknown product"))?;
                    let plans: Vec<_> = p.plans.iter().filter_map(|x| cat.plan(x)).collect();
                    out.emit(
                        json!(plans.iter().map(|x| json!({"servicePlanId": x.id.to_string(), "servicePlanName": x.name, "friendlyName": x.friendly_name})).collect::<Vec<_>>()),
                        || {
                            println!("{} ({}) {}", p.display_name, p.part_number, p.sku_id);
                            let rows = plans.iter().map(|x| vec![x.name.clone(), x.friendly_name.clone(), x.id.to_string()]).collect();
                            println!("{}", table(&["Plan", "Friendly name", "Id"], rows));
                        },
                    );
                }
            }
        }
        Command::Subscription(s) => {
            return subscription(app, &tenant(app, tenant_key).await?, s, out).await
        }
        Command::License(l) => {
            let t = tenant(app, tenant_key).await?;
            let cat = app.tenant_catalog(&t).await?;
            let (add, remove, replace, n) = match l {
                LicenseCmd::Assign {
                    sku: k,
                    targets,
                    disable,
                } => {
                    let id = sku(&cat, &k)?;
                    let spec = LicenseSpec {
                        sku: id,
                        disabled_plans: plans(&cat, id, &disable)?,
                    };
                    (vec![spec], vec![], false, ("assigned", targets.users))
                }
                LicenseCmd::Remove { sku: k, targets } => {
                    let id = sku(&cat, &k)?;
                    (vec![], vec![id], false, ("removed", targets.users))
                }
                LicenseCmd::Replace {
                    sku: k,
                    targets,
                    disable,
                } => {
                    let id = sku(&cat, &k)?;
                    let spec = LicenseSpec {
                        sku: id,
                        disabled_plans: plans(&cat, id, &disable)?,
                    };
                    (vec![spec], vec![], true, ("replaced", targets.users))
                }
            };
            let (verb, targets) = n;
            let (users, changes) = app
                .assign_licenses_reported(&t, &targets, &add, &remove, replace, &OP)
                .await?;
            out.emit(
                json!({"result": verb, "users": users.iter().map(|u| u.upn.clone()).collect::<Vec<_>>(),
                       "changes": changes.iter().map(change_json).collect::<Vec<_>>()}),
                || {
                    println!("{verb} for {} user(s):", users.len());
                    for c in &changes {
                        println!("  {}", change_line(c));
                    }
                },
            );
        }
        Command::Product(ProductCmd::Add {
            part_number,
            name,
            plans,
        }) => {
            let t = tenant(app, tenant_key).await?;
            let specs: Vec<(String, String)> = plans
                .iter()
                .map(|p| match p.split_once('=') {
                    Some((n, f)) => (n.to_string(), f.to_string()),
                    None => (p.clone(), p.clone()),
                })
                .collect();
            let p = app
                .add_custom_product(&t, &part_number, &name, &specs, &OP)
                .await?;
            out.emit(json!({"skuId": p.sku_id.to_string(), "skuPartNumber": p.part_number}), || {
                println!("added product {} ({}) with {} plan(s); buy seats with `skuld subscription add {} --seats N`", p.part_number, p.sku_id, p.plans.len(), p.part_number)
            });
        }
        Command::Role(r) => {
            let t = tenant(app, tenant_key).await?;
            let role_of = |s: &str| {
                DirectoryRole::parse(s).ok_or_else(|| {
                    anyhow!(
                        "unknown role '{s}'; roles: {}",
                        DirectoryRole::ALL
                            .iter()
                            .map(|r| r.display_name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            };
            match r {
                RoleCmd::Add { user, role } => {
                    let u = app.add_role(&t, &user, role_of(&role)?, &OP).await?;
                    out.emit(json!({"ok": true}), || {
                        println!(
                            "{} is now {}",
                            u.upn,
                            role_of(&role).map(|r| r.display_name()).unwrap_or_default()
                        )
                    });
                }
                RoleCmd::Remove { user, role } => {
                    let u = app.remove_role(&t, &user, role_of(&role)?, &OP).await?;
                    out.emit(json!({"ok": true}), || {
                        println!("removed the role from {}", u.upn)
                    });
                }
                RoleCmd::List => {
                    let rows = app.role_assignments(&t).await?;
                    out.emit(
                        json!(rows.iter().map(|(id, upn, r, _)| json!({"principalId": id.to_string(), "userPrincipalName": upn, "role": r.display_name(), "roleDefinitionId": r.template_id()})).collect::<Vec<_>>()),
                        || println!("{}", table(&["User", "Role"], rows.iter().map(|(_, upn, r, _)| vec![upn.clone(), r.display_name().to_string()]).collect())),
                    );
                }
            }
        }
        Command::Audit { limit } => {
            let t = tenant(app, tenant_key).await?;
            let rows = app.audit_log(&t, limit).await?;
            out.emit(
                json!(rows.iter().map(|a| json!({"id": a.id, "activityDateTime": a.at.to_rfc3339(), "activityDisplayName": a.activity, "category": a.category,
                    "result": a.result, "resultReason": a.result_reason, "initiatedBy": a.actor, "target": a.target_name, "modifiedProperties": serde_json::from_str::<serde_json::Value>(&a.modified).unwrap_or_default()})).collect::<Vec<_>>()),
                || {
                    let body = rows
                        .iter()
                        .map(|a| vec![a.at.to_rfc3339(), a.activity.clone(), a.target_name.clone(), a.actor.clone(), if a.result == "success" { a.result.clone() } else { format!("{}: {}", a.result, a.result_reason) }])
                        .collect();
                    println!("{}", table(&["When", "Activity", "Target", "By", "Result"], body));
                },
            );
        }
        Command::Doctor => {
            let t = tenant(app, tenant_key).await?;
            let r = app.doctor(&t).await?;
            out.emit(json!({"tenant": t.default_domain, "users": r.users, "pathStates": r.path_states, "drift": r.drift, "details": r.details, "millis": r.millis}), || {
                println!("checked {} users and {} license paths of {} in {} ms", r.users, r.path_states, t.default_domain, r.millis);
                if r.drift == 0 {
                    println!("no drift: stored state equals recomputation from intent");
                } else {
                    println!("DRIFT: {} difference(s)", r.drift);
                    for d in &r.details {
                        println!("  - {d}");
                    }
                }
            });
            return Ok(if r.drift == 0 { 0 } else { 1 });
        }
        Command::Job(j) => {
            return crate::jobs::job(app, &tenant(app, tenant_key).await?, j, out).await
        }
        Command::Bench(_) => bail!("bench is dispatched before opening the database"),
        Command::Serve(_) => bail!("serve is dispatched before opening the database"),
        Command::App(a) => {
            let t = tenant(app, tenant_key).await?;
            match a {
                AppCmd::Add { name, permissions } => {
                    let (row, secret) = app
                        .add_app(&t, &name, &permissions, &Actor::Operator)
                        .await?;
                    out.emit(
                        json!({"tenantId": t.id.to_string(), "clientId": row.app_id.to_string(), "clientSecret": secret,
                               "objectId": row.object_id.to_string(), "displayName": row.display_name, "permissions": row.permissions,
                               "tokenEndpoint": format!("/{}/oauth2/v2.0/token", t.id)}),
                        || {
                            println!("registered app {} in {}", row.display_name, t.default_domain);
                            println!("  tenant id:     {}", t.id);
                            println!("  client id:     {}", row.app_id);
                            println!("  client secret: {secret}   (shown this once)");
                            println!("  permissions:   {}", row.permissions.join(" "));
                            println!("get a token: curl -s -d grant_type=client_credentials -d client_id={} --data-urlencode client_secret='{secret}' -d scope=https://graph.microsoft.com/.default http://127.0.0.1:8080/{}/oauth2/v2.0/token", row.app_id, t.id);
                        },
                    );
                }
                AppCmd::List => {
                    let rows = app.apps(&t).await?;
                    out.emit(
                        json!(rows.iter().map(|r| json!({"clientId": r.app_id.to_string(), "displayName": r.display_name, "permissions": r.permissions, "createdDateTime": r.created_at.to_rfc3339()})).collect::<Vec<_>>()),
                        || println!("{}", table(&["Client id", "Name", "Permissions"], rows.iter().map(|r| vec![r.app_id.to_string(), r.display_name.clone(), r.permissions.join(" ")]).collect())),
                    );
                }
                AppCmd::Remove { app_id } => {
                    app.remove_app(&t, &app_id, &Actor::Operator).await?;
                    out.emit(json!({"removed": app_id}), || {
                        println!("removed app {app_id}")
                    });
                }
            }
        }
    }
    Ok(0)
}

async fn user(app: &App, t: &Tenant, cmd: UserCmd, out: &Out) -> Result<i32> {
    match cmd {
        UserCmd::Add {
            upn,
            name,
            password,
            location,
            guest,
            disabled,
            force_change,
            props,
        } => {
            let n = NewUser {
                upn,
                display_name: name,
                given_name: props.given_name,
                surname: props.surname,
                usage_location: location,
                user_type: if guest {
                    UserType::Guest
                } else {
                    UserType::Member
                },
                account_enabled: !disabled,
                job_title: props.job_title,
                department: props.department,
                city: props.city,
                country: props.country,
                office_location: props.office,
                business_phone: props.phone,
                mobile_phone: props.mobile,
                password,
                force_change_password: force_change,
                ..NewUser::default()
            };
            let (u, generated) = app.create_user(t, n, &OP).await?;
            out.emit(
                json!({"id": u.id.to_string(), "userPrincipalName": u.upn, "password": generated}),
                || {
                    println!("created {} ({})", u.upn, u.id);
                    if let Some(p) = &generated {
                        println!("password: {p}  (shown once)");
                    }
                },
            );
        }
        UserCmd::Show { user } => {
            let v = app.user_view(t, &user).await?;
            out.emit(user_json(&v), || print_user(&v));
        }
        UserCmd::List { deleted, limit } => {
            let users = app.users(t, deleted, limit, 0).await?;
            let mut rows = Vec::new();
            let mut js = Vec::new();
            for u in &users {
                let v = app.user_view(t, &u.id.to_string()).await?;
                let lic: Vec<String> = v
                    .licenses
                    .iter()
                    .filter(|l| l.held)
                    .map(|l| l.part_number.clone())
                    .collect();
                let errs: Vec<String> = v
                    .licenses
                    .iter()
                    .flat_map(|l| {
                        l.paths
                            .iter()
                            .filter(|p| p.error != skuld_domain::LicenseError::None)
                            .map(move |p| format!("{} {}", l.part_number, p.error))
                    })
                    .collect();
                js.push(json!({"id": u.id.to_string(), "userPrincipalName": u.upn, "displayName": u.display_name, "userType": u.user_type.as_str(),
                    "usageLocation": u.usage_location.map(|l| l.to_string()), "licenses": lic, "errors": errs}));
                rows.push(vec![
                    u.upn.clone(),
                    u.display_name.clone(),
                    u.user_type.as_str().to_string(),
                    u.usage_location
                        .map(|l| l.to_string())
                        .unwrap_or_else(|| "-".into()),
                    lic.join(", "),
                    errs.join(", "),
                ]);
            }
            out.emit(json!(js), || {
                println!(
                    "{}",
                    table(
                        &["User", "Name", "Type", "Location", "Licenses", "Errors"],
                        rows
                    )
                )
            });
        }
        UserCmd::Set {
            user,
            name,
            location,
            clear_location,
            department,
            job_title,
            city,
            enabled,
        } => {
            let p = UserPatch {
                display_name: name,
                usage_location: if clear_location {
                    Some(None)
                } else {
                    location.map(Some)
                },
                department: department.map(Some),
                job_title: job_title.map(Some),
                city: city.map(Some),
                account_enabled: enabled,
                ..UserPatch::default()
            };
            let u = app.update_user(t, &user, p, &OP).await?;
            let v = app.user_view(t, &u.id.to_string()).await?;
            out.emit(user_json(&v), || print_user(&v));
        }
        UserCmd::Delete { user } => {
            let u = app.delete_user(t, &user, &OP).await?;
            out.emit(json!({"id": u.id.to_string(), "deleted": true}), || {
                println!(
                    "deleted {} ({}); restorable for 30 days, seats released",
                    u.upn, u.id
                )
            });
        }
        UserCmd::Restore { user } => {
            let u = app.restore_user(t, &user, &OP).await?;
            let v = app.user_view(t, &u.id.to_string()).await?;
            out.emit(user_json(&v), || {
                println!("restored {}", u.upn);
                print_user(&v);
            });
        }
        UserCmd::Purge { user } => {
            let u = app.purge_user(t, &user, &OP).await?;
            out.emit(json!({"id": u.id.to_string(), "purged": true}), || {
                println!("purged {} for good", u.upn)
            });
        }
        UserCmd::PurgeExpired => {
            let n = app.purge_expired(t, skuld_app::now()).await?;
            out.emit(json!({"purged": n}), || {
                println!("purged {n} user(s) deleted more than 30 days ago")
            });
        }
        UserCmd::Reprocess { user } => {
            let u = app.reprocess_user(t, &user, &OP).await?;
            let v = app.user_view(t, &u.id.to_string()).await?;
            out.emit(user_json(&v), || print_user(&v));
        }
        UserCmd::Password { user, current, new } => {
            let mut lines = std::io::stdin().lines();
            let mut next = |what: &str| -> Result<String> {
                lines
                    .next()
                    .transpose()?
                    .ok_or_else(|| anyhow!("give the {what} password on stdin or with --{what}"))
            };
            let current = match current {
                Some(c) => c,
                None => next("current")?,
            };
            let new = match new {
                Some(n) => n,
                None => next("new")?,
            };
            let at = skuld_app::now();
            match app
                .change_password(t, &user, &current, &new, "cli", at)
                .await?
            {
                skuld_app::SignIn::Ok(u, _) => {
                    out.emit(json!({"id": u.id.to_string(), "passwordChanged": true}), || {
                        println!("changed the password of {}", u.upn)
                    })
                }
                skuld_app::SignIn::Locked => bail!(
                    "{user} is locked out after too many wrong passwords; wait a minute and try again"
                ),
                _ => bail!("the user name or the current password of {user} is wrong"),
            }
        }
    }
    Ok(0)
}

async fn group(app: &App, t: &Tenant, cmd: GroupCmd, out: &Out) -> Result<i32> {
    match cmd {
        GroupCmd::Add {
            name,
            description,
            mail_nickname,
            m365,
            no_security,
            rule,
            priority,
        } => {
            let g = app
                .create_group(
                    t,
                    NewGroup {
                        display_name: name,
                        description,
                        mail_nickname,
                        kind: if m365 {
                            GroupKind::Microsoft365
                        } else {
                            GroupKind::Security
                        },
                        security_enabled: !no_security,
                        mail_enabled: m365,
                        membership_rule: rule,
                        license_priority: priority,
                    },
                    &OP,
                )
                .await?;
            out.emit(
                json!({"id": g.id.to_string(), "displayName": g.display_name}),
                || println!("created group {} ({})", g.display_name, g.id),
            );
        }
        GroupCmd::Show { group } => {
            let v = app.group_view(t, &group).await?;
            let g = &v.group;
            out.emit(
                json!({"id": g.id.to_string(), "displayName": g.display_name, "securityEnabled": g.security_enabled, "membershipRule": g.membership_rule,
                    "licensePriority": g.license_priority, "memberUsers": v.member_users, "memberGroups": v.member_groups, "memberOf": v.member_of,
                    "transitiveUsers": v.transitive_users, "licensedUsers": v.licensed_users, "guests": v.guests, "guestWarning": v.guest_warning,
                    "assignedLicenses": v.licenses.iter().map(|(p, _, d)| json!({"skuPartNumber": p, "disabledPlans": d})).collect::<Vec<_>>(),
                    "membersWithLicenseErrors": v.errors.iter().map(|(u, p, e, d)| json!({"userPrincipalName": u, "skuPartNumber": p, "error": e, "detail": d})).collect::<Vec<_>>()}),
                || {
                    println!("{} ({})", g.display_name, g.id);
                    let kind = match (g.kind, g.is_dynamic()) {
                        (GroupKind::Microsoft365, _) => "Microsoft 365 group",
                        (_, true) => "dynamic security group",
                        _ => "security group",
                    };
                    println!("  type:          {kind}{}", if g.security_enabled { "" } else { " (not security-enabled: cannot carry licenses)" });
                    if let Some(r) = &g.membership_rule {
                        println!("  rule:          {r}{}", if g.rule_paused { " (paused)" } else { "" });
                    }
                    println!("  priority:      {}", g.license_priority);
                    println!("  members:       {} users, {} groups{}", v.member_users, v.member_groups.len(), if v.member_groups.is_empty() { String::new() } else { format!(" ({})", v.member_groups.join(", ")) });
                    if !v.member_of.is_empty() {
                        println!("  member of:     {}", v.member_of.join(", "));
                    }
                    println!("  all users:     {} (including nested groups)", v.transitive_users);
                    if let Some(w) = &v.guest_warning {
                        println!("  warning:       {w}");
                    }
                    if v.licenses.is_empty() {
                        println!("  licenses:      none");
                    } else {
                        for (p, n, d) in &v.licenses {
                            println!("  license:       {p} ({n}){}", if d.is_empty() { String::new() } else { format!(", turned off: {}", d.join(", ")) });
                        }
                        println!("  licensed:      {} users, {} with errors", v.licensed_users, v.errors.iter().map(|e| &e.0).collect::<std::collections::HashSet<_>>().len());
                    }
                    if !v.errors.is_empty() {
                        let rows = v.errors.iter().map(|(u, p, e, d)| vec![u.clone(), p.clone(), e.clone(), d.clone()]).collect();
                        println!("{}", table(&["Member with license error", "Product", "Error", "Why"], rows));
                    }
                },
            );
        }
        GroupCmd::List => {
            let gs = app.groups(t).await?;
            out.emit(
                json!(gs.iter().map(|g| json!({"id": g.id.to_string(), "displayName": g.display_name, "dynamic": g.is_dynamic(), "securityEnabled": g.security_enabled})).collect::<Vec<_>>()),
                || {
                    let rows = gs
                        .iter()
                        .map(|g| vec![g.display_name.clone(), if g.is_dynamic() { "dynamic".into() } else { "static".into() }, g.license_priority.to_string(), g.id.to_string()])
                        .collect();
                    println!("{}", table(&["Group", "Membership", "Priority", "Id"], rows));
                },
            );
        }
        GroupCmd::Set {
            group,
            name,
            rule,
            priority,
            pause_rule,
        } => {
            let g = app
                .update_group(
                    t,
                    &group,
                    GroupPatch {
                        display_name: name,
                        membership_rule: rule,
                        license_priority: priority,
                        rule_paused: pause_rule,
                        ..GroupPatch::default()
                    },
                    &OP,
                )
                .await?;
            out.emit(json!({"id": g.id.to_string()}), || {
                println!("updated group {}", g.display_name)
            });
        }
        GroupCmd::Delete { group } => {
            let g = app.delete_group(t, &group, &OP).await?;
            out.emit(json!({"id": g.id.to_string(), "deleted": true}), || {
                println!("deleted group {}", g.display_name)
            });
        }
        GroupCmd::Member(m) => match m {
            MemberCmd::Add { group, members } | MemberCmd::Remove { group, members }
                if members.is_empty() =>
            {
                bail!("name at least one member of {group}")
            }
            MemberCmd::Add { group, members } => {
                app.change_members(t, &group, &members, &OP, true)
                    .await
                    .with_context(|| format!("adding members to {group} (none were added)"))?;
                out.emit(json!({"added": members}), || {
                    println!("added {} member(s) to {group}", members.len())
                });
            }
            MemberCmd::Remove { group, members } => {
                app.change_members(t, &group, &members, &OP, false)
                    .await
                    .with_context(|| {
                        format!("removing members from {group} (none were removed)")
                    })?;
                out.emit(json!({"removed": members}), || {
                    println!("removed {} member(s) from {group}", members.len())
                });
            }
            MemberCmd::List { group } => {
                let (users, groups) = app.group_members(t, &group).await?;
                out.emit(
                    json!({"users": users.iter().map(|u| u.upn.clone()).collect::<Vec<_>>(), "groups": groups.iter().map(|g| g.display_name.clone()).collect::<Vec<_>>()}),
                    || {
                        let mut rows: Vec<Vec<String>> = groups.iter().map(|g| vec!["group".into(), g.display_name.clone()]).collect();
                        rows.extend(users.iter().map(|u| vec!["user".into(), format!("{} ({})", u.upn, u.display_name)]));
                        println!("{}", table(&["Kind", "Member"], rows));
                    },
                );
            }
        },
        GroupCmd::License(l) => {
            let cat = app.tenant_catalog(t).await?;
            let (g, r) = match l {
                GroupLicenseCmd::Assign {
                    group,
                    sku: k,
                    disable,
                } => {
                    let id = sku(&cat, &k)?;
                    let spec = LicenseSpec {
                        sku: id,
                        disabled_plans: plans(&cat, id, &disable)?,
                    };
                    let r = app
                        .group_assign_license(t, &group, &[spec], &[], &OP)
                        .await?;
                    (group, r)
                }
                GroupLicenseCmd::Remove { group, sku: k } => {
                    let id = sku(&cat, &k)?;
                    let r = app.group_assign_license(t, &group, &[], &[id], &OP).await?;
                    (group, r)
                }
            };
            out.emit(json!({"members": r.members, "succeeded": r.succeeded, "failed": r.failed, "healed": r.healed}), || {
                println!("{g}: users successfully assigned licenses: {}, users for whom license assignment failed: {}", r.succeeded, r.failed);
                if r.healed > 0 {
                    println!("{} waiting user(s) elsewhere took freed seats", r.healed);
                }
            });
        }
    }
    Ok(0)
}

async fn subscription(app: &App, t: &Tenant, cmd: SubscriptionCmd, out: &Out) -> Result<i32> {
    let cat = app.tenant_catalog(t).await?;
    let sub_id = |s: &str| SubscriptionId::parse(s).map_err(|e| anyhow!("{e}"));
    let status_of = |s: &str| s.parse::<SubscriptionStatus>().map_err(|e| anyhow!(e));
    let show = |s: &skuld_domain::Subscription| {
        json!({"id": s.id.to_string(), "skuId": s.sku_id.to_string(), "skuPartNumber": cat.product(&s.sku_id).map(|p| p.part_number.clone()),
            "totalLicenses": s.units, "status": s.status.as_str(), "isTrial": s.is_trial,
            "selfServiceOwner": s.self_service_owner.map(|o| o.to_string()), "createdDateTime": s.created_at.to_rfc3339(),
            "nextLifecycleDateTime": s.next_lifecycle_at.map(|t| t.to_rfc3339())})
    };
    match cmd {
        SubscriptionCmd::Add {
            sku: k,
            seats,
            trial,
            owner,
            status,
            expires,
        } => {
            let id = sku(&cat, &k)?;
            let next = expires.as_deref().map(parse_date).transpose()?;
            let s = app
                .add_subscription(
                    t,
                    NewSubscription {
                        sku: id,
                        units: seats,
                        status: status_of(&status)?,
                        is_trial: trial,
                        self_service_owner: owner,
                        next_lifecycle_at: next,
                    },
                    &OP,
                )
                .await?;
            out.emit(show(&s), || {
                println!("added subscription {} of {k} with {} seats", s.id, s.units)
            });
        }
        SubscriptionCmd::List => {
            let subs = app.subscriptions(t).await?;
            out.emit(json!(subs.iter().map(show).collect::<Vec<_>>()), || {
                let rows = subs
                    .iter()
                    .map(|s| {
                        vec![
                            cat.product(&s.sku_id)
                                .map(|p| p.part_number.clone())
                                .unwrap_or_default(),
                            s.units.to_string(),
                            s.status.to_string(),
                            if s.is_trial {
                                "trial".into()
                            } else {
                                String::new()
                            },
                            if s.self_service_owner.is_some() {
                                "self-service".into()
                            } else {
                                String::new()
                            },
                            s.next_lifecycle_at.map(|d| d.date()).unwrap_or_default(),
                            s.id.to_string(),
                        ]
                    })
                    .collect();
                println!(
                    "{}",
                    table(
                        &[
                            "Product",
                            "Seats",
                            "Status",
                            "Trial",
                            "Purchase",
                            "Next lifecycle",
                            "Id"
                        ],
                        rows
                    )
                );
            });
        }
        SubscriptionCmd::SetSeats {
            id,
            seats,
            allow_over_allocation,
        } => {
            let s = app
                .set_seats(t, sub_id(&id)?, seats, allow_over_allocation, &OP)
                .await?;
            out.emit(show(&s), || {
                println!("subscription {} now has {} seats", s.id, s.units)
            });
        }
        SubscriptionCmd::SetStatus { id, status } => {
            let s = app
                .set_subscription_status(t, sub_id(&id)?, status_of(&status)?, None, &OP)
                .await?;
            out.emit(show(&s), || {
                println!("subscription {} is now {}", s.id, s.status)
            });
        }
        SubscriptionCmd::TakeOver { id } => {
            let s = app.take_over(t, sub_id(&id)?, &OP).await?;
            out.emit(show(&s), || {
                println!(
                    "took over subscription {}: admins can now assign its licenses",
                    s.id
                )
            });
        }
        SubscriptionCmd::Tick => {
            let moved = app.lifecycle_tick(t, skuld_app::now()).await?;
            out.emit(json!(moved.iter().map(show).collect::<Vec<_>>()), || {
                println!("{} subscription(s) moved to their next status", moved.len())
            });
        }
    }
    Ok(0)
}

pub async fn bench(app: &App, cmd: &BenchCmd, out: &Out) -> Result<i32> {
    match cmd {
        BenchCmd::Fanout { members } => {
            let r = app.bench_fanout(*members).await?;
            out.emit(
                json!({"bench": "fanout", "members": r.members, "seconds": r.seconds, "setupSeconds": r.setup_seconds, "licensed": r.licensed,
                       "membersPerSecond": r.members as f64 / r.seconds, "doctorSeconds": r.doctor_seconds, "drift": r.drift,
                       "targetSeconds": 10.0, "limitSeconds": 30.0}),
                || {
                    println!("fan-out: licensed a group of {} members in {:.2} s ({:.0} members/s), setup {:.1} s", r.members, r.seconds, r.members as f64 / r.seconds, r.setup_seconds);
                    println!("doctor afterwards: {:.2} s, drift {}", r.doctor_seconds, r.drift);
                },
            );
            Ok(if r.drift == 0 && r.licensed == r.members {
                0
            } else {
                1
            })
        }
        BenchCmd::MemberAdd { users, samples } => {
            let r = app.bench_member_add(*users, *samples).await?;
            out.emit(
                json!({"bench": "member-add", "users": r.users, "samples": r.samples, "p50Ms": r.p50_ms, "p99Ms": r.p99_ms, "maxMs": r.max_ms}),
                || println!("member add in a {}-user tenant: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} samples", r.users, r.p50_ms, r.p99_ms, r.max_ms, r.samples),
            );
            Ok(0)
        }
    }
}

/// `skuld serve`: seeds the demo tenant when asked, prints how to reach the API, serves.
pub async fn serve(app: App, args: ServeArgs, db_url: &str) -> Result<i32> {
    let mut demo_admin: Option<(String, String, Tenant)> = None;
    if args.demo {
        match app.find_tenant("contoso.test").await? {
            None => {
                let d = app.seed_demo(args.admin_password.clone()).await?;
                demo_admin = Some((d.admin_upn, d.admin_password, d.tenant));
            }
            Some(t) => {
                let upn = "admin@contoso.test".to_string();
                let pw = match &args.admin_password {
                    Some(p) => {
                        app.reset_password(&t, &upn, p, false, &Actor::Operator)
                            .await?;
                        p.clone()
                    }
                    None => {
                        "(unchanged since the demo was seeded; pass --admin-password to reset it)"
                            .into()
                    }
                };
                demo_admin = Some((upn, pw, t));
            }
        }
    }
    let data_dir = args.data_dir.clone().unwrap_or_else(|| {
        let p = std::path::Path::new(db_url.strip_prefix("sqlite://").unwrap_or(db_url));
        if db_url.contains("://") && !db_url.starts_with("sqlite://") {
            std::path::PathBuf::from(".")
        } else {
            p.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map(|d| d.to_path_buf())
                .unwrap_or_else(|| std::path::PathBuf::from("."))
        }
    });
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(skuld_graph::serve::Tls::Files {
            cert: c.clone(),
            key: k.clone(),
        }),
        _ if args.tls_self_signed => Some(skuld_graph::serve::Tls::SelfSigned),
        _ => None,
    };
    let tls_listen = args.tls_listen.or_else(|| {
        tls.as_ref()
            .map(|_| "127.0.0.1:8443".parse().expect("address"))
    });
    let cfg = skuld_graph::serve::ServeConfig {
        listen: args.listen,
        tls_listen,
        tls,
        data_dir,
        public_url: args.public_url.clone(),
        limits: skuld_graph::throttle::Limits {
            scale: args.throttle_scale,
            enabled: !args.no_throttle,
        },
        mount: Some({
            let app = app.clone();
            std::sync::Arc::new(move |graph, https, jobs| {
                let mut web = skuld_web::WebState::new(app.clone());
                web.https = https;
                web.jobs = Some(jobs);
                skuld_web::router(web, graph)
            })
        }),
    };
    skuld_graph::serve::serve(app, cfg, move |http, tls| {
        let base = format!("http://{http}");
        println!("skuld admin center: {base}/");
        println!("skuld is serving Microsoft Graph v1.0 at {base}/v1.0");
        if let Some((addr, cert)) = &tls {
            println!("                                  and https://{addr}/v1.0");
            if let Some(c) = cert {
                println!("  self-signed certificate: {} (NODE_EXTRA_CA_CERTS=… for Node clients)", c.display());
            }
        }
        if let Some((upn, pw, t)) = &demo_admin {
            println!("demo tenant {} ({}) id {}", t.name, t.default_domain, t.id);
            println!("  sign in to the admin center at {base}/ as {upn}");
            println!("  password: {pw}");
            println!("get a token (Global Administrator):");
            println!("  curl -s {base}/{}/oauth2/v2.0/token -d grant_type=password -d client_id=skuld-cli -d scope=https://graph.microsoft.com/.default -d username={upn} --data-urlencode 'password={}'", t.id, if pw.starts_with('(') { "<password>" } else { pw.as_str() });
            println!("then: curl -s -H \"Authorization: Bearer $TOKEN\" {base}/v1.0/subscribedSkus");
            println!("or register an app: skuld app add --name my-script --permission User.ReadWrite.All LicenseAssignment.ReadWrite.All");
        }
        println!("health: {base}/healthz · OpenAPI: {base}/openapi.json · stop with Ctrl-C");
    })
    .await?;
    Ok(0)
}

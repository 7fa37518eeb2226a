//! Fidelity to Microsoft's own metadata (issue 7, "Fidelity to Microsoft's own metadata"): the
//! served `$metadata` slice is what `scripts/gen-metadata.py` cuts from Microsoft's CSDL, and
//! every served response, with and without `$select`, holds to that slice: only declared
//! properties, each of the right JSON kind, enum values spelled as the CSDL's members,
//! `Nullable="false"` never null, and every selected property present.

use crate::harness::*;
use serde_json::{json, Value};
use skuld_graph::metadata::{model, Kind};

/// Microsoft's CSDL, where the shared data sits beside the checkout (or `$SKULD_GRAPH_CSDL`).
fn shared_csdl() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::var_os("SKULD_GRAPH_CSDL")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain([
            dir.join("../../../shared/data/graph-v1.0-csdl.xml"),
            dir.join("../../../../shared/data/graph-v1.0-csdl.xml"),
        ])
        .find(|p| p.is_file())
}

#[test]
fn metadata_slice_is_what_the_generator_makes() {
    let Some(csdl) = shared_csdl() else {
        eprintln!("graph-v1.0-csdl.xml is not beside this checkout: slice not compared");
        return;
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::process::Command::new("python3")
        .arg(root.join("scripts/gen-metadata.py"))
        .arg(&csdl)
        .arg("--stdout")
        .output()
        .expect("python3 runs the generator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout) == skuld_graph::metadata::DOCUMENT,
        "data/graph/metadata.xml is stale: run python3 scripts/gen-metadata.py"
    );
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// RFC 3339 with a `Z` or offset, optional fraction.
fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    if !(b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19))
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(f) = rest.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &f[n..];
    }
    rest == "Z"
        || (rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && rest.as_bytes()[3] == b':')
}

/// Checks `v` against the element type `ty` (no `Collection(…)`); errors go into `errs`.
fn check_value(path: &str, ty: &str, v: &Value, errs: &mut Vec<String>) {
    let ok = match ty {
        "Edm.String" => v.is_string(),
        "Edm.Boolean" => v.is_boolean(),
        "Edm.Int16" | "Edm.Int32" | "Edm.Int64" | "Edm.Byte" => v.is_i64() || v.is_u64(),
        "Edm.Double" | "Edm.Single" | "Edm.Decimal" => v.is_number(),
        "Edm.Guid" => v.as_str().is_some_and(is_guid),
        "Edm.DateTimeOffset" => v.as_str().is_some_and(is_datetime),
        "Edm.Date" => v.as_str().is_some_and(|s| s.len() == 10),
        other => match model().get(other) {
            Some(d) if d.kind == Kind::Enum => v.as_str().is_some_and(|s| d.members.contains(&s)),
            Some(_) => {
                check_object(path, other, v, None, errs);
                return;
            }
            None => {
                errs.push(format!("{path}: type {other} is not in the slice"));
                return;
            }
        },
    };
    if !ok {
        errs.push(format!("{path}: {v} is not a {ty}"));
    }
}

/// Checks an entity or complex value of type `ty` (or the type its `@odata.type` names).
/// `selected`: properties that must all be present.
fn check_object(
    path: &str,
    ty: &str,
    v: &Value,
    selected: Option<&[&str]>,
    errs: &mut Vec<String>,
) {
    let Some(m) = v.as_object() else {
        errs.push(format!("{path}: {v} is not an object of {ty}"));
        return;
    };
    let ty = m
        .get("@odata.type")
        .and_then(Value::as_str)
        .and_then(|t| t.strip_prefix("#microsoft.graph."))
        .unwrap_or(ty);
    let Some(def) = model().get(ty) else {
        errs.push(format!("{path}: type {ty} is not in the slice"));
        return;
    };
    for (k, x) in m {
        if k.starts_with('@') || k.contains("@odata.") {
            continue;
        }
        let here = format!("{path}.{k}");
        let Some(p) = model().property(ty, k).filter(|p| p.name == k) else {
            if def.kind == Kind::Entity
                && model()
                    .get(ty)
                    .is_some_and(|d| d.navigation.contains(&k.as_str()))
            {
                // An expanded navigation property: directoryObjects with @odata.type.
                for (i, item) in x.as_array().into_iter().flatten().enumerate() {
                    check_object(&format!("{here}[{i}]"), "directoryObject", item, None, errs);
                }
                continue;
            }
            errs.push(format!("{here}: not declared on {ty}"));
            continue;
        };
        if x.is_null() {
            if !p.nullable || p.collection {
                errs.push(format!(
                    "{here}: null, but Nullable=\"false\" or a collection"
                ));
            }
            continue;
        }
        if p.collection {
            let Some(a) = x.as_array() else {
                errs.push(format!("{here}: {x} is not an array"));
                continue;
            };
            for (i, item) in a.iter().enumerate() {
                check_value(&format!("{here}[{i}]"), p.ty, item, errs);
            }
        } else {
            check_value(&here, p.ty, x, errs);
        }
    }
    for s in selected.unwrap_or(&[]) {
        if !m.contains_key(*s) {
            errs.push(format!("{path}: selected {s} is missing"));
        }
    }
}

/// Every structural property of `ty`, for a `$select` of all of them.
fn all(ty: &str) -> Vec<&'static str> {
    model().properties(ty).iter().map(|p| p.name).collect()
}

#[tokio::test]
async fn every_served_response_holds_to_the_csdl() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let a = w.user("a", Some("US")).await;
        w.license("a@contoso.test", "ENTERPRISEPACK").await;
        let d = w.user("gone", Some("US")).await;
        w.delete(&format!("/v1.0/users/{}", d.id), &t)
            .await
            .expect(204);
        let g = w
            .post(
                "/v1.0/groups",
                &t,
                json!({"displayName": "G", "mailEnabled": false, "mailNickname": "g", "securityEnabled": true}),
            )
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_string();
        let m365 = w
            .post(
                "/v1.0/groups",
                &t,
                json!({"displayName": "Team", "mailEnabled": true, "mailNickname": "team", "securityEnabled": false, "groupTypes": ["Unified"]}),
            )
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_string();
        for m in [a.id.to_string()] {
            w.post(
                &format!("/v1.0/groups/{g}/members/$ref"),
                &t,
                json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{m}")}),
            )
            .await
            .expect(204);
        }
        let e3 = sku("ENTERPRISEPACK").to_string();
        w.post(
            &format!("/v1.0/groups/{g}/assignLicense"),
            &t,
            json!({"addLicenses": [{"skuId": e3, "disabledPlans": []}], "removeLicenses": []}),
        )
        .await
        .expect(202);
        w.drain().await;
        // A nested group too (after the license: a licensed group may not nest groups).
        w.post(
            &format!("/v1.0/groups/{g}/members/$ref"),
            &t,
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{m365}")}),
        )
        .await;
        let sku_id = w.get("/v1.0/subscribedSkus", &t).await.body["value"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let sub_id = w.get("/v1.0/directory/subscriptions", &t).await.body["value"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let detail = w
            .get(&format!("/v1.0/users/{}/licenseDetails", a.id), &t)
            .await
            .body["value"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let audit = w.get("/v1.0/auditLogs/directoryAudits", &t).await.body["value"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let role = w
            .get("/v1.0/roleManagement/directory/roleAssignments", &t)
            .await
            .body["value"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let tid = w.tenant.id.to_string();

        let sel = |ty: &str| all(ty).join(",");
        // (url, type, collection?, properties that must all be present)
        let cases: Vec<(String, &str, bool, Option<Vec<&str>>)> = vec![
            ("/v1.0/users".into(), "user", true, None),
            (
                format!("/v1.0/users?$select={}", sel("user")),
                "user",
                true,
                Some(all("user")),
            ),
            (format!("/v1.0/users/{}", a.id), "user", false, None),
            (
                format!("/v1.0/users/{}?$select={}", a.id, sel("user")),
                "user",
                false,
                Some(all("user")),
            ),
            ("/v1.0/me".into(), "user", false, None),
            (
                format!("/v1.0/users/{}/licenseDetails", a.id),
                "licenseDetails",
                true,
                None,
            ),
            (
                format!("/v1.0/users/{}/licenseDetails/{detail}", a.id),
                "licenseDetails",
                false,
                None,
            ),
            (
                format!(
                    "/v1.0/users/{}/licenseDetails?$select={}",
                    a.id,
                    sel("licenseDetails")
                ),
                "licenseDetails",
                true,
                Some(all("licenseDetails")),
            ),
            (
                format!(
                    "/v1.0/auditLogs/directoryAudits?$select={}",
                    sel("directoryAudit")
                ),
                "directoryAudit",
                true,
                Some(all("directoryAudit")),
            ),
            (
                format!(
                    "/v1.0/roleManagement/directory/roleAssignments?$select={}",
                    sel("unifiedRoleAssignment")
                ),
                "unifiedRoleAssignment",
                true,
                Some(all("unifiedRoleAssignment")),
            ),
            (
                format!("/v1.0/users/{}/memberOf", a.id),
                "directoryObject",
                true,
                None,
            ),
            (
                format!("/v1.0/users/{}/transitiveMemberOf", a.id),
                "directoryObject",
                true,
                None,
            ),
            ("/v1.0/groups".into(), "group", true, None),
            (
                format!("/v1.0/groups?$select={}", sel("group")),
                "group",
                true,
                Some(all("group")),
            ),
            (format!("/v1.0/groups/{g}"), "group", false, None),
            (
                format!("/v1.0/groups/{g}?$select={}", sel("group")),
                "group",
                false,
                Some(all("group")),
            ),
            (
                format!("/v1.0/groups/{g}?$expand=members"),
                "group",
                false,
                None,
            ),
            (
                "/v1.0/groups?$expand=members($select=id,displayName)".to_string(),
                "group",
                true,
                None,
            ),
            (
                format!("/v1.0/groups/{g}/members"),
                "directoryObject",
                true,
                None,
            ),
            (
                format!("/v1.0/groups/{g}/members?$select=id,displayName,mail"),
                "directoryObject",
                true,
                None,
            ),
            (
                format!("/v1.0/groups/{g}/transitiveMembers"),
                "directoryObject",
                true,
                None,
            ),
            (
                format!("/v1.0/groups/{g}/membersWithLicenseErrors"),
                "directoryObject",
                true,
                None,
            ),
            ("/v1.0/subscribedSkus".into(), "subscribedSku", true, None),
            (
                format!("/v1.0/subscribedSkus?$select={}", sel("subscribedSku")),
                "subscribedSku",
                true,
                Some(all("subscribedSku")),
            ),
            (
                format!("/v1.0/subscribedSkus/{sku_id}"),
                "subscribedSku",
                false,
                None,
            ),
            (
                "/v1.0/directory/subscriptions".into(),
                "companySubscription",
                true,
                None,
            ),
            (
                format!(
                    "/v1.0/directory/subscriptions?$select={}",
                    sel("companySubscription")
                ),
                "companySubscription",
                true,
                Some(all("companySubscription")),
            ),
            (
                format!("/v1.0/directory/subscriptions/{sub_id}"),
                "companySubscription",
                false,
                None,
            ),
            ("/v1.0/organization".into(), "organization", true, None),
            (
                format!("/v1.0/organization?$select={}", sel("organization")),
                "organization",
                true,
                Some(all("organization")),
            ),
            (
                format!("/v1.0/organization/{tid}"),
                "organization",
                false,
                None,
            ),
            (
                "/v1.0/directory/deletedItems/microsoft.graph.user".into(),
                "user",
                true,
                None,
            ),
            (
                format!(
                    "/v1.0/directory/deletedItems/microsoft.graph.user?$select={}",
                    sel("user")
                ),
                "user",
                true,
                Some(all("user")),
            ),
            (
                format!("/v1.0/directory/deletedItems/{}", d.id),
                "user",
                false,
                None,
            ),
            (
                "/v1.0/auditLogs/directoryAudits".into(),
                "directoryAudit",
                true,
                None,
            ),
            (
                format!("/v1.0/auditLogs/directoryAudits/{audit}"),
                "directoryAudit",
                false,
                None,
            ),
            (
                "/v1.0/roleManagement/directory/roleAssignments".into(),
                "unifiedRoleAssignment",
                true,
                None,
            ),
            (
                format!("/v1.0/roleManagement/directory/roleAssignments/{role}"),
                "unifiedRoleAssignment",
                false,
                None,
            ),
        ];
        let mut errs = Vec::new();
        for (url, ty, collection, selected) in &cases {
            let r = w.get(url, &t).await;
            assert_eq!(r.status, 200, "{url}: {}", r.text);
            let short = url.split('?').next().unwrap_or(url);
            let items: Vec<&Value> = if *collection {
                let v: Vec<&Value> = r.body["value"]
                    .as_array()
                    .map(|a| a.iter().collect())
                    .unwrap_or_default();
                assert!(
                    !v.is_empty() || short.ends_with("membersWithLicenseErrors"),
                    "{url}: empty"
                );
                v
            } else {
                vec![&r.body]
            };
            for (i, item) in items.iter().enumerate() {
                check_object(
                    &format!("{short}[{i}]"),
                    ty,
                    item,
                    selected.as_deref(),
                    &mut errs,
                );
            }
        }
        assert!(
            errs.is_empty(),
            "{} mismatches:\n{}",
            errs.len(),
            errs.join("\n")
        );
    }
}

#[tokio::test]
async fn declared_properties_are_never_refused_in_select() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let u = w.user("a", Some("US")).await;
        // The ones the attack run found refused, and every other declared one.
        for p in [
            "onPremisesDistinguishedName",
            "onPremisesSamAccountName",
            "passwordPolicies",
            "identities",
            "employeeHireDate",
        ] {
            let r = w
                .get(&format!("/v1.0/users/{}?$select={p}", u.id), &t)
                .await;
            r.expect(200);
            let v = &r.body[p];
            let decl = model().property("user", p).unwrap();
            assert!(
                if decl.collection {
                    v == &json!([])
                } else {
                    v.is_null()
                },
                "{p}: {v}"
            );
        }
        for (url, ty) in [
            (format!("/v1.0/users/{}", u.id), "user"),
            ("/v1.0/groups".to_string(), "group"),
            ("/v1.0/subscribedSkus".to_string(), "subscribedSku"),
            ("/v1.0/organization".to_string(), "organization"),
            (
                "/v1.0/directory/subscriptions".to_string(),
                "companySubscription",
            ),
        ] {
            for p in all(ty) {
                let r = w.get(&format!("{url}?$select={p}"), &t).await;
                assert_eq!(r.status, 200, "{url} $select={p}: {}", r.text);
            }
        }
        // Not declared: Graph's text.
        w.get(&format!("/v1.0/users/{}?$select=shoeSize", u.id), &t)
            .await
            .expect_error(
                400,
                "Request_BadRequest",
                "Could not find a property named 'shoeSize' on type 'microsoft.graph.user'.",
            );
    }
}

#[tokio::test]
async fn odata_context_carries_select_and_expand() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let u = w.user("a", Some("US")).await;
        let g = w
            .post(
                "/v1.0/groups",
                &t,
                json!({"displayName": "G", "mailEnabled": false, "mailNickname": "g", "securityEnabled": true}),
            )
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_string();
        w.post(
            &format!("/v1.0/groups/{g}/members/$ref"),
            &t,
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", u.id)}),
        )
        .await
        .expect(204);
        let base = "http://graph.test/v1.0/$metadata#";
        for (url, ctx) in [
            (
                "/v1.0/users?$select=id,displayName".to_string(),
                "users(id,displayName)",
            ),
            (
                format!("/v1.0/users/{}?$select=displayName", u.id),
                "users(displayName)/$entity",
            ),
            (
                "/v1.0/groups?$expand=members".to_string(),
                "groups(members())",
            ),
            (
                "/v1.0/groups?$select=id,displayName&$expand=members".to_string(),
                "groups(id,displayName,members())",
            ),
            (
                format!("/v1.0/groups/{g}?$expand=members($select=id,displayName)"),
                "groups(members(id,displayName))/$entity",
            ),
            (
                "/v1.0/subscribedSkus?$select=skuId".to_string(),
                "subscribedSkus(skuId)",
            ),
        ] {
            let r = w.get(&url, &t).await;
            r.expect(200);
            assert_eq!(r.body["@odata.context"], format!("{base}{ctx}"), "{url}");
        }
        // The nested $select shapes the expanded members.
        let r = w
            .get(
                &format!("/v1.0/groups/{g}?$expand=members($select=id,displayName)"),
                &t,
            )
            .await;
        let mut keys: Vec<&str> = r.body["members"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["@odata.type", "displayName", "id"], "{}", r.text);
    }
}

#[tokio::test]
async fn default_property_sets_follow_graph() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let g = w
            .post(
                "/v1.0/groups",
                &t,
                json!({"displayName": "G", "mailEnabled": false, "mailNickname": "g", "securityEnabled": true}),
            )
            .await;
        for p in [
            "onPremisesDomainName",
            "onPremisesLastSyncDateTime",
            "onPremisesNetBiosName",
            "onPremisesSamAccountName",
            "onPremisesSecurityIdentifier",
            "onPremisesSyncEnabled",
            "onPremisesProvisioningErrors",
            "serviceProvisioningErrors",
            "uniqueName",
        ] {
            assert!(
                g.body.get(p).is_some(),
                "group default lacks {p}: {}",
                g.text
            );
        }
        let o = w.get("/v1.0/organization", &t).await;
        let org = &o.body["value"][0];
        for p in [
            "businessPhones",
            "city",
            "country",
            "postalCode",
            "state",
            "street",
            "marketingNotificationEmails",
            "securityComplianceNotificationMails",
            "securityComplianceNotificationPhones",
            "technicalNotificationMails",
        ] {
            assert!(
                org.get(p).is_some(),
                "organization default lacks {p}: {}",
                o.text
            );
        }
        assert_eq!(org["technicalNotificationMails"], json!([]));
    }
}

/// The walk above can fail: each class of mismatch is caught.
#[test]
fn the_csdl_checker_catches_each_class_of_mismatch() {
    for (bad, what) in [
        (json!({"shoeSize": 44}), "not declared"),
        (json!({"accountEnabled": "yes"}), "not a Edm.Boolean"),
        (json!({"id": "x", "assignedLicenses": null}), "null, but"),
        (
            json!({"createdDateTime": "yesterday"}),
            "not a Edm.DateTimeOffset",
        ),
        (
            json!({"assignedLicenses": [{"skuId": "not-a-guid", "disabledPlans": []}]}),
            "not a Edm.Guid",
        ),
        (json!({"businessPhones": "555"}), "not an array"),
        (json!({"birthday": null}), "null, but"),
    ] {
        let mut errs = Vec::new();
        check_object("t", "user", &bad, None, &mut errs);
        assert!(errs.iter().any(|e| e.contains(what)), "{bad}: {errs:?}");
    }
    let mut errs = Vec::new();
    check_object(
        "t",
        "directoryAudit",
        &json!({"result": "Success"}),
        None,
        &mut errs,
    );
    assert!(
        errs.iter().any(|e| e.contains("operationResult")),
        "{errs:?}"
    );
    let mut errs = Vec::new();
    check_object(
        "t",
        "user",
        &json!({"id": "x"}),
        Some(&["displayName"]),
        &mut errs,
    );
    assert!(errs.iter().any(|e| e.contains("missing")), "{errs:?}");
    let mut errs = Vec::new();
    check_object(
        "t",
        "user",
        &json!({"id": "x", "displayName": "A", "businessPhones": []}),
        None,
        &mut errs,
    );
    assert!(errs.is_empty(), "{errs:?}");
}

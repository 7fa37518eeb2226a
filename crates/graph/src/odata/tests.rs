//! Table-driven tests of the OData parser: every operator, precedence, Graph's error texts, and
//! garbage that must come back as a 4xx, never a panic.

use super::*;
use axum::http::StatusCode;
use proptest::prelude::*;
use skuld_domain::query::{
    Cmp, Field, Filter, ListQuery, Order, PlanCond, Search, TextMatch, Value,
};
use skuld_domain::{PlanId, SkuId, Timestamp};
use uuid::Uuid;

const E3: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
const EMS: &str = "efccb6f7-5641-4e0e-bd10-b4976e1bf68e";
const ADVANCED_TAIL: &str = "is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information";

fn f(text: &str) -> Filter {
    parse_filter(text, Resource::User, true).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}
fn g(text: &str) -> Filter {
    parse_filter(text, Resource::Group, true).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}
fn cmp(field: Field, op: Cmp, value: Value) -> Filter {
    Filter::Compare { field, op, value }
}
fn s(v: &str) -> Value {
    Value::Str(v.into())
}
fn sku(v: &str) -> SkuId {
    SkuId::parse(v).unwrap()
}
fn err(text: &str, resource: Resource, advanced: bool) -> GraphError {
    match parse_filter(text, resource, advanced) {
        Ok(f) => panic!("{text} parsed: {f:?}"),
        Err(e) => e,
    }
}
fn opts(q: &str, eventual: bool, r: Resource) -> Result<QueryOptions, GraphError> {
    QueryOptions::parse(Some(q), eventual, r)
}
fn opts_err(q: &str, eventual: bool, r: Resource) -> GraphError {
    match opts(q, eventual, r) {
        Ok(o) => panic!("{q} parsed: {o:?}"),
        Err(e) => e,
    }
}

#[test]
fn comparisons_of_every_kind() {
    let cases: Vec<(&str, Filter)> = vec![
        ("displayName eq 'Adele'", cmp(Field::DisplayName, Cmp::Eq, s("Adele"))),
        ("displayName ne 'Adele'", cmp(Field::DisplayName, Cmp::Ne, s("Adele"))),
        ("usageLocation eq 'US'", cmp(Field::UsageLocation, Cmp::Eq, s("US"))),
        ("accountEnabled eq true", cmp(Field::AccountEnabled, Cmp::Eq, Value::Bool(true))),
        ("accountEnabled eq FALSE", cmp(Field::AccountEnabled, Cmp::Eq, Value::Bool(false))),
        ("jobTitle eq null", cmp(Field::JobTitle, Cmp::Eq, Value::Null)),
        ("jobTitle ne null", cmp(Field::JobTitle, Cmp::Ne, Value::Null)),
        (
            "createdDateTime ge 2021-09-21T07:09:14Z",
            cmp(
                Field::CreatedDateTime,
                Cmp::Ge,
                Value::Time(Timestamp::parse_rfc3339("2021-09-21T07:09:14Z").unwrap()),
            ),
        ),
        (
            "createdDateTime lt 2021-09-21",
            cmp(
                Field::CreatedDateTime,
                Cmp::Lt,
                Value::Time(Timestamp::parse_rfc3339("2021-09-21T00:00:00Z").unwrap()),
            ),
        ),
        (
            "createdDateTime gt 2021-09-21T07:09:14.5+02:00",
            cmp(
                Field::CreatedDateTime,
                Cmp::Gt,
                Value::Time(Timestamp::parse_rfc3339("2021-09-21T05:09:14.5Z").unwrap()),
            ),
        ),
        (
            "createdDateTime le 2021-09-21T07:09:14Z",
            cmp(
                Field::CreatedDateTime,
                Cmp::Le,
                Value::Time(Timestamp::parse_rfc3339("2021-09-21T07:09:14Z").unwrap()),
            ),
        ),
        // literal on the left
        (
            "2021-09-21T07:09:14Z lt createdDateTime",
            cmp(
                Field::CreatedDateTime,
                Cmp::Gt,
                Value::Time(Timestamp::parse_rfc3339("2021-09-21T07:09:14Z").unwrap()),
            ),
        ),
        (
            "id eq '6fd2c87f-b296-42f0-b197-1e91e994b900'",
            cmp(Field::Id, Cmp::Eq, Value::Guid(Uuid::parse_str(E3).unwrap())),
        ),
        ("id eq 'not-a-guid'", cmp(Field::Id, Cmp::Eq, s("not-a-guid"))),
        ("DISPLAYNAME EQ 'x'", cmp(Field::DisplayName, Cmp::Eq, s("x"))),
        ("displayName eq 'O''Brien'", cmp(Field::DisplayName, Cmp::Eq, s("O'Brien"))),
        ("displayName eq ''", cmp(Field::DisplayName, Cmp::Eq, s(""))),
        ("displayName eq 'Zoë ünï'", cmp(Field::DisplayName, Cmp::Eq, s("Zoë ünï"))),
        (
            "onPremisesSyncEnabled eq null",
            cmp(Field::OnPremisesSyncEnabled, Cmp::Eq, Value::Null),
        ),
        ("companyName eq 'Contoso'", cmp(Field::CompanyName, Cmp::Eq, s("Contoso"))),
        (
            "startswith(displayName,'a')",
            Filter::StartsWith {
                field: Field::DisplayName,
                prefix: "a".into(),
            },
        ),
        (
            "startsWith( mail , 'A' )",
            Filter::StartsWith {
                field: Field::Mail,
                prefix: "A".into(),
            },
        ),
        (
            "endswith(mail,'@contoso.com')",
            Filter::EndsWith {
                field: Field::Mail,
                suffix: "@contoso.com".into(),
            },
        ),
        (
            "endsWith(userPrincipalName,'#EXT#@x.test')",
            Filter::EndsWith {
                field: Field::UserPrincipalName,
                suffix: "#EXT#@x.test".into(),
            },
        ),
        (
            "userType in ('Member', 'Guest')",
            Filter::Or(vec![
                cmp(Field::UserType, Cmp::Eq, s("Member")),
                cmp(Field::UserType, Cmp::Eq, s("Guest")),
            ]),
        ),
        ("department in ('Sales')", cmp(Field::Department, Cmp::Eq, s("Sales"))),
        (
            "assignedLicenses/any(x:x/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900)",
            Filter::HasLicense(vec![sku(E3)]),
        ),
        (
            "assignedLicenses/any(a: a/skuId in (efccb6f7-5641-4e0e-bd10-b4976e1bf68e, 6fd2c87f-b296-42f0-b197-1e91e994b900))",
            Filter::HasLicense({
                let mut v = vec![sku(E3), sku(EMS)];
                v.sort();
                v
            }),
        ),
        (
            "assignedLicenses/any(a:a/skuId eq 6FD2C87F-B296-42F0-B197-1E91E994B900 or a/skuId eq '6fd2c87f-b296-42f0-b197-1e91e994b900')",
            Filter::HasLicense(vec![sku(E3)]),
        ),
        ("assignedLicenses/$count eq 0", Filter::LicenseCount { op: Cmp::Eq, n: 0 }),
        ("assignedLicenses/$count ne 0", Filter::LicenseCount { op: Cmp::Ne, n: 0 }),
        (
            "assignedPlans/any(p:p/servicePlanId eq efccb6f7-5641-4e0e-bd10-b4976e1bf68e and p/capabilityStatus eq 'Enabled')",
            Filter::HasPlan(PlanCond {
                plan: Some(PlanId::parse(EMS).unwrap()),
                capability_status: Some("Enabled".into()),
                service: None,
            }),
        ),
        (
            "assignedPlans/any(p:startswith(p/service,'exch'))",
            Filter::HasPlan(PlanCond {
                service: Some(TextMatch::StartsWith("exch".into())),
                ..Default::default()
            }),
        ),
        (
            "assignedPlans/any(p:p/service eq 'exchange' or p/service eq 'SharePoint')",
            Filter::Or(vec![
                Filter::HasPlan(PlanCond {
                    service: Some(TextMatch::Eq("exchange".into())),
                    ..Default::default()
                }),
                Filter::HasPlan(PlanCond {
                    service: Some(TextMatch::Eq("SharePoint".into())),
                    ..Default::default()
                }),
            ]),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(f(text), want, "{text}");
    }
}

#[test]
fn group_filters() {
    let cases: Vec<(&str, Filter)> = vec![
        (
            "hasMembersWithLicenseErrors eq true",
            Filter::HasMembersWithLicenseErrors(true),
        ),
        (
            "hasMembersWithLicenseErrors eq false",
            Filter::HasMembersWithLicenseErrors(false),
        ),
        (
            "hasMembersWithLicenseErrors ne true",
            Filter::HasMembersWithLicenseErrors(false),
        ),
        ("hasMembersWithLicenseErrors eq null", Filter::Const(false)),
        (
            "groupTypes/any(c:c eq 'Unified')",
            Filter::GroupType("Unified".into()),
        ),
        (
            "groupTypes/any(c:c in ('Unified', 'DynamicMembership'))",
            Filter::Or(vec![
                Filter::GroupType("Unified".into()),
                Filter::GroupType("DynamicMembership".into()),
            ]),
        ),
        (
            "NOT groupTypes/any(c:c eq 'Unified')",
            Filter::Not(Box::new(Filter::GroupType("Unified".into()))),
        ),
        (
            "assignedLicenses/any(x:x/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900)",
            Filter::HasLicense(vec![sku(E3)]),
        ),
        (
            "assignedLicenses/$count eq 0",
            Filter::LicenseCount { op: Cmp::Eq, n: 0 },
        ),
        (
            "securityEnabled eq true",
            cmp(Field::SecurityEnabled, Cmp::Eq, Value::Bool(true)),
        ),
        (
            "mailEnabled eq false",
            cmp(Field::MailEnabled, Cmp::Eq, Value::Bool(false)),
        ),
        (
            "membershipRuleProcessingState eq 'Paused'",
            cmp(Field::MembershipRuleProcessingState, Cmp::Eq, s("Paused")),
        ),
        (
            "startswith(membershipRule, 'user.')",
            Filter::StartsWith {
                field: Field::MembershipRule,
                prefix: "user.".into(),
            },
        ),
        (
            "description eq 'x'",
            cmp(Field::Description, Cmp::Eq, s("x")),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(g(text), want, "{text}");
    }
}

#[test]
fn precedence_and_grouping() {
    let a = || cmp(Field::City, Cmp::Eq, s("a"));
    let b = || cmp(Field::State, Cmp::Eq, s("b"));
    let c = || cmp(Field::Country, Cmp::Eq, s("c"));
    let cases: Vec<(&str, Filter)> = vec![
        (
            "city eq 'a' or state eq 'b' and country eq 'c'",
            Filter::Or(vec![a(), Filter::And(vec![b(), c()])]),
        ),
        (
            "city eq 'a' and state eq 'b' or country eq 'c'",
            Filter::Or(vec![Filter::And(vec![a(), b()]), c()]),
        ),
        (
            "(city eq 'a' or state eq 'b') and country eq 'c'",
            Filter::And(vec![Filter::Or(vec![a(), b()]), c()]),
        ),
        (
            "city eq 'a' AND state eq 'b' AND country eq 'c'",
            Filter::And(vec![a(), b(), c()]),
        ),
        (
            "not city eq 'a' and state eq 'b'",
            Filter::And(vec![Filter::Not(Box::new(a())), b()]),
        ),
        (
            "not (city eq 'a' or state eq 'b')",
            Filter::Not(Box::new(Filter::Or(vec![a(), b()]))),
        ),
        ("((city eq 'a'))", a()),
        (
            "not not city eq 'a'",
            Filter::Not(Box::new(Filter::Not(Box::new(a())))),
        ),
        (
            "city eq 'a' or not(state eq 'b')",
            Filter::Or(vec![a(), Filter::Not(Box::new(b()))]),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(f(text), want, "{text}");
    }
}

#[test]
fn errors_carry_graphs_texts() {
    use Resource::{Group, User};
    let advanced = |op: &str| format!("Operator '{op}' {ADVANCED_TAIL}");
    let cases: Vec<(&str, Resource, bool, &str, String)> = vec![
        ("displayName ne 'x'", User, false, "Request_UnsupportedQuery", "Filter operator 'NotEqualsMatch' is not supported.".into()),
        ("not(displayName eq 'x')", User, false, "Request_UnsupportedQuery", advanced("not")),
        ("endswith(mail,'x')", User, false, "Request_UnsupportedQuery", advanced("endsWith")),
        ("jobTitle eq null", User, false, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'jobTitle' of resource 'User'.".into()),
        ("companyName eq 'x'", User, false, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'companyName' of resource 'User'.".into()),
        ("userPrincipalName eq null", User, true, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'userPrincipalName' of resource 'User'.".into()),
        ("startswith(userType,'M')", User, true, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'userType' of resource 'User'.".into()),
        ("endswith(displayName,'x')", User, true, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'displayName' of resource 'User'.".into()),
        ("displayName ge 'a'", User, true, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'displayName' of resource 'User'.".into()),
        ("createdDateTime ge 2021-01-01T00:00:00Z", Group, true, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'createdDateTime' of resource 'Group'.".into()),
        ("proxyAddresses/any(p:p eq 'smtp:a@b.test')", User, true, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'proxyAddresses' of resource 'User'.".into()),
        ("assignedLicenses/$count eq 0", User, false, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'assignedLicenses' of resource 'User'.".into()),
        ("assignedPlans/any(p:p/service eq 'exchange')", User, false, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'assignedPlans' of resource 'User'.".into()),
        ("assignedLicenses/all(x:x/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900)", User, true, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'assignedLicenses' of resource 'User'.".into()),
        ("assignedLicenses/any(x:x/disabledPlans/any(p:p eq 6fd2c87f-b296-42f0-b197-1e91e994b900))", User, true, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'assignedLicenses' of resource 'User'.".into()),
        ("groupTypes/any(c:c eq 'Unified')", User, true, "Request_BadRequest", "Could not find a property named 'groupTypes' on type 'microsoft.graph.user'.".into()),
        ("hasMembersWithLicenseErrors eq true", User, true, "Request_BadRequest", "Could not find a property named 'hasMembersWithLicenseErrors' on type 'microsoft.graph.user'.".into()),
        ("securityEnabled eq true", User, true, "Request_BadRequest", "Could not find a property named 'securityEnabled' on type 'microsoft.graph.user'.".into()),
        ("foo eq 'x'", User, true, "Request_BadRequest", "Could not find a property named 'foo' on type 'microsoft.graph.user'.".into()),
        ("mail eq 'x'", Group, true, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'mail' of resource 'Group'.".into()),
        ("displayName eq 5", User, true, "Request_BadRequest", "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Int32' for operator kind 'Equal'.".into()),
        ("accountEnabled eq 'true'", User, true, "Request_BadRequest", "A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'.".into()),
        ("createdDateTime gt 'x'", User, true, "Request_BadRequest", "A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' and 'Edm.String' for operator kind 'GreaterThan'.".into()),
        ("assignedLicenses/any(x:x/skuId eq 'nope')", User, true, "Request_BadRequest", "Cannot convert the literal 'nope' to the expected type 'Edm.Guid'.".into()),
        ("contains(displayName,'a')", User, true, "Request_UnsupportedQuery", "Operator: 'Contains' is not supported.".into()),
        ("frob(displayName,'a')", User, true, "Request_BadRequest", "An unknown function with name 'frob' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed.".into()),
        ("displayName eq 'abc", User, true, "Request_BadRequest", "There is an unterminated string literal at position 15 in 'displayName eq 'abc'.".into()),
        ("displayName eq", User, true, "Request_BadRequest", "Expression expected at position 14 in 'displayName eq'.".into()),
        ("", User, true, "Request_BadRequest", "Expression expected at position 0 in ''.".into()),
        ("displayName eq 'a' 'b'", User, true, "Request_BadRequest", "Syntax error at position 19 in 'displayName eq 'a' 'b''.".into()),
        ("displayName ! 'a'", User, true, "Request_BadRequest", "Syntax error: character '!' is not valid at position 12 in 'displayName ! 'a''.".into()),
        ("(displayName eq 'a'", User, true, "Request_BadRequest", "Expression expected at position 19 in '(displayName eq 'a''.".into()),
        ("displayName", User, true, "Request_BadRequest", "The $filter expression must evaluate to a single boolean value.".into()),
        ("createdDateTime ge 2021-13-45T00:00:00Z", User, true, "Request_BadRequest", "Unrecognized 'Edm.DateTimeOffset' literal '2021-13-45T00:00:00Z' at '19' in 'createdDateTime ge 2021-13-45T00:00:00Z'.".into()),
    ];
    for (text, resource, adv, code, message) in cases {
        let e = err(text, resource, adv);
        assert_eq!(e.status, StatusCode::BAD_REQUEST, "{text}");
        assert_eq!(
            (e.code, e.message.as_str()),
            (code, message.as_str()),
            "{text}"
        );
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = format!(
        "{}displayName eq 'a'{}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    assert_eq!(
        err(&deep, Resource::User, true).status,
        StatusCode::BAD_REQUEST
    );
    let nots = format!("{}displayName eq 'a'", "not ".repeat(5_000));
    assert_eq!(
        err(&nots, Resource::User, true).status,
        StatusCode::BAD_REQUEST
    );
    let deep = format!("{}displayName eq 'a'{}", "(".repeat(100), ")".repeat(100));
    assert_eq!(
        err(&deep, Resource::User, true).status,
        StatusCode::BAD_REQUEST
    );
    let nots = format!("{}displayName eq 'a'", "not ".repeat(100));
    assert_eq!(
        err(&nots, Resource::User, true).status,
        StatusCode::BAD_REQUEST
    );
    let ok = format!("{}displayName eq 'a'{}", "(".repeat(20), ")".repeat(20));
    f(&ok);
}

#[test]
fn query_options_parse_every_option() {
    let q = "$count=true&$filter=assignedLicenses%2Fany%28x%3Ax%2FskuId%20eq%206fd2c87f-b296-42f0-b197-1e91e994b900%29%20and%20usageLocation%20eq%20%27US%27&$orderby=displayName&$select=id,DisplayName,assignedLicenses&$top=5";
    let o = opts(q, true, Resource::User).unwrap();
    assert!(o.count);
    assert_eq!(
        o.select,
        Some(vec![
            "id".into(),
            "displayName".into(),
            "assignedLicenses".into()
        ])
    );
    assert!(!o.expand_members);
    assert_eq!(
        o.query,
        ListQuery {
            filter: Some(Filter::And(vec![
                Filter::HasLicense(vec![sku(E3)]),
                cmp(Field::UsageLocation, Cmp::Eq, s("US")),
            ])),
            search: None,
            order: vec![Order {
                field: Field::DisplayName,
                descending: false
            }],
            after: None,
            limit: 5,
            deleted: false,
        }
    );
    assert_eq!(o.raw.len(), 5);
    assert_eq!(o.raw[2], ("$orderby".into(), "displayName".into()));

    // `+` is a space; %2B is a plus
    let o = opts(
        "$filter=hasMembersWithLicenseErrors+eq+true",
        false,
        Resource::Group,
    )
    .unwrap();
    assert_eq!(
        o.query.filter,
        Some(Filter::HasMembersWithLicenseErrors(true))
    );
    let o = opts("$filter=displayName+eq+%27a%2Bb%27", false, Resource::User).unwrap();
    assert_eq!(
        o.query.filter,
        Some(cmp(Field::DisplayName, Cmp::Eq, s("a+b")))
    );

    // defaults
    let o = QueryOptions::parse(None, false, Resource::DeletedUser).unwrap();
    assert_eq!(o.query.limit, 100);
    assert!(o.query.deleted);
    assert!(!o.count && o.select.is_none() && o.raw.is_empty());

    // $count=true without the header is ignored (and gates nothing)
    let o = opts("$count=true&$top=999", false, Resource::User).unwrap();
    assert!(!o.count);
    assert_eq!(o.query.limit, 999);

    // $skiptoken is the cursor and stays out of raw
    let o = opts("$top=2&$skiptoken=abc-_", false, Resource::User).unwrap();
    assert_eq!(o.query.after.as_deref(), Some("abc-_"));
    assert_eq!(o.raw, vec![("$top".to_string(), "2".to_string())]);

    // $expand=members on groups, with or without nested options
    for e in ["members", "Members", "members($select=id,displayName)"] {
        let o = opts(&format!("$expand={e}"), false, Resource::Group).unwrap();
        assert!(o.expand_members, "{e}");
    }

    // $search needs the header only
    let o = opts(
        "$search=%22displayName:adele%22%20OR%20%22mail:bob%22%20AND%20%22surname:x%22",
        true,
        Resource::User,
    )
    .unwrap();
    assert!(!o.count);
    let term = |field, t: &str| Search::Term {
        field,
        text: t.into(),
    };
    assert_eq!(
        o.query.search,
        Some(Search::Or(vec![
            term(Field::DisplayName, "adele"),
            Search::And(vec![term(Field::Mail, "bob"), term(Field::Surname, "x")]),
        ]))
    );
    let o = opts("$search=\"description:sales team\"", true, Resource::Group).unwrap();
    assert_eq!(o.query.search, Some(term(Field::Description, "sales team")));

    // orderby desc, advanced keys with advanced queries
    let o = opts(
        "$orderby=createdDateTime desc,displayName&$count=true",
        true,
        Resource::User,
    )
    .unwrap();
    assert_eq!(
        o.query.order,
        vec![
            Order {
                field: Field::CreatedDateTime,
                descending: true
            },
            Order {
                field: Field::DisplayName,
                descending: false
            }
        ]
    );
    // non-$ options are ignored but kept for the nextLink
    let o = opts("foo=bar&$top=3", false, Resource::User).unwrap();
    assert_eq!(o.raw[0], ("foo".into(), "bar".into()));
}

#[test]
fn query_option_errors() {
    use Resource::{DeletedUser, Group, User};
    let cases: Vec<(&str, bool, Resource, &str, &str)> = vec![
        ("$top=1000", false, User, "Request_UnsupportedQuery", "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."),
        ("$top=0", false, User, "Request_UnsupportedQuery", "Invalid page size specified: '0'. Must be between 1 and 999 inclusive."),
        ("$top=99999999999999999999", false, User, "Request_UnsupportedQuery", "Invalid page size specified: '99999999999999999999'. Must be between 1 and 999 inclusive."),
        ("$top=-1", false, User, "Request_BadRequest", "Invalid value '-1' for $top query option found. The $top query option requires a non-negative integer value."),
        ("$top=abc", false, User, "Request_BadRequest", "Invalid value 'abc' for $top query option found. The $top query option requires a non-negative integer value."),
        ("$skip=10", false, User, "Request_BadRequest", "'$skip' is not supported by the service."),
        ("$search=%22displayName:a%22", false, User, "Request_UnsupportedQuery", "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"),
        ("$filter=startswith(displayName,'a')&$orderby=displayName", false, User, "Request_UnsupportedQuery", "Sorting not supported for current query."),
        ("$filter=startswith(displayName,'a')&$orderby=displayName", true, User, "Request_UnsupportedQuery", "Sorting not supported for current query."),
        ("$orderby=createdDateTime", false, User, "Request_UnsupportedQuery", "Sorting not supported for current query."),
        ("$orderby=deletedDateTime&$count=true", false, DeletedUser, "Request_UnsupportedQuery", "Sorting not supported for current query."),
        ("$orderby=jobTitle", false, User, "Request_UnsupportedQuery", "Sorting not supported for current query."),
        ("$orderby=nope", false, User, "Request_BadRequest", "Could not find a property named 'nope' on type 'microsoft.graph.user'."),
        ("$orderby=displayName sideways", false, User, "Request_BadRequest", "Syntax error at position 0 in 'displayName sideways'."),
        ("$select=id,nope", false, User, "Request_BadRequest", "Could not find a property named 'nope' on type 'microsoft.graph.user'."),
        ("$select=groupTypes", false, User, "Request_BadRequest", "Could not find a property named 'groupTypes' on type 'microsoft.graph.user'."),
        ("$select=usageLocation", false, Group, "Request_BadRequest", "Could not find a property named 'usageLocation' on type 'microsoft.graph.group'."),
        ("$expand=members", false, User, "Request_BadRequest", "Could not find a property named 'members' on type 'microsoft.graph.user'."),
        ("$expand=manager", false, User, "Request_UnsupportedQuery", "Expanding 'manager' is not supported."),
        ("$expand=owners", false, Group, "Request_UnsupportedQuery", "Expanding 'owners' is not supported."),
        ("$expand=members&$count=true", true, Group, "Request_UnsupportedQuery", "$expand is not supported with advanced queries."),
        ("$count=yes", true, User, "Request_BadRequest", "Invalid value 'yes' for $count query option found. Valid values are 'true' and 'false'."),
        ("$top=1&$TOP=2", false, User, "Request_BadRequest", "Query option '$top' was specified more than once, but it must be specified at most once."),
        ("$levels=2", false, User, "Request_BadRequest", "The query parameter '$levels' is not supported."),
        ("$filter=displayName%20eq%20%27%FF%27", false, User, "Request_BadRequest", "The query string is not valid UTF-8."),
        ("$search=displayName:a", true, User, "Request_BadRequest", "Syntax error: character ':' is not valid at position 11 in 'displayName:a'."),
        ("$search=%22foo%22", true, User, "Request_BadRequest", "Invalid $search clause \"foo\": use \"property:text\"."),
        ("$search=%22jobTitle:x%22", true, User, "Request_UnsupportedQuery", "Unsupported or invalid query search clause specified for property 'jobTitle' of resource 'User'."),
        ("$search=%22displayName:a", true, User, "Request_BadRequest", "There is an unterminated string literal at position 0 in '\"displayName:a'."),
        ("$search=%22displayName:a%22%20AND", true, User, "Request_BadRequest", "Expression expected at position 19 in '\"displayName:a\" AND'."),
    ];
    for (q, eventual, r, code, message) in cases {
        let e = opts_err(q, eventual, r);
        assert!(e.status.is_client_error(), "{q}");
        assert_eq!((e.code, e.message.as_str()), (code, message), "{q}");
    }
}

#[test]
fn advanced_queries_unlock_advanced_operators() {
    let q = "$filter=not(displayName%20eq%20%27a%27)%20and%20endswith(mail,%27@x.test%27)%20and%20companyName%20ne%20null&$count=true";
    assert!(opts(q, false, Resource::User).is_err());
    let o = opts(q, true, Resource::User).unwrap();
    assert!(o.count);
    assert!(matches!(o.query.filter, Some(Filter::And(ref v)) if v.len() == 3));
}

#[test]
fn next_links_repeat_every_option_and_encode_them() {
    let o = opts(
        "$filter=startswith(displayName,%27A%20%26%20B%27)&$select=id,displayName&$top=5&$skiptoken=old&x=%C3%A9",
        false,
        Resource::User,
    )
    .unwrap();
    let link = next_link("https://skuld.test/v1.0/users", &o.raw, "abc_-DEF");
    assert_eq!(
        link,
        "https://skuld.test/v1.0/users?$filter=startswith%28displayName%2C%27A%20%26%20B%27%29&$select=id%2CdisplayName&$top=5&x=%C3%A9&$skiptoken=abc_-DEF"
    );
    // The link parses back to the same options and the new cursor.
    let query = link.split_once('?').unwrap().1;
    let again = QueryOptions::parse(Some(query), false, Resource::User).unwrap();
    assert_eq!(again.raw, o.raw);
    assert_eq!(again.query.filter, o.query.filter);
    assert_eq!(again.query.after.as_deref(), Some("abc_-DEF"));
    assert_eq!(
        next_link("https://h/v1.0/groups", &[], "c"),
        "https://h/v1.0/groups?$skiptoken=c"
    );
}

#[test]
fn count_segment_needs_the_header() {
    assert!(check_count_segment(true).is_ok());
    let e = check_count_segment(false).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        ("Request_BadRequest", "$count is not currently supported.")
    );
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("displayName".to_string()),
        Just("assignedLicenses/any(x:x/skuId eq ".to_string()),
        Just("groupTypes/any(c:c eq 'Unified')".to_string()),
        Just("assignedLicenses/$count".to_string()),
        Just(" eq ".to_string()),
        Just(" ne ".to_string()),
        Just(" in ".to_string()),
        Just(" and ".to_string()),
        Just(" or ".to_string()),
        Just("not ".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(",".to_string()),
        Just("'".to_string()),
        Just("''".to_string()),
        Just("'x'".to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("startswith(".to_string()),
        Just("endswith(".to_string()),
        Just(E3.to_string()),
        Just("2021-01-01T00:00:00Z".to_string()),
        Just("2021-99".to_string()),
        Just("-".to_string()),
        Just("12345678901234567890".to_string()),
        Just("/".to_string()),
        Just(":".to_string()),
        Just("%".to_string()),
        Just("é".to_string()),
        "[ -~]{0,4}",
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn filters_never_panic_and_fail_with_4xx(parts in proptest::collection::vec(fragment(), 0..24)) {
        let text: String = parts.concat();
        for r in [Resource::User, Resource::Group, Resource::DeletedUser] {
            for adv in [false, true] {
                if let Err(e) = parse_filter(&text, r, adv) {
                    prop_assert!(e.status.is_client_error(), "{text}: {e:?}");
                }
            }
        }
    }

    #[test]
    fn raw_query_strings_never_panic(q in "[ -~]{0,80}", eventual in any::<bool>()) {
        for r in [Resource::User, Resource::Group, Resource::DeletedUser] {
            if let Err(e) = QueryOptions::parse(Some(&q), eventual, r) {
                prop_assert!(e.status.is_client_error(), "{q}: {e:?}");
            }
        }
    }

    #[test]
    fn option_names_and_values_never_panic(
        name in prop_oneof![Just("$filter"), Just("$search"), Just("$orderby"), Just("$select"), Just("$expand"), Just("$top"), Just("$count")],
        value in any::<String>(),
    ) {
        let q = format!("{name}={}", utf8_percent_encode(&value, VALUE));
        for r in [Resource::User, Resource::Group] {
            if let Err(e) = QueryOptions::parse(Some(&q), true, r) {
                prop_assert!(e.status.is_client_error(), "{q}: {e:?}");
            }
        }
    }

    #[test]
    fn next_links_round_trip(values in proptest::collection::vec(any::<String>(), 0..4), cursor in "[A-Za-z0-9_-]{1,40}") {
        let raw: Vec<(String, String)> = values.iter().enumerate().map(|(i, v)| (format!("k{i}"), v.clone())).collect();
        let link = next_link("https://h/v1.0/users", &raw, &cursor);
        let (_, query) = link.split_once('?').unwrap();
        let back = decode_query(query).unwrap();
        let mut want = raw.clone();
        want.push(("$skiptoken".into(), cursor.clone()));
        prop_assert_eq!(back, want);
    }
}

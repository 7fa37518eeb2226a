//! Fixtures of the store tests; the backends they run on are in `backends.rs`, which the app
//! crate's tests include too.

pub use crate::backends::for_each_backend;
use skuld_domain::{Tenant, TenantId, Timestamp, UsageLocation, User, UserId, UserType};

// ---- fixtures --------------------------------------------------------------------------------

/// A tenant named `name` with the domains `<name>.test` (default) and `<name>.onmicrosoft.test`,
/// as the store returns it (lowercase domains, sorted).
pub fn tenant(name: &str) -> Tenant {
    let d = name.to_ascii_lowercase();
    Tenant {
        id: TenantId::new(),
        name: name.to_string(),
        domains: vec![format!("{d}.onmicrosoft.test"), format!("{d}.test")],
        default_domain: format!("{d}.test"),
        country: UsageLocation::parse("US").unwrap(),
        created_at: Timestamp(1_700_000_000_000),
    }
}

/// A user with every column filled, so a round trip checks them all.
pub fn user(upn: &str) -> User {
    let alias = upn.split('@').next().unwrap_or(upn);
    User {
        id: UserId::new(),
        upn: upn.to_string(),
        display_name: format!("User {alias}"),
        given_name: Some("Given".into()),
        surname: Some("Surname".into()),
        mail_nickname: alias.to_string(),
        mail: Some(upn.to_string()),
        usage_location: Some(UsageLocation::parse("DE").unwrap()),
        user_type: UserType::Member,
        account_enabled: true,
        job_title: Some("Engineer".into()),
        department: Some("Finance".into()),
        company_name: Some("Contoso".into()),
        employee_id: Some("E-1".into()),
        office_location: Some("B1".into()),
        business_phone: Some("+1 555 0100".into()),
        mobile_phone: Some("+1 555 0101".into()),
        fax: Some("+1 555 0102".into()),
        street_address: Some("1 Main St".into()),
        city: Some("Springfield".into()),
        state: Some("IL".into()),
        postal_code: Some("62701".into()),
        country: Some("United States".into()),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        force_change_password: true,
        created_at: Timestamp(1_700_000_000_123),
        deleted_at: None,
        on_premises_sync_enabled: Some(false),
    }
}

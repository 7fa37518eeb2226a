//! The demo tenant `contoso.test`: a small company whose licensing shows every feature and every
//! error state of the engine at a glance.
//!
//! The demo is built only through the public use cases, as the operator, in the order an admin
//! team would have done it over months. Nothing is written to the store directly, so every error
//! on display is one the engine derived from real operations, and `skuld doctor` finds no drift.

use crate::{
    generate_password, now, Actor, App, AppError, LicenseSpec, NewGroup, NewSubscription, NewUser,
    Result, UserPatch,
};
use skuld_domain::{
    Catalog, GroupKind, Password, PlanId, Subscription, SubscriptionStatus, Tenant, User, UserType,
};

/// What `seed_demo` created.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub tenant: Tenant,
    pub admin_upn: String,
    pub admin_password: String,
    /// Users created, the soft-deleted one included.
    pub users: usize,
    pub groups: usize,
    pub subscriptions: usize,
    /// Users worth a look, with what each one shows: `(upn, explanation)`.
    pub highlights: Vec<(String, String)>,
}

const NAME: &str = "Contoso";
const DOMAIN: &str = "contoso.test";
const COUNTRY: &str = "US";

/// A member of staff: `(alias, given name, surname, department, job title, city, country,
/// has a usage location)`. The usage location, when set, is the country.
#[rustfmt::skip]
type Person = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str, bool);

#[rustfmt::skip]
const ADMIN: Person = ("admin", "Morgan", "Reid", "IT", "IT Administrator", "Seattle", "US", true);

#[rustfmt::skip]
const EXECUTIVES: &[Person] = &[
    ("sarah.mitchell", "Sarah", "Mitchell", "Executive", "Chief Executive Officer", "Seattle", "US", true),
    ("david.chen", "David", "Chen", "Executive", "Chief Financial Officer", "Seattle", "US", true),
    ("james.okafor", "James", "Okafor", "Executive", "Chief Revenue Officer", "New York", "US", true),
];

/// Sales joins its E5 group in this order; seats run out after the fifth.
#[rustfmt::skip]
const SALES_FIRST: &[Person] = &[
    ("olivia.martin", "Olivia", "Martin", "Sales", "Sales Director", "New York", "US", true),
    ("liam.johnson", "Liam", "Johnson", "Sales", "Account Executive", "Chicago", "US", true),
    ("ava.thompson", "Ava", "Thompson", "Sales", "Account Executive", "Boston", "US", true),
    ("noah.garcia", "Noah", "Garcia", "Sales", "Sales Development Representative", "Austin", "US", true),
    ("jordan.price", "Jordan", "Price", "Sales", "Account Executive", "Denver", "US", true),
    ("lucas.schmidt", "Lucas", "Schmidt", "Sales", "Account Manager", "Berlin", "DE", true),
];

#[rustfmt::skip]
const SALES_LATER: &[Person] = &[
    ("emma.wilson", "Emma", "Wilson", "Sales", "Account Manager", "London", "GB", true),
    ("chloe.dubois", "Chloé", "Dubois", "Sales", "Account Manager", "Paris", "FR", true),
    ("mia.robinson", "Mia", "Robinson", "Sales", "Sales Operations Analyst", "Atlanta", "US", false),
    ("hadi.rahman", "Hadi", "Rahman", "Sales", "Regional Sales Manager", "Bandar Seri Begawan", "BN", true),
];

#[rustfmt::skip]
const ENGINEERING: &[Person] = &[
    ("ethan.walker", "Ethan", "Walker", "Engineering", "Principal Software Engineer", "Seattle", "US", true),
    ("sophia.kim", "Sophia", "Kim", "Engineering", "Engineering Manager", "Seattle", "US", true),
    ("isabella.nguyen", "Isabella", "Nguyen", "Engineering", "Software Engineer", "Seattle", "US", true),
    ("mason.patel", "Mason", "Patel", "Engineering", "Site Reliability Engineer", "Denver", "US", true),
    ("oliver.bennett", "Oliver", "Bennett", "Engineering", "Software Engineer", "Manchester", "GB", true),
    ("hannah.mueller", "Hannah", "Müller", "Engineering", "QA Engineer", "Munich", "DE", true),
    ("leo.fontaine", "Léo", "Fontaine", "Engineering", "Data Engineer", "Lyon", "FR", true),
    ("grace.lee", "Grace", "Lee", "Engineering", "Software Engineer", "Portland", "US", false),
];

/// Leaves the Engineering group after getting Audio Conferencing directly (D12).
#[rustfmt::skip]
const PRIYA: Person = ("priya.sharma", "Priya", "Sharma", "Engineering", "Solutions Engineer", "San Francisco", "US", true);

/// The dynamic Finance group picks these up by department.
#[rustfmt::skip]
const FINANCE: &[Person] = &[
    ("benjamin.clark", "Benjamin", "Clark", "Finance", "Financial Controller", "Seattle", "US", true),
    ("charlotte.lewis", "Charlotte", "Lewis", "Finance", "Financial Analyst", "Seattle", "US", true),
    ("william.turner", "William", "Turner", "Finance", "Accountant", "London", "GB", true),
    ("amelia.scott", "Amelia", "Scott", "Finance", "Payroll Specialist", "Phoenix", "US", false),
];

/// Transferred from Support to Finance with his direct E1 still assigned.
#[rustfmt::skip]
const DANIEL: Person = ("daniel.reyes", "Daniel", "Reyes", "Support", "Accounts Payable Specialist", "Dallas", "US", true);

#[rustfmt::skip]
const MARKETING: &[Person] = &[
    ("zoe.adams", "Zoe", "Adams", "Marketing", "Marketing Manager", "New York", "US", true),
    ("ryan.cooper", "Ryan", "Cooper", "Marketing", "Content Strategist", "Chicago", "US", true),
    ("lily.evans", "Lily", "Evans", "Marketing", "Brand Designer", "London", "GB", true),
    ("nathan.brooks", "Nathan", "Brooks", "Marketing", "Digital Marketing Specialist", "Austin", "US", true),
    ("camille.laurent", "Camille", "Laurent", "Marketing", "Marketing Coordinator", "Paris", "FR", true),
];

#[rustfmt::skip]
const SUPPORT: &[Person] = &[
    ("ella.morgan", "Ella", "Morgan", "Support", "Support Team Lead", "Dallas", "US", true),
    ("jacob.hughes", "Jacob", "Hughes", "Support", "Support Engineer", "Dallas", "US", true),
    ("sofia.rossi", "Sofia", "Rossi", "Support", "Support Engineer", "Edinburgh", "GB", true),
    ("tom.becker", "Tom", "Becker", "Support", "Support Engineer", "Hamburg", "DE", true),
    ("aiden.murphy", "Aiden", "Murphy", "Support", "Support Specialist", "Dallas", "US", false),
];

#[rustfmt::skip]
const HR: &[Person] = &[
    ("natalie.foster", "Natalie", "Foster", "HR", "HR Director", "Seattle", "US", true),
    ("samuel.wright", "Samuel", "Wright", "HR", "HR Generalist", "Seattle", "US", true),
    ("ruby.collins", "Ruby", "Collins", "HR", "Recruiter", "London", "GB", true),
];

/// B2B guests: `(upn, given name, surname, company, usage location)`.
#[rustfmt::skip]
const GUESTS: &[(&str, &str, &str, &str, Option<&str>)] = &[
    ("jane_fabrikam.com#EXT#@contoso.test", "Jane", "Doe", "Fabrikam", None),
    ("raj_northwindtraders.com#EXT#@contoso.test", "Raj", "Iyer", "Northwind Traders", Some("GB")),
    ("marta_adatum.com#EXT#@contoso.test", "Marta", "Nowak", "Adatum", None),
    ("ken_tailspintoys.com#EXT#@contoso.test", "Ken", "Sato", "Tailspin Toys", Some("US")),
];

/// The guest licensed directly (only a Global Administrator may, B1).
const LICENSED_GUEST: &str = "raj_northwindtraders.com#EXT#@contoso.test";

fn country_name(code: &str) -> &'static str {
    match code {
        "US" => "United States",
        "GB" => "United Kingdom",
        "DE" => "Germany",
        "FR" => "France",
        "BN" => "Brunei",
        _ => "",
    }
}

fn upn(alias: &str) -> String {
    format!("{alias}@{DOMAIN}")
}

fn new_person(p: &Person, password: Option<String>) -> NewUser {
    let (alias, given, surname, dept, title, city, country, located) = *p;
    NewUser {
        upn: upn(alias),
        display_name: format!("{given} {surname}"),
        given_name: Some(given.into()),
        surname: Some(surname.into()),
        usage_location: located.then(|| country.to_string()),
        user_type: UserType::Member,
        account_enabled: true,
        job_title: Some(title.into()),
        department: Some(dept.into()),
        company_name: Some(NAME.into()),
        office_location: Some(format!("{city} office")),
        city: Some(city.into()),
        country: Some(country_name(country).into()),
        password,
        ..NewUser::default()
    }
}

/// Every license the demo assigns, resolved from the catalog before anything is created.
struct Licenses {
    e1: LicenseSpec,
    /// Office 365 E1 without Viva Engage and Sway, as Support has it.
    e1_support: LicenseSpec,
    e3: LicenseSpec,
    /// Office 365 E3 without Sway and Kaizala, as the Finance group assigns it.
    e3_finance: LicenseSpec,
    /// Office 365 E3 without Viva Engage and Kaizala, as HR has it.
    e3_hr: LicenseSpec,
    e5: LicenseSpec,
    ems: LicenseSpec,
    p1: LicenseSpec,
    p2: LicenseSpec,
    spb: LicenseSpec,
    audio: LicenseSpec,
    power_bi: LicenseSpec,
}

impl Licenses {
    fn resolve(catalog: &Catalog) -> Result<Self> {
        // A product or plan missing here is a defect of the shipped catalog data.
        let spec = |part: &str, disabled: &[&str]| -> Result<LicenseSpec> {
            let product = catalog
                .find_product(part)
                .ok_or_else(|| AppError::Corrupt(format!("the catalog has no product {part}")))?;
            let disabled_plans = disabled
                .iter()
                .map(|name| {
                    catalog.find_plan_in(product, name).ok_or_else(|| {
                        AppError::Corrupt(format!("product {part} has no service plan {name}"))
                    })
                })
                .collect::<Result<Vec<PlanId>>>()?;
            Ok(LicenseSpec {
                sku: product.sku_id,
                disabled_plans,
            })
        };
        Ok(Self {
            e1: spec("STANDARDPACK", &[])?,
            e1_support: spec("STANDARDPACK", &["YAMMER_ENTERPRISE", "SWAY"])?,
            e3: spec("ENTERPRISEPACK", &[])?,
            e3_finance: spec("ENTERPRISEPACK", &["SWAY", "KAIZALA_O365_P3"])?,
            e3_hr: spec("ENTERPRISEPACK", &["YAMMER_ENTERPRISE", "KAIZALA_O365_P3"])?,
            e5: spec("ENTERPRISEPREMIUM", &[])?,
            ems: spec("EMS", &[])?,
            p1: spec("AAD_PREMIUM", &[])?,
            p2: spec("AAD_PREMIUM_P2", &[])?,
            spb: spec("SPB", &[])?,
            audio: spec("MCOMEETADV", &[])?,
            power_bi: spec("POWER_BI_PRO", &[])?,
        })
    }
}

/// Keeps the seeding code short: the tenant, the operator and the running counts.
struct Seeder<'a> {
    app: &'a App,
    tenant: Tenant,
    op: Actor,
    users: usize,
    groups: usize,
    subscriptions: usize,
    highlights: Vec<(String, String)>,
}

impl Seeder<'_> {
    async fn create(&mut self, n: NewUser) -> Result<User> {
        let (u, _) = self.app.create_user(&self.tenant, n, &self.op).await?;
        self.users += 1;
        Ok(u)
    }

    async fn group(&mut self, n: NewGroup) -> Result<String> {
        let g = self.app.create_group(&self.tenant, n, &self.op).await?;
        self.groups += 1;
        Ok(g.id.to_string())
    }

    async fn subscribe(
        &mut self,
        license: &LicenseSpec,
        units: i64,
        term_days: i64,
    ) -> Result<Subscription> {
        let sub = self
            .app
            .add_subscription(
                &self.tenant,
                NewSubscription {
                    sku: license.sku,
                    units,
                    status: SubscriptionStatus::Enabled,
                    is_trial: false,
                    self_service_owner: None,
                    next_lifecycle_at: Some(now().plus_days(term_days)),
                },
                &self.op,
            )
            .await?;
        self.subscriptions += 1;
        Ok(sub)
    }

    async fn join(&self, group: &str, member: &str) -> Result<()> {
        self.app
            .add_member(&self.tenant, group, member, &self.op)
            .await
    }

    async fn license_group(&self, group: &str, spec: &LicenseSpec) -> Result<()> {
        self.app
            .group_assign_license(
                &self.tenant,
                group,
                std::slice::from_ref(spec),
                &[],
                &self.op,
            )
            .await?;
        Ok(())
    }

    async fn license_user(&self, user: &str, spec: &LicenseSpec) -> Result<()> {
        self.app
            .assign_license(
                &self.tenant,
                user,
                std::slice::from_ref(spec),
                &[],
                &self.op,
            )
            .await?;
        Ok(())
    }

    fn note(&mut self, user: &str, what: impl Into<String>) {
        self.highlights.push((user.to_string(), what.into()));
    }
}

fn security_group(name: &str, description: &str) -> NewGroup {
    NewGroup {
        display_name: name.into(),
        description: Some(description.into()),
        kind: GroupKind::Security,
        security_enabled: true,
        ..NewGroup::default()
    }
}

fn dynamic_group(name: &str, description: &str, rule: &str) -> NewGroup {
    NewGroup {
        membership_rule: Some(rule.into()),
        ..security_group(name, description)
    }
}

impl App {
    /// Seeds tenant "Contoso" with domain contoso.test (country US): subscriptions with a few
    /// dozen seats, ~45 users, static, nested and dynamic groups with licenses, and at least one
    /// user in each license error state. The admin `admin@contoso.test` gets `admin_password`,
    /// or a generated one. Refused when a tenant with domain contoso.test exists.
    pub async fn seed_demo(&self, admin_password: Option<String>) -> Result<DemoSummary> {
        match self.tenant(DOMAIN).await {
            Ok(_) => {
                return Err(AppError::BadRequest(format!(
                    "the demo tenant {DOMAIN} already exists"
                )))
            }
            Err(AppError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        // Checked before anything is created, so a bad password leaves no half-made tenant.
        let admin_password = match admin_password {
            Some(p) => {
                Password::parse(&p).map_err(|e| AppError::BadRequest(e.to_string()))?;
                p
            }
            None => generate_password(),
        };
        let lic = Licenses::resolve(&Catalog::microsoft())?;
        let tenant = self.create_tenant(NAME, DOMAIN, COUNTRY).await?;
        let mut s = Seeder {
            app: self,
            tenant,
            op: Actor::Operator,
            users: 0,
            groups: 0,
            subscriptions: 0,
            highlights: Vec::new(),
        };

        // --- Subscriptions: small seat counts so that shortages show. ---------------------------
        s.subscribe(&lic.e1, 8, 210).await?;
        s.subscribe(&lic.e3, 20, 240).await?;
        let e5_sub = s.subscribe(&lic.e5, 5, 240).await?;
        s.subscribe(&lic.ems, 45, 240).await?;
        s.subscribe(&lic.p1, 5, 150).await?;
        s.subscribe(&lic.p2, 5, 150).await?;
        // Its term ends today; it moves to Warning (grace) at the end: the renewal was missed.
        let spb_sub = s.subscribe(&lic.spb, 5, 0).await?;
        s.subscribe(&lic.audio, 5, 300).await?;

        // --- Groups, licensed before anybody joins. ----------------------------------------------
        let all_staff = s
            .group(security_group(
                "All Staff",
                "Every employee; department groups are nested in it",
            ))
            .await?;
        let sales = s
            .group(security_group("Sales", "Sales team: Office 365 E5"))
            .await?;
        let engineering = s
            .group(security_group(
                "Engineering",
                "Engineering team: Office 365 E3",
            ))
            .await?;
        let support = s
            .group(security_group(
                "Support",
                "Support team, licensed directly with Office 365 E1",
            ))
            .await?;
        let finance = s
            .group(dynamic_group(
                "Finance",
                "Everybody in the Finance department: Office 365 E3",
                r#"user.department -eq "Finance""#,
            ))
            .await?;
        let marketing = s
            .group(dynamic_group(
                "Marketing",
                "Everybody in the Marketing department: Microsoft 365 Business Premium",
                r#"user.department -eq "Marketing""#,
            ))
            .await?;
        let guests = s
            .group(dynamic_group(
                "External Guests",
                "Every B2B guest: Microsoft Entra ID P1",
                r#"user.userType -eq "Guest""#,
            ))
            .await?;
        let executives = s
            .group(NewGroup {
                license_priority: 10,
                ..security_group(
                    "Executives",
                    "Leadership team: Office 365 E5, first in line for seats (priority 10)",
                )
            })
            .await?;
        let privileged = s
            .group(security_group(
                "Privileged Access",
                "Admins and leads who need Entra ID P2 (PIM, Identity Protection)",
            ))
            .await?;
        let social = s
            .group(NewGroup {
                display_name: "Contoso Social Club".into(),
                description: Some(
                    "Microsoft 365 group for after-work events; not security-enabled, so it cannot carry licenses"
                        .into(),
                ),
                kind: GroupKind::Microsoft365,
                security_enabled: false,
                mail_enabled: true,
                ..NewGroup::default()
            })
            .await?;
        for child in [&sales, &engineering, &support, &finance, &marketing] {
            s.join(&all_staff, child).await?;
        }
        s.license_group(&all_staff, &lic.ems).await?;
        s.license_group(&sales, &lic.e5).await?;
        s.license_group(&executives, &lic.e5).await?;
        s.license_group(&engineering, &lic.e3).await?;
        s.license_group(&finance, &lic.e3_finance).await?;
        s.license_group(&marketing, &lic.spb).await?;
        s.license_group(&guests, &lic.p1).await?;
        s.license_group(&privileged, &lic.p2).await?;

        // --- The admin. ---------------------------------------------------------------------------
        let admin_upn = upn(ADMIN.0);
        s.create(new_person(&ADMIN, Some(admin_password.clone())))
            .await?;
        self.add_role(
            &s.tenant,
            &admin_upn,
            skuld_domain::DirectoryRole::GlobalAdministrator,
            &s.op,
        )
        .await?;
        s.license_user(&admin_upn, &lic.e3).await?;
        s.join(&all_staff, &admin_upn).await?;
        s.join(&privileged, &admin_upn).await?;

        // --- Staff and guests. Dynamic groups (Finance, Marketing, External Guests) pick them up
        // as they are created.
        let mut people: Vec<NewUser> = EXECUTIVES
            .iter()
            .chain(SALES_FIRST)
            .chain(SALES_LATER)
            .chain(ENGINEERING)
            .chain([&PRIYA])
            .chain(FINANCE)
            .chain([&DANIEL])
            .chain(MARKETING)
            .chain(SUPPORT)
            .chain(HR)
            .map(|p| new_person(p, None))
            .collect();
        for (guest_upn, given, surname, company, location) in GUESTS {
            people.push(NewUser {
                upn: guest_upn.to_string(),
                display_name: format!("{given} {surname} ({company})"),
                given_name: Some(given.to_string()),
                surname: Some(surname.to_string()),
                usage_location: location.map(str::to_string),
                user_type: UserType::Guest,
                account_enabled: true,
                company_name: Some(company.to_string()),
                ..NewUser::default()
            });
        }
        for n in people {
            s.create(n).await?;
        }
        s.note(
            "jane_fabrikam.com#EXT#@contoso.test",
            "guest without usage location: Entra ID P1 from the dynamic group External Guests, using the tenant's country (D6)",
        );

        for p in ENGINEERING {
            s.join(&engineering, &upn(p.0)).await?;
        }
        s.note(
            "grace.lee@contoso.test",
            "no usage location: Office 365 E3 from group Engineering still applies with the tenant's country US (D6)",
        );
        s.note(
            "isabella.nguyen@contoso.test",
            "EMS E3 through the nested path Engineering → All Staff (D2)",
        );
        for &(alias, .., located) in SUPPORT {
            let u = upn(alias);
            s.join(&support, &u).await?;
            // A direct license needs the user's own usage location (D6).
            if located {
                s.license_user(&u, &lic.e1_support).await?;
            }
        }
        s.license_user("ella.morgan@contoso.test", &lic.audio)
            .await?;
        s.note(
            "aiden.murphy@contoso.test",
            "no usage location, so no direct license can be assigned; EMS E3 still comes from All Staff (D6)",
        );
        for p in HR {
            let u = upn(p.0);
            s.join(&all_staff, &u).await?;
            s.license_user(&u, &lic.e3_hr).await?;
        }
        s.note(
            "samuel.wright@contoso.test",
            "direct Office 365 E3 with Viva Engage and Kaizala turned off",
        );
        for p in EXECUTIVES {
            s.join(&all_staff, &upn(p.0)).await?;
        }

        // --- E5: Sales runs out of seats, Executives jump the queue, a leaver frees a seat. -----
        for p in SALES_FIRST {
            s.join(&sales, &upn(p.0)).await?;
        }
        for p in EXECUTIVES {
            s.join(&executives, &upn(p.0)).await?;
        }
        // Three more seats bought: the waiting Executives (priority 10) get them before
        // lucas.schmidt, who has waited longer (D4).
        s.app
            .set_seats(&s.tenant, e5_sub.id, 8, false, &s.op)
            .await?;
        s.note(
            "sarah.mitchell@contoso.test",
            "Office 365 E5 from group Executives (license priority 10): got one of the seats bought later before Sales members who had waited longer (D4)",
        );
        // A leaver: the seat goes to the Sales member who waited longest (D3, D7).
        s.app
            .delete_user(&s.tenant, "jordan.price@contoso.test", &s.op)
            .await?;
        s.note(
            "jordan.price@contoso.test",
            "soft-deleted leaver: his license paths stay, Disabled, and his seats were released (D7)",
        );
        s.note(
            "lucas.schmidt@contoso.test",
            "waited for an Office 365 E5 seat in CountViolation and took the seat jordan.price released, without a reprocess (D3)",
        );
        for p in SALES_LATER {
            s.join(&sales, &upn(p.0)).await?;
        }
        s.note(
            "chloe.dubois@contoso.test",
            "CountViolation: Office 365 E5 from group Sales is out of seats; she gets one as soon as one is free",
        );
        s.note(
            "emma.wilson@contoso.test",
            "CountViolation: waiting for an Office 365 E5 seat (group Sales)",
        );
        s.note(
            "mia.robinson@contoso.test",
            "CountViolation while also having no usage location: the group path uses the tenant's country",
        );
        s.note(
            "hadi.rahman@contoso.test",
            "ProhibitedInUsageLocationViolation: Office 365 E5 (group Sales) contains Teams Phone and Audio Conferencing, not available in BN",
        );

        // --- Entra ID P2 for admins and leads. -----------------------------------------------------
        for u in [
            "ethan.walker@contoso.test",
            "sophia.kim@contoso.test",
            "natalie.foster@contoso.test",
        ] {
            s.join(&privileged, u).await?;
        }
        s.license_user("sophia.kim@contoso.test", &lic.audio)
            .await?;

        // --- D12: Audio Conferencing needs Skype for Business from E3; she leaves Engineering. ----
        let priya = upn(PRIYA.0);
        s.join(&engineering, &priya).await?;
        s.join(&all_staff, &priya).await?;
        s.license_user(&priya, &lic.audio).await?;
        s.app
            .remove_member(&s.tenant, &engineering, &priya, &s.op)
            .await?;
        s.note(
            &priya,
            "DependencyViolation: removed from Engineering, but her direct Audio Conferencing needs Skype for Business Online (Plan 2), so the E3 path from Engineering stays ActiveWithError (D12)",
        );

        // --- Conflict: a direct E1 holder moves into Finance, whose group assigns E3. ------------
        let daniel = upn(DANIEL.0);
        s.license_user(&daniel, &lic.e1_support).await?;
        s.app
            .update_user(
                &s.tenant,
                &daniel,
                UserPatch {
                    department: Some(Some("Finance".into())),
                    ..UserPatch::default()
                },
                &s.op,
            )
            .await?;
        s.note(
            &daniel,
            "MutuallyExclusiveViolation: moved to Finance with his direct Office 365 E1; the E3 from the dynamic group Finance conflicts (SharePoint Plan 1 vs Plan 2)",
        );

        // --- A guest licensed directly, by a Global Administrator (B1). ---------------------------
        s.license_user(LICENSED_GUEST, &lic.e1).await?;
        s.note(
            LICENSED_GUEST,
            "guest with a direct Office 365 E1 (only a Global Administrator may license guests directly)",
        );

        // --- Self-service purchase: admins cannot assign or remove it until taken over (D9). ----
        s.app
            .add_subscription(
                &s.tenant,
                NewSubscription {
                    sku: lic.power_bi.sku,
                    units: 1,
                    status: SubscriptionStatus::Enabled,
                    is_trial: false,
                    self_service_owner: Some("charlotte.lewis@contoso.test".into()),
                    next_lifecycle_at: Some(now().plus_days(330)),
                },
                &s.op,
            )
            .await?;
        s.subscriptions += 1;
        s.note(
            "charlotte.lewis@contoso.test",
            "bought Power BI Pro herself (self-service purchase, D9)",
        );

        // --- Business Premium was not renewed: grace period, 20 days left (D8). -----------------
        s.app
            .set_subscription_status(
                &s.tenant,
                spb_sub.id,
                SubscriptionStatus::Warning,
                Some(now().plus_days(20)),
                &s.op,
            )
            .await?;
        s.note(
            "zoe.adams@contoso.test",
            "Microsoft 365 Business Premium from the dynamic group Marketing; the subscription is in its grace period (Warning) for 20 more days",
        );

        // --- A group that cannot carry licenses. --------------------------------------------------
        for u in [
            "olivia.martin@contoso.test",
            "zoe.adams@contoso.test",
            "ethan.walker@contoso.test",
            "ruby.collins@contoso.test",
        ] {
            s.join(&social, u).await?;
        }

        Ok(DemoSummary {
            tenant: s.tenant,
            admin_upn,
            admin_password,
            users: s.users,
            groups: s.groups,
            subscriptions: s.subscriptions,
            highlights: s.highlights,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{verify_password, UserView};
    use skuld_domain::{LicenseError, PathStatus};
    use std::collections::BTreeMap;

    async fn app(dir: &tempfile::TempDir) -> App {
        App::open(&format!("{}/t.db", dir.path().display()))
            .await
            .unwrap()
    }

    /// The one path of `part` from `source` ("Direct" or a group's name).
    fn path<'v>(v: &'v UserView, part: &str, source: &str) -> &'v crate::PathView {
        v.licenses
            .iter()
            .find(|l| l.part_number == part)
            .and_then(|l| l.paths.iter().find(|p| p.source == source))
            .unwrap_or_else(|| panic!("{} has no {part} path from {source}: {v:#?}", v.user.upn))
    }

    fn holds(v: &UserView, part: &str) -> bool {
        v.licenses.iter().any(|l| l.part_number == part && l.held)
    }

    #[tokio::test]
    async fn demo_shows_every_error_state_through_real_operations_without_drift() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(&dir).await;
        let sum = app.seed_demo(None).await.unwrap();
        let t = &sum.tenant;
        assert_eq!(t.default_domain, "contoso.test");
        assert_eq!(t.country.as_str(), "US");
        assert!((35..=45).contains(&sum.users), "{} users", sum.users);
        assert_eq!(sum.groups, 10);
        assert_eq!(sum.subscriptions, 9);

        // Every error state appears, somewhere, on live users.
        let users = app.users(t, false, 1000, 0).await.unwrap();
        assert_eq!(users.len(), sum.users - 1);
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for u in &users {
            let v = app.user_view(t, &u.upn).await.unwrap();
            for l in &v.licenses {
                for p in &l.paths {
                    seen.entry(p.error.to_string())
                        .or_default()
                        .push(format!("{} {} {}", u.upn, l.part_number, p.source));
                }
            }
        }
        for e in [
            LicenseError::CountViolation,
            LicenseError::MutuallyExclusiveViolation,
            LicenseError::DependencyViolation,
            LicenseError::ProhibitedInUsageLocationViolation,
        ] {
            assert!(seen.contains_key(e.as_str()), "no {e} in {seen:#?}");
        }

        // Each highlighted user shows what the summary says.
        let v = app.user_view(t, "chloe.dubois@contoso.test").await.unwrap();
        let p = path(&v, "ENTERPRISEPREMIUM", "Sales");
        assert_eq!(
            (p.state, p.error),
            (PathStatus::Error, LicenseError::CountViolation)
        );
        let v = app.user_view(t, "daniel.reyes@contoso.test").await.unwrap();
        let p = path(&v, "ENTERPRISEPACK", "Finance");
        assert_eq!(p.error, LicenseError::MutuallyExclusiveViolation);
        assert!(holds(&v, "STANDARDPACK"));
        assert!(!holds(&v, "ENTERPRISEPACK"));
        let v = app.user_view(t, "priya.sharma@contoso.test").await.unwrap();
        let p = path(&v, "ENTERPRISEPACK", "Engineering");
        assert_eq!(
            (p.state, p.error, p.applied),
            (
                PathStatus::ActiveWithError,
                LicenseError::DependencyViolation,
                true
            )
        );
        assert!(holds(&v, "MCOMEETADV"));
        assert!(!v.groups.iter().any(|(g, _)| g == "Engineering"));
        let v = app.user_view(t, "hadi.rahman@contoso.test").await.unwrap();
        let p = path(&v, "ENTERPRISEPREMIUM", "Sales");
        assert_eq!(p.error, LicenseError::ProhibitedInUsageLocationViolation);
        assert!(
            holds(&v, "EMS"),
            "the nested EMS path has no BN restriction"
        );

        // D2: a member of Sales is licensed by All Staff through the nesting.
        let v = app.user_view(t, "liam.johnson@contoso.test").await.unwrap();
        let p = path(&v, "EMS", "All Staff");
        assert_eq!((p.state, p.applied), (PathStatus::Active, true));
        assert!(v.groups.contains(&("All Staff".to_string(), false)));
        let all = app.group_view(t, "All Staff").await.unwrap();
        assert_eq!(all.member_groups.len(), 5);
        assert!(all.transitive_users > all.member_users + 30);
        assert!(all.licensed_users > 30, "{all:#?}");

        // D4 and D3: Executives got the later seats first; lucas took the leaver's seat.
        for u in [
            "sarah.mitchell",
            "david.chen",
            "james.okafor",
            "lucas.schmidt",
        ] {
            let v = app
                .user_view(t, &format!("{u}@contoso.test"))
                .await
                .unwrap();
            assert!(holds(&v, "ENTERPRISEPREMIUM"), "{u}: {v:#?}");
        }
        let sales = app.group_view(t, "Sales").await.unwrap();
        let waiting = sales
            .errors
            .iter()
            .filter(|e| e.2 == "CountViolation")
            .count();
        assert_eq!(waiting, 3, "{:#?}", sales.errors);

        // D6: group paths use the tenant's country for users without one.
        let v = app.user_view(t, "grace.lee@contoso.test").await.unwrap();
        assert!(v.user.usage_location.is_none());
        assert!(holds(&v, "ENTERPRISEPACK"));
        let v = app
            .user_view(t, "jane_fabrikam.com#EXT#@contoso.test")
            .await
            .unwrap();
        assert_eq!(v.user.user_type, UserType::Guest);
        assert!(holds(&v, "AAD_PREMIUM"));

        // The guest licensed directly, and direct licenses with disabled plans.
        let v = app.user_view(t, LICENSED_GUEST).await.unwrap();
        assert_eq!(path(&v, "STANDARDPACK", "Direct").state, PathStatus::Active);
        let v = app
            .user_view(t, "samuel.wright@contoso.test")
            .await
            .unwrap();
        assert_eq!(path(&v, "ENTERPRISEPACK", "Direct").disabled_plans.len(), 2);

        // The soft-deleted leaver keeps his paths, Disabled, without seats.
        let deleted = app.users(t, true, 1000, 0).await.unwrap();
        assert_eq!(deleted.len(), 1);
        let v = app.user_view(t, &deleted[0].id.to_string()).await.unwrap();
        assert!(!v.licenses.is_empty());
        assert!(v
            .licenses
            .iter()
            .flat_map(|l| &l.paths)
            .all(|p| p.state == PathStatus::Disabled && !p.applied));

        // Seats: E5 exactly full, nothing over-allocated, grace and self-service shown.
        let rows = app.sku_rows(t).await.unwrap();
        let row = |part: &str| rows.iter().find(|r| r.part_number == part).unwrap();
        assert_eq!(
            (
                row("ENTERPRISEPREMIUM").total,
                row("ENTERPRISEPREMIUM").assigned
            ),
            (8, 8)
        );
        assert!(rows.iter().all(|r| r.assigned <= r.total), "{rows:#?}");
        assert!(rows.iter().all(|r| r.total <= 45), "{rows:#?}");
        assert_eq!(row("SPB").status, "Warning");
        assert_eq!(row("SPB").expiring_soon, 5);
        assert!(row("POWER_BI_PRO").self_service);
        assert_eq!(row("POWER_BI_PRO").assigned, 1);

        // The admin signs in with the password handed out.
        let admin = app.user(t, &sum.admin_upn).await.unwrap();
        assert_eq!(sum.admin_upn, "admin@contoso.test");
        assert!(verify_password(
            admin.password_hash.as_deref().unwrap(),
            &sum.admin_password
        ));
        for (u, _) in &sum.highlights {
            assert!(
                app.user_view(t, u).await.is_ok(),
                "highlighted user {u} does not exist"
            );
        }

        // Derived state equals what the engine recomputes from intent.
        let doc = app.doctor(t).await.unwrap();
        assert_eq!(doc.drift, 0, "{:#?}", doc.details);
        assert_eq!(doc.users, sum.users);
    }

    #[tokio::test]
    async fn seeding_twice_is_refused_and_a_given_password_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(&dir).await;
        let bad = app.seed_demo(Some("short".into())).await.unwrap_err();
        assert!(matches!(bad, AppError::BadRequest(_)), "{bad:?}");
        assert!(
            app.tenants().await.unwrap().is_empty(),
            "a bad password leaves nothing behind"
        );

        let sum = app.seed_demo(Some("Demo-Pass-2024".into())).await.unwrap();
        assert_eq!(sum.admin_password, "Demo-Pass-2024");
        let admin = app.user(&sum.tenant, "admin@contoso.test").await.unwrap();
        assert!(verify_password(
            admin.password_hash.as_deref().unwrap(),
            "Demo-Pass-2024"
        ));
        let again = app.seed_demo(None).await.unwrap_err();
        match again {
            AppError::BadRequest(m) => {
                assert_eq!(m, "the demo tenant contoso.test already exists")
            }
            e => panic!("unexpected {e:?}"),
        }
        assert_eq!(app.tenants().await.unwrap().len(), 1);
    }
}

//! The raw command line (clap derive). Resolution of database URLs and tenants happens in
//! `main`, side effects in `commands`.

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "skuld",
    version,
    about = "A self-hosted license directory with Microsoft 365 / Entra ID licensing semantics"
)]
pub struct Cli {
    /// Database: a SQLite file path (default ./skuld.db), sqlite://path or postgres://…
    #[arg(long, global = true, env = "SKULD_DB")]
    pub db: Option<String>,
    /// Machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Tenant id, name or domain (may be omitted when there is only one).
    #[arg(long, global = true, env = "SKULD_TENANT")]
    pub tenant: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

// One value per run: the size difference between commands does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the database and apply migrations.
    Init,
    /// Seed the demo tenant contoso.test and print its product table.
    Demo {
        /// Password of the demo admin (generated when omitted).
        #[arg(long)]
        admin_password: Option<String>,
    },
    /// Tenants.
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Users.
    #[command(subcommand)]
    User(UserCmd),
    /// Groups, members and group licenses.
    #[command(subcommand)]
    Group(GroupCmd),
    /// Products the tenant owns.
    #[command(subcommand)]
    Sku(SkuCmd),
    /// Subscriptions (seats).
    #[command(subcommand)]
    Subscription(SubscriptionCmd),
    /// Direct license assignment for one or many users.
    #[command(subcommand)]
    License(LicenseCmd),
    /// The tenant's own products (beside Microsoft's catalog).
    #[command(subcommand)]
    Product(ProductCmd),
    /// Directory roles.
    #[command(subcommand)]
    Role(RoleCmd),
    /// Recent audit events.
    Audit {
        #[arg(long, default_value_t = 30)]
        limit: i64,
    },
    /// Recompute derived state from intent and report drift (exit 1 on drift).
    Doctor,
    /// Serve the Microsoft Graph v1.0 API (and the token endpoint) over HTTP and HTTPS.
    Serve(ServeArgs),
    /// App registrations: client credentials for the Graph API.
    #[command(subcommand)]
    App(AppCmd),
    /// Benchmarks against the architecture targets (on a temporary database unless --db).
    #[command(subcommand)]
    Bench(BenchCmd),
    /// Background jobs (group license changes): their state, failures and retries.
    #[command(subcommand)]
    Job(JobCmd),
}

#[derive(Subcommand, Debug)]
pub enum JobCmd {
    /// Jobs not complete (queued, running, failed); with --all also the complete ones.
    List {
        #[arg(long)]
        all: bool,
    },
    /// Queue a failed job again (with a fresh count of attempts) and run it now.
    Retry {
        /// The job id (from `skuld job list`).
        id: String,
    },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address of the plain HTTP listener.
    #[arg(long, default_value = "127.0.0.1:8080", env = "SKULD_LISTEN")]
    pub listen: std::net::SocketAddr,
    /// Address of the HTTPS listener (127.0.0.1:8443 when a certificate is given or
    /// --tls-self-signed is set).
    #[arg(long, env = "SKULD_TLS_LISTEN")]
    pub tls_listen: Option<std::net::SocketAddr>,
    /// PEM certificate chain for HTTPS.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Serve HTTPS with a self-signed certificate for localhost, generated once into the data
    /// directory.
    #[arg(long, conflicts_with = "tls_cert")]
    pub tls_self_signed: bool,
    /// The externally visible base URL (e.g. https://graph.example.org), used in
    /// @odata.context, @odata.nextLink and Location. Default: the request's own host.
    #[arg(long, env = "SKULD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seed the demo tenant contoso.test on first start and print its admin's credentials.
    #[arg(long)]
    pub demo: bool,
    /// Password of the demo admin (generated when omitted; with an existing demo tenant, the
    /// admin's password is reset to it).
    #[arg(long, requires = "demo")]
    pub admin_password: Option<String>,
    /// Directory for generated files (the self-signed certificate). Default: the database's
    /// directory.
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
    /// Multiply every throttling budget (Graph's resource units per app and tenant).
    #[arg(long, default_value_t = 1.0)]
    pub throttle_scale: f64,
    /// Turn throttling off.
    #[arg(long)]
    pub no_throttle: bool,
}

#[derive(Subcommand, Debug)]
pub enum AppCmd {
    /// Register an application; prints its client id and secret (shown this once).
    Add {
        #[arg(long)]
        name: String,
        /// Graph application permissions, e.g. User.ReadWrite.All LicenseAssignment.ReadWrite.All
        #[arg(long = "permission", num_args = 1.., required = true)]
        permissions: Vec<String>,
    },
    List,
    /// Delete an app registration (its tokens stop working at once).
    Remove {
        /// The client (app) id.
        app_id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TenantCmd {
    /// Create a tenant.
    Add {
        #[arg(long)]
        name: String,
        /// Its verified (default) domain.
        #[arg(long)]
        domain: String,
        /// Country: the usage location group licensing falls back to.
        #[arg(long, default_value = "US")]
        country: String,
    },
    List,
    Show,
}

#[derive(Args, Debug, Default)]
pub struct UserProps {
    #[arg(long)]
    pub given_name: Option<String>,
    #[arg(long)]
    pub surname: Option<String>,
    #[arg(long)]
    pub job_title: Option<String>,
    #[arg(long)]
    pub department: Option<String>,
    #[arg(long)]
    pub city: Option<String>,
    #[arg(long)]
    pub country: Option<String>,
    #[arg(long)]
    pub office: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub mobile: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Create a user (a password is generated and printed once unless given).
    Add {
        upn: String,
        /// Display name.
        #[arg(long)]
        name: String,
        #[arg(long)]
        password: Option<String>,
        /// Usage location (ISO 3166 alpha-2).
        #[arg(long)]
        location: Option<String>,
        #[arg(long)]
        guest: bool,
        #[arg(long)]
        disabled: bool,
        /// Require a password change at first sign-in.
        #[arg(long)]
        force_change: bool,
        #[command(flatten)]
        props: UserProps,
    },
    /// A user with every license, its paths, plans and state.
    Show { user: String },
    List {
        /// Soft-deleted users instead of live ones.
        #[arg(long)]
        deleted: bool,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// Change properties.
    Set {
        user: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, conflicts_with = "clear_location")]
        location: Option<String>,
        #[arg(long)]
        clear_location: bool,
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        job_title: Option<String>,
        #[arg(long)]
        city: Option<String>,
        #[arg(long)]
        enabled: Option<bool>,
    },
    /// Soft delete (restorable for 30 days; seats are released at once).
    Delete { user: String },
    /// Restore a soft-deleted user (id, or UPN).
    Restore { user: String },
    /// Delete a soft-deleted user for good.
    Purge { user: String },
    /// Delete for good every user soft-deleted more than 30 days ago (D7).
    PurgeExpired,
    /// Evaluate the user's licenses again.
    Reprocess { user: String },
    /// Change a user's password as the user does: the current password is checked (with smart
    /// lockout) and "must change at next sign-in" is cleared. Without the flags, reads the
    /// current and then the new password from stdin, one a line.
    Password {
        user: String,
        #[arg(long)]
        current: Option<String>,
        #[arg(long)]
        new: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum GroupCmd {
    /// Create a group (security group unless --m365).
    Add {
        name: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        mail_nickname: Option<String>,
        /// A Microsoft 365 group (still security-enabled unless --no-security).
        #[arg(long)]
        m365: bool,
        #[arg(long)]
        no_security: bool,
        /// Dynamic membership rule, e.g. 'user.department -eq "Sales"'.
        #[arg(long)]
        rule: Option<String>,
        /// License priority when seats are short (higher first).
        #[arg(long, default_value_t = 0)]
        priority: i32,
    },
    Show {
        group: String,
    },
    List,
    Set {
        group: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        rule: Option<String>,
        #[arg(long)]
        priority: Option<i32>,
        #[arg(long)]
        pause_rule: Option<bool>,
    },
    /// Delete (refused while the group assigns licenses).
    Delete {
        group: String,
    },
    /// Members (users or groups).
    #[command(subcommand)]
    Member(MemberCmd),
    /// Licenses the group assigns.
    #[command(subcommand)]
    License(GroupLicenseCmd),
}

#[derive(Subcommand, Debug)]
pub enum MemberCmd {
    Add { group: String, members: Vec<String> },
    Remove { group: String, members: Vec<String> },
    List { group: String },
}

#[derive(Subcommand, Debug)]
pub enum GroupLicenseCmd {
    /// Assign a product to the group (re-assigning replaces its disabled plans).
    Assign {
        group: String,
        sku: String,
        /// Service plans to turn off (name or id), repeatable.
        #[arg(long = "disable")]
        disable: Vec<String>,
    },
    Remove {
        group: String,
        sku: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum SkuCmd {
    /// Total, assigned, available and expiring-soon seats per product.
    List,
    /// Service plans of a product.
    Plans { sku: String },
}

#[derive(Subcommand, Debug)]
pub enum SubscriptionCmd {
    /// Buy a subscription of a product.
    Add {
        sku: String,
        #[arg(long)]
        seats: i64,
        #[arg(long)]
        trial: bool,
        /// A self-service purchase by this user (locked for admins until taken over).
        #[arg(long)]
        owner: Option<String>,
        /// Status (Enabled, Warning, Suspended, LockedOut).
        #[arg(long, default_value = "Enabled")]
        status: String,
        /// When the term ends (YYYY-MM-DD).
        #[arg(long)]
        expires: Option<String>,
    },
    List,
    /// Change the number of seats.
    SetSeats {
        id: String,
        seats: i64,
        /// Allow fewer seats than are assigned (a renewal with fewer seats).
        #[arg(long)]
        allow_over_allocation: bool,
    },
    SetStatus {
        id: String,
        status: String,
    },
    /// Take control of a self-service purchase.
    TakeOver {
        id: String,
    },
    /// Move subscriptions whose date has come to their next lifecycle status.
    Tick,
}

#[derive(Args, Debug)]
pub struct Targets {
    /// Users (UPN or id), repeatable.
    #[arg(long = "user", required = true)]
    pub users: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum LicenseCmd {
    /// Assign a product directly (keeps other licenses); re-assigning changes disabled plans.
    Assign {
        sku: String,
        #[command(flatten)]
        targets: Targets,
        #[arg(long = "disable")]
        disable: Vec<String>,
    },
    /// Remove a direct license.
    Remove {
        sku: String,
        #[command(flatten)]
        targets: Targets,
    },
    /// Replace every direct license of the users with this product.
    Replace {
        sku: String,
        #[command(flatten)]
        targets: Targets,
        #[arg(long = "disable")]
        disable: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProductCmd {
    /// Add the tenant's own product with new service plans.
    Add {
        part_number: String,
        #[arg(long)]
        name: String,
        /// A service plan `NAME` or `NAME=Friendly name`, repeatable.
        #[arg(long = "plan", required = true)]
        plans: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RoleCmd {
    /// Give a user a directory role (e.g. "Global Administrator", "License Administrator").
    Add {
        user: String,
        role: String,
    },
    Remove {
        user: String,
        role: String,
    },
    List,
}

#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// License a group of N members with one product, durably.
    Fanout {
        #[arg(long, default_value_t = 100_000)]
        members: usize,
    },
    /// Latency of single membership changes in an N-user tenant.
    MemberAdd {
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        #[arg(long, default_value_t = 200)]
        samples: usize,
    },
}

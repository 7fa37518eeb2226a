//! Who acts, and the audit events they leave (rulebook §10.1 activity names).

use skuld_domain::{DirectoryRole, Timestamp, UserId};
use skuld_store::AuditRow;

/// Who performs a use case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The operator at the command line: acts with every right of a Global Administrator.
    Operator,
    /// A signed-in user with directory roles.
    User {
        id: UserId,
        upn: String,
        roles: Vec<DirectoryRole>,
        /// The delegated permissions of the user's token (`scp`): an action needs one of its
        /// accepted scopes here as well as a role that grants it. `None` for a user acting
        /// without a token (inside the process, e.g. the change-password form), limited by
        /// roles only.
        scopes: Option<Vec<String>>,
        /// A guest (userType Guest) reads only their own user and groups (item 20).
        guest: bool,
    },
    /// An application calling with its own token (client credentials), with the Graph
    /// application permissions it was granted.
    App {
        app_id: uuid::Uuid,
        name: String,
        permissions: Vec<String>,
    },
    /// The engine itself (group-based licensing, lifecycle ticks).
    System,
}

impl Actor {
    pub(crate) fn name(&self) -> String {
        match self {
            Actor::Operator => "skuld operator".into(),
            Actor::User { upn, .. } => upn.clone(),
            Actor::App { name, .. } => name.clone(),
            Actor::System => "Microsoft Entra ID Group-Based Licensing".into(),
        }
    }
    /// The actor's kind and id as stored with audit rows.
    pub(crate) fn kind_and_id(&self) -> (&'static str, String) {
        match self {
            Actor::Operator => ("operator", String::new()),
            Actor::User { id, .. } => ("user", id.to_string()),
            Actor::App { app_id, .. } => ("app", app_id.to_string()),
            Actor::System => ("system", String::new()),
        }
    }
}

/// Builds audit rows.
pub(crate) struct Audit<'a> {
    pub actor: &'a Actor,
    pub at: Timestamp,
    pub rows: Vec<AuditRow>,
}

impl<'a> Audit<'a> {
    pub fn new(actor: &'a Actor, at: Timestamp) -> Self {
        Self {
            actor,
            at,
            rows: Vec::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        category: &str,
        activity: &str,
        target_type: &str,
        target_id: String,
        target_name: String,
        modified: Vec<(&str, String, String)>,
        failure: Option<String>,
    ) {
        let modified = modified
            .into_iter()
            .map(|(n, o, v)| {
                format!(
                    "{{\"displayName\":{},\"oldValue\":{},\"newValue\":{}}}",
                    json_str(n),
                    json_str(&o),
                    json_str(&v)
                )
            })
            .collect::<Vec<_>>()
            .join(",");
        let (kind, actor_id) = self.actor.kind_and_id();
        self.rows.push(AuditRow {
            id: uuid::Uuid::new_v4().to_string(),
            seq: 0,
            at: self.at,
            category: category.into(),
            activity: activity.into(),
            result: if failure.is_some() {
                "failure".into()
            } else {
                "success".into()
            },
            result_reason: failure.unwrap_or_default(),
            actor: self.actor.name(),
            actor_kind: kind.into(),
            actor_id,
            target_type: target_type.into(),
            target_id,
            target_name,
            modified: format!("[{modified}]"),
        });
    }
}

/// A JSON string literal (the app does not depend on a JSON library for this one shape).
pub(crate) fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

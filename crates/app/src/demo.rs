//! The demo tenant `contoso.test`.

use crate::{App, AppError, Result};
use skuld_domain::Tenant;

/// What `seed_demo` created.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub tenant: Tenant,
    pub admin_upn: String,
    pub admin_password: String,
    pub users: usize,
    pub groups: usize,
}

impl App {
    pub async fn seed_demo(&self, _admin_password: Option<String>) -> Result<DemoSummary> {
        Err(AppError::BadRequest("the demo is being written".into()))
    }
}

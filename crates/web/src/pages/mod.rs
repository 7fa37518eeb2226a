//! The admin center's pages. Each module owns its routes, templates (`templates/<module>/`)
//! and router tests (`tests/router/<module>.rs`).

use crate::WebState;
use axum::Router;

pub mod audit;
pub mod groups;
pub mod home;
pub mod licenses;
pub mod migrate;
pub mod roles;
pub mod signin;
pub mod users;
pub mod whatif;
pub mod wizard;

/// Every page's routes.
pub fn routes() -> Router<WebState> {
    Router::new()
        .merge(signin::routes())
        .merge(home::routes())
        .merge(licenses::routes())
        .merge(users::routes())
        .merge(wizard::routes())
        .merge(groups::routes())
        .merge(whatif::routes())
        .merge(migrate::routes())
        .merge(audit::routes())
        .merge(roles::routes())
}

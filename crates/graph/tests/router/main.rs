//! Router tests: the Graph surface driven through `tower::ServiceExt::oneshot`, no sockets.
//! Each test builds its own tenant on a temporary SQLite database.

mod auth;
mod batch;
mod errors;
mod groups;
mod harness;
mod isolation;
mod matrix;
mod odata;
mod users;

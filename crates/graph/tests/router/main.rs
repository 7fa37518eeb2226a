//! Router tests: the Graph surface driven through `tower::ServiceExt::oneshot`, no sockets.
//! Each test builds its own tenant on a temporary SQLite database.

// The same backends as the store's tests, from one file.
#[allow(dead_code)]
#[path = "../../../store/tests/it/backends.rs"]
mod backends;

mod auth;
mod batch;
mod csdl;
mod directory;
mod errors;
mod groups;
mod guests;
mod harness;
mod isolation;
mod keys;
mod lockout;
mod matrix;
mod odata;
mod rules;
mod scopes;
mod users;
mod wire;

//! Integration tests of the use cases through the public [`skuld_app::App`] API, each named after
//! the rule of the rulebook (licensing-semantics.md) or decision (architecture.md) it guards.
//! Every test runs on a fresh database of every backend (see [`harness`]).

mod admin_center;
mod doctor;
mod fixtures;
mod groups;
mod guests;
// The same backends as the store's tests, from one file.
#[path = "../../../store/tests/it/backends.rs"]
mod harness;
mod licenses;
mod lifecycle;
mod onboard;
mod privileged;
mod processes;
mod rules;
mod whatif;

//! Integration tests of the store. Every test runs on a fresh database of every backend
//! (SQLite, and PostgreSQL when `SKULD_TEST_PG_URL` is set): see [`harness`].

mod backends;
mod derived;
mod directory;
mod harness;
mod isolation;
mod query;
mod schema;
mod transactions;

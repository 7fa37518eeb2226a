//! Router tests of the admin center: the real router on a temporary SQLite database, no
//! sockets. One module per page module of `src/pages/`.

mod harness;

mod audit;
mod groups;
mod home;
mod licenses;
mod migrate;
mod roles;
mod signin;
mod users;
mod whatif;
mod wizard;

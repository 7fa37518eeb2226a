//! Router tests of the roles pages.

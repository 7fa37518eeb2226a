//! Router tests of the groups pages.

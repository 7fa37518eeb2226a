//! Router tests of the users pages.

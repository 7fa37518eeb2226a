//! Router tests of the audit pages.

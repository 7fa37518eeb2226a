//! Router tests of the wizard pages.

//! Router tests of the migrate pages.

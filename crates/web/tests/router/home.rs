//! Router tests of the home pages.

//! Router tests of the licenses pages.

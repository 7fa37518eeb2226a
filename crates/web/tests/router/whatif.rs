//! Router tests of the whatif pages.

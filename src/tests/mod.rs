//! Unit tests of the core's pure helpers, one file per helper, as
//! corosensei keeps them: a failure points at one function, not at a C
//! program three layers up. Behaviour through the public API is tested in
//! tests/ (Rust) and tests/c (C).

mod clock;
mod fd_checks;
mod ids;
mod interest;
mod rare;
mod registry;
mod timer;

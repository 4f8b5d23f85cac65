//! The checks. Each one does its own I/O under its own timeout and returns an
//! `Observation`; none of them decides what a probe answers (that is `verdict.rs`).

pub mod mysql;
pub mod wordpress;
pub mod wpconfig;

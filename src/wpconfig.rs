//! Everything about `wp-config.php` that needs no I/O: the reader that turns its bytes
//! into defines, and the comparison of what it says against the desired settings.
//! Reading the file, watching it and healing it live elsewhere (`checks/wpconfig.rs`,
//! `watch.rs`, `heal.rs`).

pub mod drift;
pub mod reader;

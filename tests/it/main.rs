//! Integration tests, compiled as one binary: the real server on port 0, the real
//! MariaDB, a stand-in WordPress for HTTP classification, and the real binary for
//! the command line.

mod cli;
mod drift;
mod floods;
mod hostile_memory;
mod hung_volume;
mod mysql;
mod probes;
mod readme;
mod stuck_reads;
mod support;
mod tls;
mod two_checks;
mod wordpress_check;

//! `DB_HOST` parsing (`host`, `host:port`, `host:/path.sock`, `[v6]:port`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = wp_sentinel::wordpress_env::parse_db_host(text);
    }
});

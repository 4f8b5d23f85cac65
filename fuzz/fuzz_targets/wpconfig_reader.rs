//! The `wp-config.php` reader and the drift comparison against the official
//! image's desired state: any bytes, never a panic, and no secret value in a drift.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wp_sentinel::wpconfig::{drift, reader};

const PASSWORD: &str = "fuzz-Secret-Pa55";

fuzz_target!(|bytes: &[u8]| {
    let env = |name: &str| match name {
        "WORDPRESS_DB_PASSWORD" => Some(PASSWORD.to_string()),
        "WORDPRESS_DB_HOST" => Some("db:3306".to_string()),
        _ => None,
    };
    let parsed = reader::parse(bytes);
    let _effective = drift::effective_config(&parsed, &env);
    let desired = drift::Desired::official_image();
    for item in drift::compare(&parsed, &desired, &env) {
        // A secret key's drift never shows a value.
        if item.secret {
            assert!(!item.to_string().contains(PASSWORD));
        }
    }
    let _ = drift::normalized_fingerprint(bytes);
});

//! Configuration values: any TOML text through the validator, never a panic; a
//! rejected value is a list of lines naming keys.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Err(errors) = wp_sentinel::config::Config::from_toml(text, &|_: &str| None) {
            assert!(!errors.0.is_empty());
        }
    }
});

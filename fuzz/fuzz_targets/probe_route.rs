//! The probe router and its query parser: any path and query, any Accept header.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use wp_sentinel::server::{route, AppState};

fn state() -> &'static AppState {
    static STATE: OnceLock<AppState> = OnceLock::new();
    STATE.get_or_init(|| {
        let config = wp_sentinel::config::Config::from_toml("", &|_: &str| None)
            .expect("default config");
        AppState {
            board: wp_sentinel::new_board(&config),
            metrics: metrics_exporter_prometheus::PrometheusBuilder::new()
                .build_recorder()
                .handle(),
            witness: Arc::new(wp_sentinel::heal::witness::LivenessWitness::new(3)),
        }
    })
}

fuzz_target!(|bytes: &[u8]| {
    let (target, accept) = match bytes.iter().position(|&b| b == b'\n') {
        Some(at) => (&bytes[..at], &bytes[at + 1..]),
        None => (bytes, &b""[..]),
    };
    let Ok(uri) = http::Uri::try_from(target) else {
        return;
    };
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_bytes(accept) {
        headers.insert(http::header::ACCEPT, value);
    }
    let response = route(state(), &http::Method::GET, &uri, &headers);
    let status = response.status().as_u16();
    assert!(matches!(status, 200 | 404 | 503), "status {status}");
});

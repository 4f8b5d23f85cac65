//! The two WordPress checks against a stand-in site that answers by path (as a real
//! WordPress does: `/wp-includes/version.php` and `/wp-login.php` can answer
//! differently): the deep check's installer redirect, the light check's PHP source,
//! and the real server failing `/livez` on the light check alone, waking the deep
//! check at once, and showing both checks in its bodies and metrics.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wp_sentinel::checks::wordpress::WordPressCheck;
use wp_sentinel::verdict::{Class, Status};

use crate::support::{config, eventually, Sidecar};

const LIGHT: &str = "/wp-includes/version.php";
const DEEP: &str = "/wp-login.php";

/// What the stand-in answers on one path.
#[derive(Clone, Debug)]
enum Page {
    /// Status, extra header lines (`Name: value`), body.
    Answer(u16, Vec<String>, String),
    Hang,
}

fn ok(body: &str) -> Page {
    Page::Answer(200, Vec::new(), body.to_string())
}

fn redirect(location: &str) -> Page {
    Page::Answer(302, vec![format!("Location: {location}")], String::new())
}

#[derive(Default)]
struct SiteState {
    pages: HashMap<String, Page>,
    requests: HashMap<String, usize>,
    hosts: Vec<String>,
}

/// A stand-in WordPress that answers by path; an unknown path is a 404.
struct Site {
    addr: SocketAddr,
    state: Arc<Mutex<SiteState>>,
}

impl Site {
    async fn start(pages: &[(&str, Page)]) -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let state = Arc::new(Mutex::new(SiteState::default()));
        let site = Site { addr, state };
        for (path, page) in pages {
            site.set(path, page.clone());
        }
        let shared = site.state.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 4096];
                    let n = stream.read(&mut buffer).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buffer[..n]).into_owned();
                    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                    let host = head
                        .lines()
                        .find_map(|line| {
                            line.strip_prefix("host: ").or(line.strip_prefix("Host: "))
                        })
                        .unwrap_or("")
                        .to_string();
                    let page = {
                        let mut state = shared.lock().expect("site state");
                        *state.requests.entry(path.clone()).or_default() += 1;
                        state.hosts.push(host);
                        state.pages.get(&path).cloned()
                    };
                    match page.unwrap_or_else(|| Page::Answer(404, Vec::new(), String::new())) {
                        Page::Hang => tokio::time::sleep(Duration::from_secs(3600)).await,
                        Page::Answer(status, headers, body) => {
                            let mut answer = format!("HTTP/1.1 {status} X\r\n");
                            for header in headers {
                                answer.push_str(&format!("{header}\r\n"));
                            }
                            answer.push_str(&format!(
                                "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            ));
                            let _ = stream.write_all(answer.as_bytes()).await;
                        }
                    }
                });
            }
        });
        site
    }

    fn set(&self, path: &str, page: Page) {
        self.state
            .lock()
            .expect("site state")
            .pages
            .insert(path.to_string(), page);
    }

    fn requests(&self, path: &str) -> usize {
        let state = self.state.lock().expect("site state");
        state.requests.get(path).copied().unwrap_or(0)
    }

    fn hosts(&self) -> Vec<String> {
        self.state.lock().expect("site state").hosts.clone()
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

fn checks_for(site: &Site, extra: &str) -> (WordPressCheck, WordPressCheck) {
    let toml = format!(
        "wordpress_url = \"{}\"\n[wordpress]\ntimeout = \"300ms\"\n{extra}\n\
         [wordpress_light]\ntimeout = \"300ms\"\n[mysql]\nenabled = false",
        site.url()
    );
    let config = config(&toml, &[]);
    (
        WordPressCheck::new(&config.wordpress),
        WordPressCheck::light(&config.wordpress, &config.wordpress_light),
    )
}

#[tokio::test]
async fn a_302_to_install_php_fails_the_deep_check() {
    let site = Site::start(&[]).await;
    let (deep, _) = checks_for(&site, "");
    for location in [
        format!("http://{}/wp-admin/install.php", site.addr),
        "https://example.com/wp-admin/install.php?step=1".to_string(),
        "/blog/wp-admin/install.php".to_string(),
    ] {
        site.set(DEEP, redirect(&location));
        let observation = deep.run().await;
        assert_eq!(
            (observation.status, observation.class),
            (Status::Fail, Class::NotInstalled),
            "{location}: {}",
            observation.message
        );
        assert!(
            observation.message.contains("not installed"),
            "{}",
            observation.message
        );
    }
    site.set(DEEP, redirect("/wp-admin/setup-config.php"));
    assert_eq!(deep.run().await.class, Class::NotInstalled);
    // Any other redirect stays what `expected_statuses` says (200-399 by default).
    site.set(DEEP, redirect("/wp-login.php?redirect_to=x"));
    assert_eq!(deep.run().await.status, Status::Pass);
    site.set(DEEP, ok("<html>login</html>"));
    assert_eq!(deep.run().await.status, Status::Pass);
}

#[tokio::test]
async fn php_source_in_the_light_body_fails_the_light_check() {
    let site = Site::start(&[]).await;
    let (_, light) = checks_for(&site, "");
    let cases = [
        (ok(""), Status::Pass, Class::Ok),
        (
            ok("<?php\n$wp_version = '6.1.1';\n"),
            Status::Fail,
            Class::PhpNotExecuting,
        ),
        (
            ok("\u{feff}  <?php $wp_db_version = 53496;"),
            Status::Fail,
            Class::PhpNotExecuting,
        ),
        (
            Page::Answer(204, Vec::new(), String::new()),
            Status::Fail,
            Class::UnexpectedStatus,
        ),
        (
            redirect("/elsewhere"),
            Status::Fail,
            Class::UnexpectedStatus,
        ),
        (
            Page::Answer(404, Vec::new(), String::new()),
            Status::Fail,
            Class::UnexpectedStatus,
        ),
        (
            Page::Answer(500, Vec::new(), String::new()),
            Status::Fail,
            Class::ServerError,
        ),
        (Page::Hang, Status::Fail, Class::Timeout),
    ];
    for (page, status, class) in cases {
        let described = format!("{page:?}");
        site.set(LIGHT, page);
        let observation = light.run().await;
        assert_eq!(
            (observation.status, observation.class),
            (status, class),
            "{described}: {}",
            observation.message
        );
    }
    assert!(site.requests(LIGHT) >= 8, "the light check asks {LIGHT}");
    assert_eq!(
        site.requests(DEEP),
        0,
        "the light check never boots WordPress"
    );
}

#[tokio::test]
async fn both_checks_send_the_configured_host() {
    let site = Site::start(&[(LIGHT, ok("")), (DEEP, ok("login"))]).await;
    let (deep, light) = checks_for(&site, "host_header = \"blog.example.com\"");
    assert_eq!(deep.run().await.status, Status::Pass);
    assert_eq!(light.run().await.status, Status::Pass);
    assert_eq!(site.hosts(), ["blog.example.com", "blog.example.com"]);
}

/// The deep check rarely (a minute), the light one often: as the defaults, faster.
fn two_speeds(site: &Site) -> String {
    format!(
        "wordpress_url = \"{}\"\n[wordpress]\ninterval = \"60s\"\ntimeout = \"300ms\"\njitter = 0\n\
         [wordpress_light]\ninterval = \"100ms\"\ntimeout = \"300ms\"\njitter = 0\n\
         [mysql]\nenabled = false\n[wpconfig]\nenabled = false\n[shutdown]\ndrain = \"0s\"\ndeadline = \"1s\"\n",
        site.url()
    )
}

async fn ready_sidecar(site: &Site) -> Sidecar {
    let sidecar = Sidecar::start(config(&two_speeds(site), &[])).await;
    let ready = eventually(Duration::from_secs(5), || async {
        sidecar.get("/readyz").await.status == 200
    })
    .await;
    assert!(ready, "{}", sidecar.get("/readyz?verbose").await.body);
    sidecar
}

#[tokio::test]
async fn the_light_checks_failure_fails_livez_and_wakes_the_deep_check() {
    let site = Site::start(&[(LIGHT, ok("")), (DEEP, ok("login"))]).await;
    let sidecar = ready_sidecar(&site).await;
    let deep_runs_before = site.requests(DEEP);
    // PHP stops answering: only the light check can see it before a minute is up.
    site.set(LIGHT, Page::Hang);
    let live_fails = eventually(Duration::from_secs(5), || async {
        sidecar.get("/livez").await.status == 503
    })
    .await;
    let verbose = sidecar.get("/livez?verbose").await.body;
    assert!(
        live_fails,
        "the light check's failure must fail /livez: {verbose}"
    );
    assert!(
        verbose.contains("[-]wordpress_light failed: WordPress is not answering"),
        "{verbose}"
    );
    assert!(verbose.contains("[+]wordpress ok"), "{verbose}");
    assert_eq!(sidecar.get("/livez/wordpress_light").await.status, 503);
    assert_eq!(sidecar.get("/readyz/wordpress_light").await.status, 503);
    assert_eq!(
        sidecar.get("/livez?exclude=wordpress_light").await.status,
        200
    );
    assert!(
        site.requests(DEEP) > deep_runs_before,
        "the light check failing wakes the deep check at once (interval 60 s)"
    );
    site.set(LIGHT, ok(""));
    let recovered = eventually(Duration::from_secs(5), || async {
        sidecar.get("/livez").await.status == 200
    })
    .await;
    assert!(recovered, "{}", sidecar.get("/livez?verbose").await.body);
    sidecar.stop().await.expect("clean stop");
}

#[tokio::test]
async fn php_source_in_the_light_answer_fails_livez() {
    let site = Site::start(&[(LIGHT, ok("")), (DEEP, ok("login"))]).await;
    let sidecar = ready_sidecar(&site).await;
    site.set(LIGHT, ok("<?php\n$wp_version = '6.1.1';\n"));
    let live_fails = eventually(Duration::from_secs(5), || async {
        sidecar.get("/livez").await.status == 503
    })
    .await;
    let verbose = sidecar.get("/livez?verbose").await.body;
    assert!(live_fails, "{verbose}");
    assert!(verbose.contains("does not execute PHP"), "{verbose}");
    sidecar.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_redirect_to_the_installer_fails_readyz_not_livez() {
    let site = Site::start(&[(LIGHT, ok("")), (DEEP, ok("login"))]).await;
    let sidecar = ready_sidecar(&site).await;
    site.set(DEEP, redirect("/wp-admin/install.php"));
    // The deep check runs every minute; a change on the board (here: the light
    // check failing once) makes it run at once.
    site.set(LIGHT, Page::Answer(500, Vec::new(), String::new()));
    let not_ready = eventually(Duration::from_secs(5), || async {
        sidecar.get("/readyz/wordpress").await.status == 503
    })
    .await;
    site.set(LIGHT, ok(""));
    let verbose = sidecar.get("/readyz?verbose").await.body;
    assert!(not_ready, "{verbose}");
    let light_back = eventually(Duration::from_secs(5), || async {
        sidecar.get("/readyz/wordpress_light").await.status == 200
    })
    .await;
    assert!(light_back);
    let verbose = sidecar.get("/readyz?verbose").await.body;
    assert!(
        verbose.contains("[-]wordpress failed: WordPress answers 302 to /wp-admin/install.php"),
        "{verbose}"
    );
    assert_eq!(
        sidecar.get("/livez").await.status,
        200,
        "a restart does not install WordPress: {}",
        sidecar.get("/livez?verbose").await.body
    );
    sidecar.stop().await.expect("clean stop");
}

#[tokio::test]
async fn verbose_bodies_json_and_metrics_show_both_checks() {
    let site = Site::start(&[(LIGHT, ok("")), (DEEP, ok("login"))]).await;
    let sidecar = ready_sidecar(&site).await;
    for path in ["/livez?verbose", "/readyz?verbose"] {
        let body = sidecar.get(path).await.body;
        assert!(body.contains("[+]wordpress_light ok"), "{path}: {body}");
        assert!(body.contains("[+]wordpress ok"), "{path}: {body}");
    }
    let healthz = sidecar.get("/healthz?verbose").await.body;
    assert!(healthz.contains("[+]wordpress_light fresh"), "{healthz}");
    let json: serde_json::Value =
        serde_json::from_str(&sidecar.get("/readyz?format=json").await.body).expect("JSON");
    for key in ["wordpress_light:responseTime", "wordpress:responseTime"] {
        assert_eq!(json["checks"][key][0]["status"], "pass", "{key}: {json}");
    }
    let metrics = sidecar.get("/metrics").await.body;
    for line in [
        "wp_sentinel_check_up{check=\"wordpress_light\"} 1",
        "wp_sentinel_check_up{check=\"wordpress\"} 1",
        "wp_sentinel_check_duration_seconds_bucket{check=\"wordpress_light\"",
    ] {
        assert!(metrics.contains(line), "{line} missing from /metrics");
    }
    sidecar.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_failing_deep_check_reruns_at_the_light_pace_so_readiness_comes_back() {
    // The deep check's first answer is an error (mysql is disabled, so it is held
    // from liveness); its interval is a minute, yet the repair is seen at once.
    let site = Site::start(&[
        (LIGHT, ok("")),
        (DEEP, Page::Answer(500, Vec::new(), "Fatal error".into())),
    ])
    .await;
    let sidecar = Sidecar::start(config(&two_speeds(&site), &[])).await;
    let not_ready = eventually(Duration::from_secs(5), || async {
        sidecar.get("/readyz/wordpress").await.status == 503
    })
    .await;
    assert!(not_ready, "{}", sidecar.get("/readyz?verbose").await.body);
    assert_eq!(sidecar.get("/livez").await.status, 200);
    site.set(DEEP, ok("login"));
    let ready = eventually(Duration::from_secs(5), || async {
        sidecar.get("/readyz").await.status == 200
    })
    .await;
    assert!(
        ready,
        "the deep check (interval 60 s) must re-check while failing: {}",
        sidecar.get("/readyz?verbose").await.body
    );
    sidecar.stop().await.expect("clean stop");
}

//! The WordPress HTTP check's classifications, against a stand-in server.

use wp_sentinel::checks::wordpress::WordPressCheck;
use wp_sentinel::verdict::{Class, Status};

use crate::support::{
    closed_port, config, Behaviour, StandIn, DATABASE_ERROR_PAGE, MAINTENANCE_PAGE,
};

fn check_for(url: &str) -> WordPressCheck {
    let toml = format!(
        "wordpress_url = \"{url}\"\n[wordpress]\ntimeout = \"300ms\"\n[mysql]\nenabled = false"
    );
    WordPressCheck::new(&config(&toml, &[]).wordpress)
}

async fn classify(behaviour: Behaviour) -> (Status, Class, String) {
    let stand_in = StandIn::start(behaviour).await;
    let observation = check_for(&stand_in.url()).run().await;
    (observation.status, observation.class, observation.message)
}

#[tokio::test]
async fn classifies_every_kind_of_answer() {
    let cases = [
        (
            Behaviour::Answer(200, "<html>login</html>".into()),
            Status::Pass,
            Class::Ok,
        ),
        (
            Behaviour::Answer(302, String::new()),
            Status::Pass,
            Class::Ok,
        ),
        (
            Behaviour::Answer(500, DATABASE_ERROR_PAGE.into()),
            Status::Fail,
            Class::DatabaseError,
        ),
        (
            Behaviour::Answer(500, "Fatal error".into()),
            Status::Fail,
            Class::ServerError,
        ),
        (
            Behaviour::Answer(502, String::new()),
            Status::Fail,
            Class::ServerError,
        ),
        (
            Behaviour::Answer(503, MAINTENANCE_PAGE.into()),
            Status::Fail,
            Class::Maintenance,
        ),
        (
            Behaviour::Answer(503, "busy".into()),
            Status::Fail,
            Class::ServerError,
        ),
        (
            Behaviour::Answer(404, String::new()),
            Status::Fail,
            Class::UnexpectedStatus,
        ),
        (Behaviour::Hang, Status::Fail, Class::Timeout),
    ];
    for (behaviour, status, class) in cases {
        let described = format!("{behaviour:?}");
        let got = classify(behaviour).await;
        assert_eq!((got.0, got.1), (status, class), "{described}: {}", got.2);
    }
}

#[tokio::test]
async fn a_closed_port_is_refused() {
    let addr = closed_port().await;
    let observation = check_for(&format!("http://{addr}/")).run().await;
    assert_eq!(observation.class, Class::Refused, "{}", observation.message);
}

#[tokio::test]
async fn a_hang_is_cut_at_the_timeout() {
    let stand_in = StandIn::start(Behaviour::Hang).await;
    // The stand-in never answers: a run that returns at all, as a timeout, was cut.
    let observation = check_for(&stand_in.url()).run().await;
    assert_eq!(observation.class, Class::Timeout, "{}", observation.message);
}

#[tokio::test]
async fn the_database_error_marker_is_found_past_a_long_head() {
    let page = format!("{}{}", " ".repeat(20_000), DATABASE_ERROR_PAGE);
    assert_eq!(
        classify(Behaviour::Answer(500, page)).await.1,
        Class::DatabaseError
    );
}

//! Live updates over graphql-transport-ws: each subscriber is told only of what it may read, the
//! connection is authenticated by its `connection_init` and closed when its token expires, and
//! an event written through one server reaches a subscriber of another on the same database
//! (PostgreSQL: `LISTEN/NOTIFY`; SQLite: in the process).

use std::time::Duration;

use domain::actor::Role;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{TEST_JWT_SECRET, TestApp, TestUser, practice_input};

/// How long a test waits for something that should come.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long a test waits to be satisfied that something does not come: the writes it waits
/// after have already been delivered to a subscriber that may read them.
const QUIET: Duration = Duration::from_millis(500);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Client {
    socket: Socket,
}

/// What the server did next.
#[derive(Debug)]
enum Next {
    Message(Value),
    Closed(u16, String),
    Nothing,
}

impl Client {
    /// Opens a connection speaking graphql-transport-ws, without `connection_init`.
    async fn open(app: &TestApp) -> Client {
        let url = format!("{}/graphql", app.address.replacen("http", "ws", 1));
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the WebSocket upgrade succeeds");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        Client { socket }
    }

    /// Opens a connection and initialises it with `payload`, expecting the acknowledgement.
    async fn connect(app: &TestApp, payload: Value) -> Client {
        let mut client = Client::open(app).await;
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        match client.next(PATIENCE).await {
            Next::Message(m) if m["type"] == "connection_ack" => client,
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    async fn as_user(app: &TestApp, user: &TestUser) -> Client {
        let bearer = format!("Bearer {}", user.access_token);
        Client::connect(app, json!({ "Authorization": bearer })).await
    }

    async fn anonymous(app: &TestApp) -> Client {
        Client::connect(app, json!({})).await
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("the message is sent");
    }

    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    async fn next(&mut self, within: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return Next::Nothing,
                Ok(frame) => frame,
            };
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Next::Message(serde_json::from_str(&text).unwrap());
                }
                Some(Ok(Message::Close(frame))) => {
                    return match frame {
                        Some(f) => Next::Closed(u16::from(f.code), f.reason.to_string()),
                        None => Next::Closed(1005, String::new()),
                    };
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Next::Closed(1006, e.to_string()),
                None => return Next::Closed(1006, "the connection ended".into()),
            }
        }
    }

    /// The next message as the server wrote it, for what parsing loses (the order of keys).
    async fn raw(&mut self) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => return text.to_string(),
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// The payload of the next `next` message of subscription `id`.
    async fn event(&mut self, id: &str) -> Value {
        match self.next(PATIENCE).await {
            Next::Message(m) if m["type"] == "next" && m["id"] == id => m["payload"].clone(),
            other => panic!("expected an event of {id}, got {other:?}"),
        }
    }

    async fn nothing_more(&mut self) {
        match self.next(QUIET).await {
            Next::Nothing => {}
            other => panic!("expected nothing, got {other:?}"),
        }
    }

    async fn closed_with(&mut self, within: Duration) -> (u16, String) {
        match self.next(within).await {
            Next::Closed(code, reason) => (code, reason),
            other => panic!("expected the connection to close, got {other:?}"),
        }
    }
}

const PRACTICE_PUBLISHED: &str = "subscription($f: PracticePublishedFilter) {
    practicePublished(filter: $f) { id title status } }";
const FUNDING_RECORDED: &str = "subscription($p: ID) {
    fundingRecorded(practiceId: $p) { id amount amountUsd confidential } }";
const NEED_OPENED: &str =
    "subscription($t: [Theme!]) { needOpened(themes: $t) { id title themes } }";

async fn mutate(app: &TestApp, user: &TestUser, query: &str, vars: Value) -> Value {
    let data = app.data_as(user, query, vars).await;
    data.as_object().unwrap().values().next().unwrap().clone()
}

async fn own_city(app: &TestApp) -> String {
    let data = app
        .data("{ cities(first: 1) { edges { node { id } } } }", json!({}))
        .await;
    data["cities"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A draft practice of `user`'s city, as `(id, version)`.
/// The report's base and a practitioner of one of its cities.
async fn seeded_with_practitioner() -> TestApp {
    TestApp::new()
        .seeded()
        .with_user(Role::Practitioner)
        .spawn()
        .await
}

async fn draft_practice(app: &TestApp, user: &TestUser, title: &str) -> (String, i64) {
    let city = own_city(app).await;
    let created = mutate(
        app,
        user,
        "mutation($i: PracticeInput!) { createPractice(input: $i) { id version status } }",
        json!({ "i": practice_input(title, &city) }),
    )
    .await;
    assert_eq!(created["status"], "DRAFT");
    (
        created["id"].as_str().unwrap().to_string(),
        created["version"].as_i64().unwrap(),
    )
}

async fn publish_practice(app: &TestApp, user: &TestUser, (id, version): &(String, i64)) {
    mutate(
        app,
        user,
        "mutation($id: ID!, $v: Int!) { publishPractice(id: $id, version: $v) { id } }",
        json!({ "id": id, "v": version }),
    )
    .await;
}

/// A published, open need of `user`'s city with `themes`; answers its id.
async fn opened_need(app: &TestApp, user: &TestUser, title: &str, themes: Value) -> String {
    let created = mutate(
        app,
        user,
        "mutation($i: NeedInput!) { createNeed(input: $i) { id version } }",
        json!({ "i": { "title": title, "themes": themes } }),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_string();
    mutate(
        app,
        user,
        "mutation($id: ID!, $v: Int!) { publishNeed(id: $id, version: $v) { id } }",
        json!({ "id": id, "v": created["version"] }),
    )
    .await;
    id
}

#[tokio::test]
async fn a_practice_reaches_subscribers_when_it_is_published_not_while_a_draft() {
    let app = seeded_with_practitioner().await;
    let owner = app.user_of(Role::Practitioner);
    let mut anonymous = Client::anonymous(&app).await;
    anonymous
        .subscribe("p", PRACTICE_PUBLISHED, json!({}))
        .await;
    let mut member = Client::as_user(&app, owner).await;
    member.subscribe("p", PRACTICE_PUBLISHED, json!({})).await;
    let mut housing = Client::anonymous(&app).await;
    housing
        .subscribe(
            "h",
            PRACTICE_PUBLISHED,
            json!({ "f": { "themes": ["HOUSING"] } }),
        )
        .await;

    let draft = draft_practice(&app, owner, "Live composting pilot").await;
    anonymous.nothing_more().await;
    member.nothing_more().await;

    publish_practice(&app, owner, &draft).await;
    for client in [&mut anonymous, &mut member] {
        let practice = client.event("p").await;
        assert_eq!(
            practice["data"]["practicePublished"]["id"],
            draft.0.as_str()
        );
        assert_eq!(practice["data"]["practicePublished"]["status"], "PUBLISHED");
    }
    // The practice is about the environment, not housing.
    housing.nothing_more().await;
}

#[tokio::test]
async fn confidential_funding_amounts_reach_only_their_donor_and_admin() {
    let app = TestApp::new().seeded().with_user(Role::Donor).spawn().await;
    let donor = app.user_of(Role::Donor);
    let admin = app.admin().await;
    let practice = app.id_of("practices", "waste management in Mutare").await;
    let other = app.id_of("practices", "Mutare").await;
    let mut anonymous = Client::anonymous(&app).await;
    anonymous
        .subscribe("f", FUNDING_RECORDED, json!({ "p": practice }))
        .await;
    let mut funder = Client::as_user(&app, donor).await;
    funder.subscribe("f", FUNDING_RECORDED, json!({})).await;
    let mut secretariat = Client::as_user(&app, &admin).await;
    secretariat
        .subscribe("f", FUNDING_RECORDED, json!({}))
        .await;

    let recorded = mutate(
        &app,
        donor,
        "mutation($p: ID!) { recordFunding(input: { practiceId: $p, amount: \"100000\", currency: \"NLG\", status: COMMITTED, sourceType: GRANTS_LOANS, confidential: true }) { id } }",
        json!({ "p": practice }),
    )
    .await;
    let id = recorded["id"].as_str().unwrap();

    let seen = anonymous.event("f").await["data"]["fundingRecorded"].clone();
    assert_eq!(seen["id"], id);
    assert_eq!(seen["confidential"], true);
    assert_eq!(seen["amount"], Value::Null);
    assert_eq!(seen["amountUsd"], Value::Null);
    for client in [&mut funder, &mut secretariat] {
        let seen = client.event("f").await["data"]["fundingRecorded"].clone();
        assert_eq!(seen["id"], id);
        assert_eq!(seen["amount"], "100000");
    }

    // A subscriber of one practice is not told of another's funding.
    if other != practice {
        mutate(
            &app,
            donor,
            "mutation($p: ID!) { recordFunding(input: { practiceId: $p, amount: \"5\", currency: \"USD\", status: PLEDGED, sourceType: GRANTS_LOANS }) { id } }",
            json!({ "p": other }),
        )
        .await;
        funder.event("f").await;
        anonymous.nothing_more().await;
    }
}

#[tokio::test]
async fn needs_are_delivered_by_theme() {
    let app = seeded_with_practitioner().await;
    let practitioner = app.user_of(Role::Practitioner);
    let mut finance = Client::anonymous(&app).await;
    finance
        .subscribe("n", NEED_OPENED, json!({ "t": ["MUNICIPAL_FINANCE"] }))
        .await;
    let mut everything = Client::anonymous(&app).await;
    everything.subscribe("n", NEED_OPENED, json!({})).await;

    let landfill = opened_need(
        &app,
        practitioner,
        "Landfill expertise",
        json!(["ENVIRONMENT"]),
    )
    .await;
    let billing = opened_need(
        &app,
        practitioner,
        "Billing system",
        json!(["MUNICIPAL_FINANCE", "HOUSING"]),
    )
    .await;

    assert_eq!(
        everything.event("n").await["data"]["needOpened"]["id"],
        landfill.as_str()
    );
    assert_eq!(
        everything.event("n").await["data"]["needOpened"]["id"],
        billing.as_str()
    );
    let need = finance.event("n").await["data"]["needOpened"].clone();
    assert_eq!(need["id"], billing.as_str());
    assert_eq!(need["themes"], json!(["MUNICIPAL_FINANCE", "HOUSING"]));
    finance.nothing_more().await;
}

#[tokio::test]
async fn a_connection_init_with_a_bad_token_is_refused() {
    let app = TestApp::new().spawn().await;
    for payload in [
        json!({ "Authorization": "Bearer not-a-token" }),
        json!({ "token": "not-a-token" }),
        json!({ "Authorization": "Basic dXNlcjpwYXNz" }),
    ] {
        let mut client = Client::open(&app).await;
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        let (code, _) = client.closed_with(PATIENCE).await;
        assert_eq!(code, 4403, "{payload}");
    }
    // A subscription before the acknowledgement is not run.
    let mut client = Client::open(&app).await;
    client.subscribe("p", PRACTICE_PUBLISHED, json!({})).await;
    assert!(matches!(client.next(PATIENCE).await, Next::Closed(..)));
}

#[tokio::test]
async fn a_token_that_signs_in_is_taken_in_either_payload_shape() {
    let app = seeded_with_practitioner().await;
    let user = app.user_of(Role::Practitioner);
    let mut client = Client::connect(&app, json!({ "token": user.access_token })).await;
    client.subscribe("p", PRACTICE_PUBLISHED, json!({})).await;
    let draft = draft_practice(&app, user, "Token shapes").await;
    publish_practice(&app, user, &draft).await;
    client.event("p").await;

    // Signed out: the sign-in is revoked and the token no longer opens a connection.
    app.data_as(
        user,
        "mutation($r: String!) { logout(refreshToken: $r) }",
        json!({ "r": user.refresh_token }),
    )
    .await;
    let mut client = Client::open(&app).await;
    client
        .send(json!({ "type": "connection_init", "payload": { "token": user.access_token } }))
        .await;
    assert_eq!(client.closed_with(PATIENCE).await.0, 4403);
}

#[tokio::test]
async fn a_disabled_account_or_a_revoked_sign_in_loses_its_open_connection() {
    let app = TestApp::new()
        .seeded()
        .with_user(Role::Donor)
        .with_user(Role::Practitioner)
        .configure(|s| s.subscriptions.recheck = Duration::from_millis(300))
        .spawn()
        .await;
    let admin = app.admin().await;

    let donor = app.user_of(Role::Donor);
    let mut disabled = Client::connect(&app, json!({ "token": donor.access_token })).await;
    disabled.subscribe("f", FUNDING_RECORDED, json!({})).await;
    let practitioner = app.user_of(Role::Practitioner);
    let mut signed_out = Client::connect(&app, json!({ "token": practitioner.access_token })).await;
    signed_out
        .subscribe("p", PRACTICE_PUBLISHED, json!({}))
        .await;
    let mut anonymous = Client::anonymous(&app).await;
    anonymous
        .subscribe("p", PRACTICE_PUBLISHED, json!({}))
        .await;

    app.data_as(
        &admin,
        "mutation($id: ID!) { disableUser(userId: $id) { status } }",
        json!({ "id": donor.id }),
    )
    .await;
    app.data_as(
        practitioner,
        "mutation($r: String!) { logout(refreshToken: $r) }",
        json!({ "r": practitioner.refresh_token }),
    )
    .await;
    // Well before either token expires (15 minutes).
    let (code, reason) = disabled.closed_with(Duration::from_secs(5)).await;
    assert_eq!(code, 4403, "{reason}");
    let (code, reason) = signed_out.closed_with(Duration::from_secs(5)).await;
    assert_eq!(code, 4403, "{reason}");
    assert!(matches!(
        anonymous.next(Duration::from_secs(1)).await,
        Next::Nothing
    ));
}

/// `user`'s access token re-signed to expire `seconds` from now.
fn expiring_token(user: &TestUser, seconds: i64) -> String {
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_aud = false;
    let mut claims = jsonwebtoken::decode::<Value>(
        &user.access_token,
        &DecodingKey::from_secret(TEST_JWT_SECRET),
        &validation,
    )
    .unwrap()
    .claims;
    claims["exp"] = json!(chrono::Utc::now().timestamp() + seconds);
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(TEST_JWT_SECRET),
    )
    .unwrap()
}

#[tokio::test]
async fn the_connection_closes_when_its_token_expires() {
    let app = TestApp::new().seeded().with_user(Role::Donor).spawn().await;
    let token = expiring_token(app.user_of(Role::Donor), 2);
    let mut client =
        Client::connect(&app, json!({ "Authorization": format!("Bearer {token}") })).await;
    client.subscribe("f", FUNDING_RECORDED, json!({})).await;
    let (code, reason) = client.closed_with(PATIENCE).await;
    assert_eq!(code, 4401, "{reason}");

    // An anonymous connection has no token to expire.
    let mut anonymous = Client::anonymous(&app).await;
    anonymous.subscribe("f", FUNDING_RECORDED, json!({})).await;
    assert!(matches!(
        anonymous.next(Duration::from_secs(3)).await,
        Next::Nothing
    ));
}

#[tokio::test]
async fn a_connection_holds_a_bounded_number_of_subscriptions() {
    let app = TestApp::new()
        .configure(|s| s.subscriptions.per_connection = 2)
        .spawn()
        .await;
    let mut client = Client::anonymous(&app).await;
    for id in ["1", "2", "3"] {
        client.subscribe(id, PRACTICE_PUBLISHED, json!({})).await;
    }
    // The protocol starts the three in no particular order: one of them is refused.
    let refused = match client.next(PATIENCE).await {
        Next::Message(m) => {
            assert_eq!(m["type"], "next", "{m}");
            assert_eq!(
                m["payload"]["errors"][0]["extensions"]["code"],
                "RATE_LIMITED"
            );
            m["id"].as_str().unwrap().to_string()
        }
        other => panic!("expected a subscription refused, got {other:?}"),
    };
    match client.next(PATIENCE).await {
        Next::Message(m) => {
            assert_eq!(m["type"], "complete", "{m}");
            assert_eq!(m["id"], refused.as_str());
        }
        other => panic!("expected the refused subscription complete, got {other:?}"),
    }
    client.nothing_more().await;
    // Completing one gives its slot back.
    let running = ["1", "2", "3"]
        .into_iter()
        .find(|id| *id != refused)
        .unwrap();
    client
        .send(json!({ "id": running, "type": "complete" }))
        .await;
    match client.next(PATIENCE).await {
        Next::Message(m) => assert_eq!(m, json!({ "id": running, "type": "complete" })),
        other => panic!("expected {running} complete, got {other:?}"),
    }
    client.subscribe("4", PRACTICE_PUBLISHED, json!({})).await;
    client.nothing_more().await;
}

#[tokio::test]
async fn a_client_holds_a_bounded_number_of_connections_and_must_initialise() {
    let app = TestApp::new()
        .configure(|s| {
            s.subscriptions.connections_per_client = 2;
            s.subscriptions.init_timeout = Duration::from_millis(300);
        })
        .spawn()
        .await;
    let mut first = Client::open(&app).await;
    let _second = Client::open(&app).await;
    let url = format!("{}/graphql", app.address.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429)
        }
        other => panic!("expected the third connection refused, got {other:?}"),
    }
    // Never initialised: closed, which gives the slot back.
    assert_eq!(first.closed_with(PATIENCE).await.0, 4408);
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    Client::open(&app).await;
}

#[tokio::test]
async fn an_event_written_through_one_server_reaches_a_subscriber_of_another() {
    let writer = TestApp::new()
        .seeded()
        .with_user(Role::Practitioner)
        .spawn()
        .await;
    // No sweep within the test: only a notification (PostgreSQL) or the in-process signal
    // (SQLite) can deliver the event in time.
    let reader = writer
        .another_process(|s| s.subscriptions.sweep = Duration::from_secs(3600))
        .await;
    let owner = writer.user_of(Role::Practitioner);
    let mut subscriber = Client::anonymous(&reader).await;
    subscriber
        .subscribe("p", PRACTICE_PUBLISHED, json!({}))
        .await;
    subscriber.nothing_more().await;

    let draft = draft_practice(&writer, owner, "Across servers").await;
    publish_practice(&writer, owner, &draft).await;
    let practice = subscriber.event("p").await;
    assert_eq!(
        practice["data"]["practicePublished"]["id"],
        draft.0.as_str()
    );
    assert_eq!(
        practice["data"]["practicePublished"]["title"],
        "Across servers"
    );
}

#[tokio::test]
async fn a_plain_get_still_answers_queries_and_an_upgrade_needs_the_protocol() {
    let app = TestApp::new().spawn().await;
    let response = app
        .client
        .get(format!("{}/graphql?query={{__typename}}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A subscription is for the WebSocket: over HTTP it is refused with a code.
    let refused = app.graphql(PRACTICE_PUBLISHED, json!({})).await;
    assert_eq!(
        crate::helpers::error_code(&refused),
        "GRAPHQL_VALIDATION_FAILED"
    );
    let url = format!("{}/graphql", app.address.replacen("http", "ws", 1));
    let request = url.into_client_request().unwrap();
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400)
        }
        other => panic!("expected an upgrade without the protocol refused, got {other:?}"),
    }
}

/// An event's fields come in the subscription's order, a field read through a batched read (the
/// practice's cities) included, as answers over HTTP do.
#[tokio::test]
async fn an_event_keeps_the_order_of_the_subscription() {
    let app = seeded_with_practitioner().await;
    let owner = app.user_of(Role::Practitioner);
    let mut client = Client::anonymous(&app).await;
    client
        .subscribe(
            "o",
            "subscription { practicePublished { cities { name } title id } }",
            json!({}),
        )
        .await;
    let draft = draft_practice(&app, owner, "Ordered composting pilot").await;
    publish_practice(&app, owner, &draft).await;
    let text = client.raw().await;
    assert!(
        text.contains(r#"{"data":{"practicePublished":{"cities":[{"name":"#),
        "{text}"
    );
    assert!(
        text.contains(r#"}],"title":"Ordered composting pilot","id":"#),
        "{text}"
    );
}

/// A server told to stop (SIGTERM, or its stopper) closes its subscriptions with 1001 Going
/// Away, so that clients connect again, to another instance or to this one restarted, and stops
/// at once. A subscription never ends on its own: before, the stop waited for the connections'
/// whole timeout (30 s), then dropped them without a close.
#[tokio::test]
async fn a_stopping_server_closes_its_subscriptions_and_stops() {
    let mut app = TestApp::new().seeded().spawn().await;
    let mut client = Client::anonymous(&app).await;
    client.subscribe("p", PRACTICE_PUBLISHED, json!({})).await;
    // Subscribed: nothing comes, nothing closes.
    assert!(matches!(client.next(QUIET).await, Next::Nothing));

    let asked = std::time::Instant::now();
    app.stop_gracefully();
    match client.next(Duration::from_secs(5)).await {
        Next::Closed(code, reason) => {
            assert_eq!(code, 1001, "{reason}");
            assert!(reason.contains("stopping"), "{reason}");
        }
        other => panic!("expected the connection closed, got {other:?}"),
    }
    assert!(
        app.stopped_within(Duration::from_secs(5)).await,
        "the server had not stopped {:?} after it was asked to",
        asked.elapsed()
    );
    let refused = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await;
    assert!(refused.is_err(), "still answering: {refused:?}");
}

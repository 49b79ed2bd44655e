//! Sign-in: tokens that must be refused, refresh rotation with reuse detection, throttling.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TEST_JWT_SECRET, TestApp, error_code, number_of, spawn_app};

const VIEWER: &str = "{ viewer { id email role status } }";

async fn status_and_body(app: &TestApp, token: &str) -> (u16, Value) {
    let r = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .json(&json!({ "query": VIEWER }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn forge(claims: Value, key: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key),
    )
    .unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn viewer_is_the_signed_in_user_and_null_for_anonymous() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let data = app.data_as(&admin, VIEWER, json!({})).await;
    assert_eq!(data["viewer"]["email"], admin.email.as_str());
    assert_eq!(data["viewer"]["role"], "ADMIN");
    assert!(app.data(VIEWER, json!({})).await["viewer"].is_null());

    let (_, email) = app.register("DONOR", Some(("donorId", "1"))).await;
    let pending = app.login(&email).await;
    let data = app
        .data_as(
            &pending,
            "{ viewer { status role requestedRole donor { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["viewer"]["status"], "PENDING");
    assert!(data["viewer"]["role"].is_null());
    assert_eq!(
        number_of(data["viewer"]["donor"]["id"].as_str().unwrap()),
        1
    );

    // The scheme's name is case-insensitive (RFC 7235); another scheme is no token.
    for (header, status) in [
        (format!("bearer {}", admin.access_token), 200),
        (format!("Basic {}", admin.access_token), 401),
    ] {
        let r = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("Authorization", &header)
            .json(&json!({ "query": VIEWER }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{}", &header[..6]);
        let body: Value = r.json().await.unwrap();
        if status == 200 {
            assert_eq!(body["data"]["viewer"]["role"], "ADMIN", "{body}");
        }
    }
}

#[tokio::test]
async fn tokens_that_do_not_verify_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (status, _) = status_and_body(&app, &admin.access_token).await;
    assert_eq!(status, 200);
    // The sign-in the admin's token names: a forged token must name a live one too.
    let sid = {
        use base64::Engine;
        let payload = admin.access_token.split('.').nth(1).unwrap();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice::<Value>(&payload).unwrap()["sid"].clone()
    };
    let claims = |over: Value| {
        let mut c = json!({ "sub": number_of(&admin.id).to_string(), "ver": 1, "sid": sid, "iss": "c2c-forum", "aud": "c2c-forum-api", "exp": now() + 600, "iat": now() });
        for (k, v) in over.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    // The forged token with the right key and claims works: the cases below differ in one thing.
    let (status, body) = status_and_body(&app, &forge(claims(json!({})), TEST_JWT_SECRET)).await;
    assert_eq!(status, 200, "{body}");

    let cases = [
        (
            "expired",
            forge(claims(json!({ "exp": now() - 120 })), TEST_JWT_SECRET),
        ),
        (
            "wrong audience",
            forge(claims(json!({ "aud": "someone-else" })), TEST_JWT_SECRET),
        ),
        (
            "wrong issuer",
            forge(claims(json!({ "iss": "someone-else" })), TEST_JWT_SECRET),
        ),
        (
            "other key",
            forge(
                claims(json!({})),
                b"another secret that is long enough for HS256",
            ),
        ),
        (
            "stale version",
            forge(claims(json!({ "ver": 99 })), TEST_JWT_SECRET),
        ),
        (
            "no sign-in",
            forge(
                {
                    let mut c = claims(json!({}));
                    c.as_object_mut().unwrap().remove("sid");
                    c
                },
                TEST_JWT_SECRET,
            ),
        ),
        (
            "another sign-in",
            forge(claims(json!({ "sid": "not-a-sign-in" })), TEST_JWT_SECRET),
        ),
        (
            "unknown user",
            forge(claims(json!({ "sub": "999999" })), TEST_JWT_SECRET),
        ),
        ("alg none", {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            format!(
                "{}.{}.",
                b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
                b64.encode(claims(json!({})).to_string())
            )
        }),
        ("tampered signature", {
            let mut t = admin.access_token.clone();
            let last = t.pop().unwrap();
            t.push(if last == 'A' { 'B' } else { 'A' });
            t
        }),
        ("garbage", "not.a.token".to_string()),
    ];
    for (name, token) in cases {
        let (status, body) = status_and_body(&app, &token).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{name}");
    }
}

#[tokio::test]
async fn a_demoted_or_deleted_user_loses_its_tokens() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let haarlem = app.id_of("cities", "Haarlem").await;
    let vng = app
        .id_of("associations", "Vereniging van Nederlandse Gemeenten")
        .await;
    let user = app.user(&admin, "PRACTITIONER", ("cityId", &haarlem)).await;
    assert_eq!(status_and_body(&app, &user.access_token).await.0, 200);

    // Re-approved as a support provider: the token issued under the old role stops working.
    app.data_as(&admin, "mutation($id: ID!, $a: ID!) { approveUser(userId: $id, role: SUPPORT_PROVIDER, associationId: $a) { role } }", json!({ "id": user.id, "a": vng }))
        .await;
    let (status, body) = status_and_body(&app, &user.access_token).await;
    assert_eq!((status, error_code(&body)), (401, "UNAUTHENTICATED"));
    let fresh = app.login(&user.email).await;
    assert_eq!(
        app.data_as(&fresh, VIEWER, json!({})).await["viewer"]["role"],
        "SUPPORT_PROVIDER"
    );

    // Deleted: nothing it holds works any more.
    let db = app.database().await;
    use sea_orm::ConnectionTrait;
    db.execute_unprepared(&format!(
        "DELETE FROM app_user WHERE id = {}",
        number_of(&fresh.id)
    ))
    .await
    .unwrap();
    assert_eq!(status_and_body(&app, &fresh.access_token).await.0, 401);
    let r = app
        .graphql(
            "mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }",
            json!({ "t": fresh.refresh_token }),
        )
        .await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED");
}

const REFRESH: &str =
    "mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken } }";

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_sign_in() {
    let app = spawn_app().await;
    let admin = app.admin().await;

    let first = app.data(REFRESH, json!({ "t": admin.refresh_token })).await;
    let second_token = first["refresh"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(second_token, admin.refresh_token);
    let access = first["refresh"]["accessToken"].as_str().unwrap();
    assert_eq!(status_and_body(&app, access).await.0, 200);

    // The used token again: someone replays it, so the whole sign-in is revoked…
    let replay = app
        .graphql(REFRESH, json!({ "t": admin.refresh_token }))
        .await;
    assert_eq!(error_code(&replay), "UNAUTHENTICATED");
    // …including the token the legitimate client got in exchange.
    let after = app.graphql(REFRESH, json!({ "t": second_token })).await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED");

    // Another sign-in is untouched, and logging it out revokes it.
    let other = app.login(&admin.email).await;
    let next = app.data(REFRESH, json!({ "t": other.refresh_token })).await;
    let next_token = next["refresh"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.data(
            "mutation($t: String!) { logout(refreshToken: $t) }",
            json!({ "t": next_token })
        )
        .await["logout"],
        true
    );
    assert_eq!(
        error_code(&app.graphql(REFRESH, json!({ "t": next_token })).await),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_without_revealing_accounts() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let login =
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";

    for email in [admin.email.as_str(), "nobody@forum.example"] {
        for attempt in 0..5 {
            let r = app
                .graphql(login, json!({ "e": email, "p": "wrong password!" }))
                .await;
            assert_eq!(
                error_code(&r),
                "UNAUTHENTICATED",
                "{email} attempt {attempt}"
            );
        }
        // Locked now, even with the right password, and the same for an unknown email.
        let r = app
            .graphql(login, json!({ "e": email, "p": PASSWORD }))
            .await;
        assert_eq!(error_code(&r), "RATE_LIMITED", "{email}");
    }
}

#[tokio::test]
async fn registration_is_validated() {
    let app = spawn_app().await;
    let register = "mutation($i: RegisterInput!) { register(input: $i) { id } }";
    let base = json!({ "email": "ann@haarlem.example", "password": "long enough pw", "name": "Ann", "requestedRole": "PRACTITIONER", "cityId": "1" });
    let with = |k: &str, v: Value| {
        let mut i = base.clone();
        i[k] = v;
        json!({ "i": i })
    };
    for (vars, field) in [
        (with("password", json!("short")), "password"),
        (with("email", json!("not-an-email")), "email"),
        (with("name", json!("   ")), "name"),
        (with("cityId", json!("999999")), "cityId"),
        (with("requestedRole", json!("ADMIN")), "requestedRole"),
        (with("requestedRole", json!("DONOR")), "affiliation"),
    ] {
        let r = app.graphql(register, vars).await;
        assert_eq!(error_code(&r), "VALIDATION", "{field}: {r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], field);
    }
    app.data(register, json!({ "i": base })).await;
    // Emails are normalised and unique, yet registering one that exists answers as for a new
    // one: registration does not tell who has an account (hostile::sign_in checks the rest).
    let again = app
        .graphql(register, with("email", json!("  ANN@haarlem.example ")))
        .await;
    assert!(again.get("errors").is_none(), "{again}");
    use sea_orm::ConnectionTrait;
    let accounts = app
        .database()
        .await
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT COUNT(*) FROM app_user WHERE email = 'ann@haarlem.example'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(accounts, 1, "one account for the email");
}

#[tokio::test]
async fn one_client_guessing_across_accounts_is_throttled() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let login =
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";
    // Four failures each on five accounts: no account reaches its limit, the client reaches its own.
    for n in 0..20 {
        let r = app
            .graphql(
                login,
                json!({ "e": format!("guess-{}@forum.example", n / 4), "p": "wrong password!" }),
            )
            .await;
        assert_eq!(error_code(&r), "UNAUTHENTICATED", "attempt {n}");
    }
    let r = app
        .graphql(login, json!({ "e": admin.email, "p": PASSWORD }))
        .await;
    assert_eq!(error_code(&r), "RATE_LIMITED");
}

//! The secretariat's account administration: disabling and enabling accounts, and each user's
//! own password change. Every one audited.

use domain::actor::Role;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, TestUser, error_code, number_of};

const VIEWER: &str = "{ viewer { id status } }";
const DISABLE: &str = "mutation($id: ID!) { disableUser(userId: $id) { id status } }";
const ENABLE: &str = "mutation($id: ID!) { enableUser(userId: $id) { id status } }";
const CHANGE: &str = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { accessToken refreshToken user { id } } }";
const LOGIN: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";

/// The HTTP status and body of `{ viewer }` asked with `token`.
async fn viewer_with(app: &TestApp, token: &str) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .json(&json!({ "query": VIEWER }))
        .send()
        .await
        .expect("an answer");
    (
        response.status().as_u16(),
        response.json().await.expect("JSON"),
    )
}

async fn audit_actions(app: &TestApp, user_id: &str) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = app.database().await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT action FROM audit_entry WHERE entity = 'User' AND entity_id = {} ORDER BY id", number_of(user_id)
            ),
        ))
        .await
        .expect("the audit entries");
    rows.iter()
        .map(|r| r.try_get::<String>("", "action").expect("an action"))
        .collect()
}

#[tokio::test]
async fn only_the_secretariat_disables_and_enables_accounts() {
    let app = TestApp::new()
        .seeded()
        .with_user(Role::Practitioner)
        .with_user(Role::Donor)
        .spawn()
        .await;
    let practitioner = app.user_of(Role::Practitioner);
    let donor = app.user_of(Role::Donor);
    for mutation in [DISABLE, ENABLE] {
        let refused = app
            .graphql_as(Some(practitioner), mutation, json!({ "id": donor.id }))
            .await;
        assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
        let anonymous = app.graphql(mutation, json!({ "id": donor.id })).await;
        assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    }
    let admin = app.admin().await;
    let own = app
        .graphql_as(Some(&admin), DISABLE, json!({ "id": admin.id }))
        .await;
    assert_eq!(error_code(&own), "FORBIDDEN", "{own}");
    let missing = app
        .graphql_as(Some(&admin), DISABLE, json!({ "id": "999999" }))
        .await;
    assert_eq!(error_code(&missing), "NOT_FOUND", "{missing}");
    assert_eq!(viewer_with(&app, &donor.access_token).await.0, 200);
}

#[tokio::test]
async fn a_disabled_accounts_tokens_stop_at_the_next_request() {
    let app = TestApp::new()
        .seeded()
        .with_user(Role::Practitioner)
        .spawn()
        .await;
    let user = app.user_of(Role::Practitioner).clone();
    let admin = app.admin().await;
    let (status, body) = viewer_with(&app, &user.access_token).await;
    assert_eq!(
        (status, &body["data"]["viewer"]["status"]),
        (200, &json!("ACTIVE"))
    );

    let disabled = app.data_as(&admin, DISABLE, json!({ "id": user.id })).await;
    assert_eq!(disabled["disableUser"]["status"], "DISABLED");
    let (status, body) = viewer_with(&app, &user.access_token).await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "UNAUTHENTICATED"),
        "{body}"
    );
    let refreshed = app
        .graphql(
            "mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }",
            json!({ "t": user.refresh_token }),
        )
        .await;
    assert_eq!(error_code(&refreshed), "UNAUTHENTICATED", "{refreshed}");
    let signed_in = app
        .graphql(LOGIN, json!({ "e": user.email, "p": PASSWORD }))
        .await;
    assert_eq!(error_code(&signed_in), "UNAUTHENTICATED", "{signed_in}");

    let enabled = app.data_as(&admin, ENABLE, json!({ "id": user.id })).await;
    assert_eq!(enabled["enableUser"]["status"], "ACTIVE");
    // Enabling gives back the account, not the sign-ins revoked with it.
    assert_eq!(viewer_with(&app, &user.access_token).await.0, 401);
    let again = app.login(&user.email).await;
    assert_eq!(viewer_with(&app, &again.access_token).await.0, 200);

    let actions = audit_actions(&app, &user.id).await;
    assert!(
        actions.ends_with(&["DISABLE".into(), "ENABLE".into(), "LOGIN".into()]),
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_pending_account_enabled_again_is_pending() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;
    let donors = app
        .data("{ donors(first: 1) { edges { node { id } } } }", json!({}))
        .await;
    let donor = donors["donors"]["edges"][0]["node"]["id"]
        .as_str()
        .expect("a donor in the seeded base")
        .to_string();
    let (id, _) = app.register("DONOR", Some(("donorId", &donor))).await;
    app.data_as(&admin, DISABLE, json!({ "id": id })).await;
    let enabled = app.data_as(&admin, ENABLE, json!({ "id": id })).await;
    assert_eq!(enabled["enableUser"]["status"], "PENDING");
}

async fn change(app: &TestApp, user: &TestUser, current: &str, new: &str) -> Value {
    app.graphql_as(Some(user), CHANGE, json!({ "c": current, "n": new }))
        .await
}

#[tokio::test]
async fn a_user_changes_their_password_and_every_other_sign_in_ends() {
    let app = TestApp::new().seeded().with_user(Role::Donor).spawn().await;
    let user = app.user_of(Role::Donor).clone();
    let elsewhere = app.login(&user.email).await;

    let wrong = change(&app, &user, "not the password", "a brand new password").await;
    assert_eq!(error_code(&wrong), "VALIDATION", "{wrong}");
    assert_eq!(wrong["errors"][0]["extensions"]["field"], "currentPassword");
    let short = change(&app, &user, PASSWORD, "short").await;
    assert_eq!(error_code(&short), "VALIDATION", "{short}");
    assert_eq!(short["errors"][0]["extensions"]["field"], "newPassword");
    let anonymous = app
        .graphql(
            CHANGE,
            json!({ "c": PASSWORD, "n": "a brand new password" }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    // Refused attempts changed nothing.
    assert_eq!(viewer_with(&app, &elsewhere.access_token).await.0, 200);

    let changed = change(&app, &user, PASSWORD, "a brand new password").await;
    let fresh = changed["data"]["changePassword"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{changed}"));
    assert_eq!(viewer_with(&app, fresh).await.0, 200);
    for old in [&user.access_token, &elsewhere.access_token] {
        assert_eq!(viewer_with(&app, old).await.0, 401);
    }
    let old_password = app
        .graphql(LOGIN, json!({ "e": user.email, "p": PASSWORD }))
        .await;
    assert_eq!(error_code(&old_password), "UNAUTHENTICATED");
    let new_password = app
        .graphql(
            LOGIN,
            json!({ "e": user.email, "p": "a brand new password" }),
        )
        .await;
    assert!(
        new_password["data"]["login"]["accessToken"].is_string(),
        "{new_password}"
    );
    assert!(
        audit_actions(&app, &user.id)
            .await
            .contains(&"CHANGE_PASSWORD".to_string())
    );
}

#[tokio::test]
async fn guessing_the_current_password_is_throttled() {
    let app = TestApp::new().seeded().with_user(Role::Donor).spawn().await;
    let user = app.user_of(Role::Donor).clone();
    let mut codes = Vec::new();
    for i in 0..=domain::account::MAX_FAILURES_PER_ACCOUNT {
        let answer = change(
            &app,
            &user,
            &format!("guess number {i}"),
            "a brand new password",
        )
        .await;
        codes.push(error_code(&answer).to_string());
    }
    assert_eq!(
        codes.last().map(String::as_str),
        Some("RATE_LIMITED"),
        "{codes:?}"
    );
    // Even the right password now waits for the window to pass.
    let right = change(&app, &user, PASSWORD, "a brand new password").await;
    assert_eq!(error_code(&right), "RATE_LIMITED");
}

const RESET: &str =
    "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }";

#[tokio::test]
async fn a_reset_token_sets_a_new_password_once() {
    let app = TestApp::new().seeded().with_user(Role::Donor).spawn().await;
    let user = app.user_of(Role::Donor).clone();
    let accounts = app.services().accounts();
    // What `c2c-forum user reset-password --email E` prints.
    let (token, _) = accounts
        .issue_reset_token(&user.email, domain::account::RESET_TOKEN_LIFETIME)
        .await
        .expect("a token");

    let short = app
        .graphql(RESET, json!({ "t": token, "p": "short" }))
        .await;
    assert_eq!(
        short["errors"][0]["extensions"]["field"], "newPassword",
        "{short}"
    );
    let forged = app
        .graphql(
            RESET,
            json!({ "t": "not-a-token", "p": "a reset password!" }),
        )
        .await;
    assert_eq!(
        forged["errors"][0]["extensions"]["field"], "token",
        "{forged}"
    );

    // The refused password above did not spend the token.
    let reset = app
        .graphql(RESET, json!({ "t": token, "p": "a reset password!" }))
        .await;
    assert_eq!(reset["data"]["resetPassword"], true, "{reset}");
    assert_eq!(
        viewer_with(&app, &user.access_token).await.0,
        401,
        "sign-ins end"
    );
    let again = app
        .graphql(RESET, json!({ "t": token, "p": "another password!" }))
        .await;
    assert_eq!(error_code(&again), "VALIDATION", "{again}");
    assert_eq!(again["errors"][0]["extensions"]["field"], "token");

    let signed_in = app
        .graphql(LOGIN, json!({ "e": user.email, "p": "a reset password!" }))
        .await;
    assert!(
        signed_in["data"]["login"]["accessToken"].is_string(),
        "{signed_in}"
    );
    let actions = audit_actions(&app, &user.id).await;
    for action in ["ISSUE_PASSWORD_RESET", "RESET_PASSWORD"] {
        assert!(actions.contains(&action.to_string()), "{actions:?}");
    }
}

#[tokio::test]
async fn an_expired_reset_token_is_refused() {
    let app = TestApp::new().seeded().with_user(Role::Donor).spawn().await;
    let user = app.user_of(Role::Donor).clone();
    let (token, _) = app
        .services()
        .accounts()
        .issue_reset_token(&user.email, chrono::Duration::seconds(-1))
        .await
        .expect("a token");
    let expired = app
        .graphql(RESET, json!({ "t": token, "p": "a reset password!" }))
        .await;
    assert_eq!(
        expired["errors"][0]["extensions"]["field"], "token",
        "{expired}"
    );
    // The old password still works.
    assert_eq!(viewer_with(&app, &user.access_token).await.0, 200);
    let unknown = app
        .services()
        .accounts()
        .issue_reset_token(
            "nobody@forum.example",
            domain::account::RESET_TOKEN_LIFETIME,
        )
        .await;
    assert!(unknown.is_err());
}

const USERS: &str = "query($filter: UserFilter, $first: Int, $after: String) {
  users(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id email status role requestedRole } }
  }
}";

fn ids_of(page: &Value) -> Vec<String> {
    page["users"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn the_secretariat_lists_pending_accounts_by_role_page_by_page() {
    let app = TestApp::new()
        .seeded()
        .with_user(Role::Practitioner)
        .spawn()
        .await;
    let admin = app.admin().await;
    let donors = app
        .data("{ donors(first: 1) { edges { node { id } } } }", json!({}))
        .await;
    let donor = donors["donors"]["edges"][0]["node"]["id"]
        .as_str()
        .expect("a donor in the seeded base")
        .to_string();
    let mut pending_donors = Vec::new();
    for _ in 0..3 {
        pending_donors.push(app.register("DONOR", Some(("donorId", &donor))).await.0);
    }
    let cities = app
        .data("{ cities(first: 1) { nodes { id } } }", json!({}))
        .await;
    let city = cities["cities"]["nodes"][0]["id"]
        .as_str()
        .expect("a city in the seeded base");
    let (other, _) = app.register("PRACTITIONER", Some(("cityId", city))).await;

    let pending = app
        .data_as(
            &admin,
            USERS,
            json!({ "filter": { "status": "PENDING" }, "first": 100 }),
        )
        .await;
    let listed = ids_of(&pending);
    assert_eq!(pending["users"]["totalCount"], 4, "{pending}");
    assert!(listed.contains(&other));
    assert!(pending_donors.iter().all(|id| listed.contains(id)));
    for edge in pending["users"]["edges"].as_array().expect("edges") {
        assert_eq!(edge["node"]["status"], "PENDING");
        assert_eq!(edge["node"]["role"], Value::Null);
    }

    // Page by page through the pending donors: each once, in registration order.
    let filter = json!({ "status": "PENDING", "role": "DONOR" });
    let first = app
        .data_as(&admin, USERS, json!({ "filter": filter, "first": 2 }))
        .await;
    assert_eq!(first["users"]["totalCount"], 3);
    assert_eq!(first["users"]["pageInfo"]["hasNextPage"], true);
    let after = first["users"]["pageInfo"]["endCursor"].clone();
    let second = app
        .data_as(
            &admin,
            USERS,
            json!({ "filter": filter, "first": 2, "after": after }),
        )
        .await;
    assert_eq!(second["users"]["pageInfo"]["hasNextPage"], false);
    let mut walked = ids_of(&first);
    walked.extend(ids_of(&second));
    assert_eq!(walked, pending_donors);

    // The approved practitioner is ACTIVE with its role; the admin too.
    let active = app
        .data_as(
            &admin,
            USERS,
            json!({ "filter": { "status": "ACTIVE", "role": "PRACTITIONER" } }),
        )
        .await;
    assert_eq!(active["users"]["totalCount"], 1, "{active}");
    assert_eq!(
        active["users"]["edges"][0]["node"]["id"],
        app.user_of(Role::Practitioner).id.as_str()
    );
}

#[tokio::test]
async fn only_the_secretariat_lists_accounts() {
    let app = TestApp::new()
        .seeded()
        .with_user(Role::Practitioner)
        .spawn()
        .await;
    let refused = app
        .graphql_as(Some(app.user_of(Role::Practitioner)), USERS, json!({}))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    assert!(refused["data"].is_null() || refused["data"]["users"].is_null());
    let anonymous = app.graphql(USERS, json!({})).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    let too_many = app
        .graphql_as(Some(&app.admin().await), USERS, json!({ "first": 101 }))
        .await;
    assert_eq!(error_code(&too_many), "VALIDATION", "{too_many}");
}

/// A password is one however its letters are encoded: "Zürich" typed with a composed ü signs in
/// where it was set with u and a combining diaeresis, and the other way round. An account whose
/// hash was made of the password as typed, before passwords were compared in one form, still
/// signs in with it.
#[tokio::test]
async fn a_password_is_one_in_composed_and_decomposed_letters() {
    let app = crate::helpers::spawn_app().await;
    let admin = app.admin().await;
    let composed = "Z\u{FC}rich-Gda\u{144}sk";
    let decomposed = "Zu\u{308}rich-Gdan\u{301}sk";
    let changed = app
        .graphql_as(
            Some(&admin),
            CHANGE,
            json!({ "c": PASSWORD, "n": decomposed }),
        )
        .await;
    assert!(changed["errors"].is_null(), "{changed}");
    let signs_in = |password: &'static str| {
        let (app, email) = (&app, admin.email.clone());
        async move {
            let r = app
                .graphql(LOGIN, json!({ "e": email, "p": password }))
                .await;
            r["data"]["login"]["accessToken"].is_string()
        }
    };
    assert!(signs_in(composed).await, "set decomposed, typed composed");
    assert!(signs_in(decomposed).await);
    assert!(!signs_in("Zurich-Gdansk").await, "accents still count");

    // A hash of the decomposed password as it was typed, as made before.
    let (hasher, _) = api::auth::token_services(api::auth::HashingLimits::default());
    let typed = hasher.hash(decomposed).await.expect("a hash");
    let db = app.database().await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        &format!(
            "UPDATE app_user SET password_hash = '{typed}' WHERE email = '{}'",
            admin.email
        ),
    )
    .await
    .expect("the old hash stored");
    assert!(signs_in(decomposed).await, "the old hash, typed as set");
}

/// An email is one address however its letters are composed: an account made as "zoë" with a
/// combining diaeresis signs in typed with a composed ë and cannot be made twice, and an
/// address kept decomposed, as before emails were composed, is brought to the composed form by
/// its migration.
#[tokio::test]
async fn an_email_is_one_in_composed_and_decomposed_letters() {
    let app = crate::helpers::spawn_app().await;
    let local = uuid::Uuid::new_v4().simple().to_string();
    let composed = format!("zo\u{EB}-{local}@forum.example");
    let decomposed = format!("Zoe\u{308}-{local}@forum.example");
    let accounts = app.services().accounts();
    accounts
        .create_active(&decomposed, PASSWORD, "Zoë", Role::Admin, None)
        .await
        .expect("the account made");
    let signs_in = |email: String| {
        let app = &app;
        async move {
            let r = app
                .graphql(LOGIN, json!({ "e": email, "p": PASSWORD }))
                .await;
            r["data"]["login"]["accessToken"].is_string()
        }
    };
    assert!(
        signs_in(composed.clone()).await,
        "made decomposed, typed composed"
    );
    assert!(signs_in(decomposed.clone()).await);
    let again = accounts
        .create_active(&composed, PASSWORD, "Zoë", Role::Admin, None)
        .await;
    assert!(
        matches!(again, Err(domain::Error::Conflict(_))),
        "{again:?}"
    );

    let db = app.database().await;
    let kept_decomposed = format!("zoe\u{308}-{local}@forum.example");
    sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        &format!("UPDATE app_user SET email = '{kept_decomposed}' WHERE email = '{composed}'"),
    )
    .await
    .expect("the email kept as before");
    assert!(
        !signs_in(composed.clone()).await,
        "not found as kept before"
    );
    crate::helpers::migrate_down_through(&db, "m20261220_010000_composed_emails").await;
    {
        use migration::MigratorTrait;
        migration::Migrator::up(&db, None).await.unwrap();
    }
    assert!(signs_in(composed).await, "composed by the migration");
    assert!(signs_in(decomposed).await);
}

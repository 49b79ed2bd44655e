//! Live updates over WebSocket: `GET /graphql` with `Upgrade: websocket` and the subprotocol
//! `graphql-transport-ws` (the graphql-ws library's protocol; the older `graphql-ws` of
//! subscriptions-transport-ws is accepted too). The subscription fields are in
//! [`crate::graphql::live`]; the GraphQL side of the protocol is async-graphql's, this module is
//! the transport and the connection's rules:
//!
//! - Authentication is in the `connection_init` payload, `{"Authorization": "Bearer <token>"}`
//!   or `{"token": "<token>"}`, checked like the `Authorization` header of a request (signature,
//!   expiry, revoked sign-in, disabled user); without one the connection is anonymous. A token
//!   that does not pass closes the connection with 4403.
//! - When the access token expires the server closes the connection with 4401: the client
//!   refreshes and connects again. The token is checked again every
//!   [`SubscriptionSettings::recheck`], so a sign-in revoked or an account disabled meanwhile
//!   closes the connection with 4403 within that time, not at the token's expiry.
//! - Without `connection_init` within [`SubscriptionSettings::init_timeout`] the server closes
//!   with 4408.
//! - A server that stops (SIGTERM, SIGINT) closes every connection with 1001: the client
//!   connects again.
//! - One client address holds at most [`SubscriptionSettings::connections_per_client`]
//!   connections (HTTP 429 beyond), and one connection at most
//!   [`SubscriptionSettings::per_connection`] subscriptions (RATE_LIMITED beyond).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Session};
use async_graphql::http::{WebSocket, WebSocketProtocols as Protocols, WsMessage};
use futures_util::StreamExt;
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};

use crate::app::Services;
use crate::auth;
use crate::config::MAX_REQUEST_BYTES;

/// Closed with this when the access token the connection was opened with expires.
pub const CLOSE_TOKEN_EXPIRED: u16 = 4401;
/// Closed with this when `connection_init` carries a token that does not pass.
pub const CLOSE_FORBIDDEN: u16 = 4403;
/// Closed with this when no `connection_init` came in time.
pub const CLOSE_INIT_TIMEOUT: u16 = 4408;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionSettings {
    /// Subscriptions one connection may hold at once.
    pub per_connection: usize,
    /// WebSocket connections one client address may hold at once.
    pub connections_per_client: usize,
    /// Events a subscriber may fall behind before it skips the oldest.
    pub lag: usize,
    /// How long a new connection has to send `connection_init`.
    pub init_timeout: Duration,
    /// How often an open connection's token is checked again, as a request's would be: a
    /// sign-in revoked or an account disabled meanwhile closes the connection within this time.
    pub recheck: Duration,
    /// How often the change log is read when no notification came (see
    /// [`persistence::events`]): the longest an event may wait when one is lost.
    pub sweep: Duration,
}

impl Default for SubscriptionSettings {
    fn default() -> Self {
        SubscriptionSettings {
            per_connection: 16,
            connections_per_client: 8,
            lag: 256,
            init_timeout: Duration::from_secs(10),
            recheck: Duration::from_secs(5),
            sweep: persistence::events::SWEEP_EVERY,
        }
    }
}

/// Messages from the client waiting for the protocol to take them; a client that sends faster
/// than that is closed rather than buffered.
const QUEUED_MESSAGES: usize = 64;

/// The open connections per client address, and whether the server is stopping.
#[derive(Clone)]
pub struct Connections {
    open: Arc<Mutex<HashMap<String, usize>>>,
    stopping: tokio::sync::watch::Receiver<bool>,
}

/// One open connection, counted until dropped.
struct Counted {
    open: Arc<Mutex<HashMap<String, usize>>>,
    client: String,
}

impl Connections {
    /// No connection open yet; each closes (1001, Going Away) once `stopping` turns true.
    pub fn new(stopping: tokio::sync::watch::Receiver<bool>) -> Connections {
        Connections {
            open: Arc::default(),
            stopping,
        }
    }

    fn open(&self, client: &str, limit: usize) -> Option<Counted> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(client.to_string()).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Counted {
            open: self.open.clone(),
            client: client.to_string(),
        })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// Whether the request asks to become a WebSocket: what routes `GET /graphql` here.
pub fn is_upgrade(ctx: &actix_web::guard::GuardContext) -> bool {
    ctx.head()
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The protocol the client offers that we speak, graphql-transport-ws first.
fn protocol(http: &HttpRequest) -> Option<Protocols> {
    let offered: Vec<String> = http
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_ascii_lowercase())
        .collect();
    [Protocols::GraphQLWS, Protocols::SubscriptionsTransportWS]
        .into_iter()
        .find(|p| offered.iter().any(|o| o == p.sec_websocket_protocol()))
}

fn refused(status: actix_web::http::StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    }))
}

/// Upgrades the request of `client` (its address, as budgets know it) to a connection that
/// runs subscriptions.
pub fn upgrade(
    services: &Services,
    connections: &Connections,
    settings: &SubscriptionSettings,
    http: &HttpRequest,
    payload: web::Payload,
    client: String,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let Some(protocol) = protocol(http) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "ask for the WebSocket subprotocol graphql-transport-ws",
        );
    };
    let Some(counted) = connections.open(&client, settings.connections_per_client) else {
        return refused(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            "this client holds as many subscription connections as it may",
        );
    };
    let (mut response, session, messages) = match actix_ws::handle(http, payload) {
        Ok(upgraded) => upgraded,
        Err(e) => return e.error_response(),
    };
    response.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        header::HeaderValue::from_static(protocol.sec_websocket_protocol()),
    );
    let messages = messages
        .max_frame_size(MAX_REQUEST_BYTES)
        .aggregate_continuations()
        .max_continuation_size(MAX_REQUEST_BYTES);
    let connection = Connection {
        services: services.clone(),
        settings: settings.clone(),
        client,
        protocol,
        stopping: connections.stopping.clone(),
        _counted: counted,
    };
    // The message stream borrows the request's payload, which stays on this worker's thread.
    actix_web::rt::spawn(connection.run(session, messages));
    response
}

struct Connection {
    services: Services,
    settings: SubscriptionSettings,
    client: String,
    protocol: Protocols,
    stopping: tokio::sync::watch::Receiver<bool>,
    _counted: Counted,
}

/// The connection's token (as an `Authorization` header) and when it expires: sent once
/// `connection_init` has been accepted, None for an anonymous connection.
type Accepted = oneshot::Sender<Option<(String, Instant)>>;

impl Connection {
    async fn run(self, mut session: Session, mut messages: actix_ws::AggregatedMessageStream) {
        let (to_protocol, from_client) = tokio::sync::mpsc::channel::<String>(QUEUED_MESSAGES);
        let incoming = Box::pin(futures_util::stream::unfold(
            from_client,
            |mut rx| async move { rx.recv().await.map(|m| (m, rx)) },
        ));
        let (accepted, mut acceptance) = oneshot::channel();
        let (services, client) = (self.services.clone(), self.client.clone());
        let per_connection = self.settings.per_connection;
        // Ordered: events keep the subscription's field order, as answers over HTTP do.
        let schema = crate::order::Ordered(self.services.schema().clone());
        let protocol =
            WebSocket::new(schema, incoming, self.protocol).on_connection_init(move |payload| {
                init(services, client, per_connection, payload, accepted)
            });
        tokio::pin!(protocol);
        let init_deadline = tokio::time::sleep(self.settings.init_timeout);
        tokio::pin!(init_deadline);
        let mut waiting_for_init = true;
        let mut expiry: Option<Pin<Box<Sleep>>> = None;
        let mut token: Option<String> = None;
        let mut recheck = tokio::time::interval(self.settings.recheck);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stopping = self.stopping.clone();
        let mut watching = true;
        let close = loop {
            tokio::select! {
                frame = messages.next() => match frame {
                    Some(Ok(AggregatedMessage::Text(text))) => {
                        if to_protocol.try_send(text.to_string()).is_err() {
                            break Some(reason(CloseCode::Policy, "messages are coming too fast"));
                        }
                    }
                    Some(Ok(AggregatedMessage::Binary(bytes))) => {
                        let text = String::from_utf8_lossy(&bytes).into_owned();
                        if to_protocol.try_send(text).is_err() {
                            break Some(reason(CloseCode::Policy, "messages are coming too fast"));
                        }
                    }
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        if session.pong(&bytes).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => {}
                    Some(Ok(AggregatedMessage::Close(_))) | Some(Err(_)) | None => break None,
                },
                out = protocol.next() => match out {
                    Some(WsMessage::Text(text)) => {
                        if session.text(text).await.is_err() {
                            return;
                        }
                    }
                    Some(WsMessage::Close(code, message)) => break Some(closing(code, message)),
                    None => break None,
                },
                accepted = &mut acceptance, if waiting_for_init => {
                    waiting_for_init = false;
                    if let Ok(Some((header, at))) = accepted {
                        expiry = Some(Box::pin(tokio::time::sleep_until(at)));
                        token = Some(header);
                        recheck.reset();
                    }
                }
                _ = recheck.tick(), if token.is_some() => {
                    if self.revoked(token.as_deref()).await {
                        break Some(reason(
                            CloseCode::Other(CLOSE_FORBIDDEN),
                            "the sign-in was revoked or the account disabled",
                        ));
                    }
                }
                _ = async { expiry.as_mut().expect("guarded").await }, if expiry.is_some() => {
                    break Some(reason(
                        CloseCode::Other(CLOSE_TOKEN_EXPIRED),
                        "the access token expired; refresh it and connect again",
                    ));
                }
                _ = &mut init_deadline, if waiting_for_init => {
                    break Some(reason(
                        CloseCode::Other(CLOSE_INIT_TIMEOUT),
                        "connection initialisation timeout",
                    ));
                }
                // The server stops once its connections are done, and a subscription never is:
                // left open, it held the stop for its whole timeout and then ended without a
                // close, which clients take for a failure rather than a cue to connect again.
                stopped = stopping.wait_for(|stopping| *stopping), if watching => {
                    if stopped.is_ok() {
                        break Some(reason(CloseCode::Away, "the server is stopping; connect again"));
                    }
                    // The server went without saying it stops: nothing more to wait for.
                    watching = false;
                }
            }
        };
        let _ = session.close(close).await;
    }
}

impl Connection {
    /// Whether the token no longer signs in: revoked, its account disabled or changed. A check
    /// that could not be made (the database away) keeps the connection until the next one.
    async fn revoked(&self, header: Option<&str>) -> bool {
        matches!(
            auth::actor_from_header(header, self.services.jwt(), self.services.accounts()).await,
            Err(domain::Error::Unauthenticated)
        )
    }
}

fn reason(code: CloseCode, description: &str) -> CloseReason {
    CloseReason {
        code,
        description: Some(description.to_string()),
    }
}

/// The close the protocol asked for; a refused `connection_init` is 4403, as graphql-ws has it.
fn closing(code: u16, message: String) -> CloseReason {
    let code = if message.starts_with(FORBIDDEN) {
        CLOSE_FORBIDDEN
    } else {
        code
    };
    CloseReason {
        code: CloseCode::from(code),
        description: Some(message),
    }
}

const FORBIDDEN: &str = "Forbidden";

/// The bearer token of a `connection_init` payload, as an `Authorization` header value.
fn authorization(payload: &serde_json::Value) -> Result<Option<String>, ()> {
    let Some(fields) = payload.as_object() else {
        return if payload.is_null() { Ok(None) } else { Err(()) };
    };
    let header = fields
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value);
    match (header, fields.get("token")) {
        (Some(serde_json::Value::String(h)), _) => Ok(Some(h.clone())),
        (None, Some(serde_json::Value::String(t))) => Ok(Some(format!("Bearer {t}"))),
        (None, None) => Ok(None),
        _ => Err(()),
    }
}

/// Accepts `connection_init`: the subscriber's actor and what the subscriptions read with.
async fn init(
    services: Services,
    client: String,
    per_connection: usize,
    payload: serde_json::Value,
    accepted: Accepted,
) -> async_graphql::Result<async_graphql::Data> {
    let forbidden = || {
        async_graphql::Error::new(format!(
            "{FORBIDDEN}: the access token is invalid or expired"
        ))
    };
    let header = authorization(&payload).map_err(|_| forbidden())?;
    let actor = auth::actor_from_header(header.as_deref(), services.jwt(), services.accounts())
        .await
        .map_err(|e| {
            if !matches!(e, domain::Error::Unauthenticated) {
                tracing::error!(error = %e, "resolving a subscriber failed");
            }
            forbidden()
        })?;
    let expires = match &header {
        Some(header) => {
            let token = auth::bearer_token(header).unwrap_or_default();
            let claims = services.jwt().verify(token).map_err(|_| forbidden())?;
            let left = (claims.exp - chrono::Utc::now().timestamp()).max(0) as u64;
            Some((header.clone(), Instant::now() + Duration::from_secs(left)))
        }
        None => None,
    };
    let _ = accepted.send(expires);
    Ok(services.subscription_data(actor, client, per_connection))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_token_is_read_from_either_payload_shape() {
        assert_eq!(authorization(&json!(null)), Ok(None));
        assert_eq!(authorization(&json!({})), Ok(None));
        assert_eq!(
            authorization(&json!({ "Authorization": "Bearer abc" })),
            Ok(Some("Bearer abc".into()))
        );
        assert_eq!(
            authorization(&json!({ "authorization": "Bearer abc" })),
            Ok(Some("Bearer abc".into()))
        );
        assert_eq!(
            authorization(&json!({ "token": "abc" })),
            Ok(Some("Bearer abc".into()))
        );
        assert_eq!(authorization(&json!({ "token": 5 })), Err(()));
        assert_eq!(authorization(&json!("Bearer abc")), Err(()));
    }

    #[test]
    fn a_client_holds_at_most_its_connections() {
        let connections = Connections::new(tokio::sync::watch::channel(false).1);
        let first = connections.open("1.2.3.4", 2);
        let second = connections.open("1.2.3.4", 2);
        assert!(first.is_some() && second.is_some());
        assert!(connections.open("1.2.3.4", 2).is_none());
        assert!(connections.open("5.6.7.8", 2).is_some());
        drop(first);
        assert!(connections.open("1.2.3.4", 2).is_some());
    }
}

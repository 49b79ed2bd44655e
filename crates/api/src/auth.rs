//! Sign-in tokens: short-lived JWT access tokens (HS256 pinned; issuer, audience and expiry
//! checked), opaque refresh tokens stored hashed, and argon2id password hashes.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use domain::account::{Accounts, PasswordHasher, TokenMaker, User, UserStatus};
use domain::{Actor, Error, Result};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const ISSUER: &str = "c2c-forum";
pub const AUDIENCE: &str = "c2c-forum-api";
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::minutes(15);
/// Shortest secret accepted for HS256.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// The user's record version when the token was issued: approval or a role change bumps
    /// it, which retires older tokens.
    pub ver: i32,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
}

/// The signing key; never printed.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    pub fn from_secret(secret: &[u8]) -> std::result::Result<Self, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "C2C_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long"
            ));
        }
        Ok(JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        })
    }

    /// A random key for development: tokens die with the process.
    pub fn generated() -> Self {
        let mut secret = [0u8; 64];
        OsRng.fill_bytes(&mut secret);
        JwtKeys {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
        }
    }

    pub fn issue(&self, user: &User) -> Result<(String, DateTime<Utc>)> {
        let now = Utc::now();
        let expires = now + ACCESS_TOKEN_LIFETIME;
        let claims = Claims {
            sub: user.id.to_string(),
            ver: user.version,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            exp: expires.timestamp(),
            iat: now.timestamp(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(Error::internal)?;
        Ok((token, expires))
    }

    /// Checks signature (HS256 only: `alg: none` and any other algorithm are refused), issuer,
    /// audience and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| Error::Unauthenticated)
    }
}

/// The actor behind an `Authorization` header: anonymous without one; UNAUTHENTICATED for a
/// token that does not verify or whose user no longer exists, is disabled, or has changed since.
pub async fn actor_from_header(
    header: Option<&str>,
    keys: &JwtKeys,
    accounts: &Accounts,
) -> Result<Actor> {
    let Some(value) = header else {
        return Ok(Actor::Anonymous);
    };
    let token = value
        .strip_prefix("Bearer ")
        .ok_or(Error::Unauthenticated)?
        .trim();
    let claims = keys.verify(token)?;
    let id: i64 = claims.sub.parse().map_err(|_| Error::Unauthenticated)?;
    let user = accounts.user(id).await?.ok_or(Error::Unauthenticated)?;
    if user.version != claims.ver {
        return Err(Error::Unauthenticated);
    }
    match user.status {
        UserStatus::Pending => Ok(Actor::Pending { id }),
        UserStatus::Active => user.actor(),
        UserStatus::Disabled => Err(Error::Unauthenticated),
    }
}

/// argon2id with the crate's recommended parameters, off the async threads.
pub struct Argon2Hasher;

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &str) -> Result<String> {
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(Error::internal)
        })
        .await
        .map_err(Error::internal)?
    }

    async fn verify(&self, password: &str, hash: &str) -> Result<bool> {
        let password = password.to_owned();
        let hash = hash.to_owned();
        tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&hash).map_err(Error::internal)?;
            Ok(Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
        })
        .await
        .map_err(Error::internal)?
    }
}

/// Refresh tokens: 256 random bits, stored as their SHA-256 (a fast hash suffices for a secret
/// with that much entropy).
pub struct RandomTokens;

impl TokenMaker for RandomTokens {
    fn new_token(&self) -> (String, String) {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let hash = self.hash(&token);
        (token, hash)
    }

    fn hash(&self, token: &str) -> String {
        Sha256::digest(token.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn new_family(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

pub fn token_services() -> (Arc<dyn PasswordHasher>, Arc<dyn TokenMaker>) {
    (Arc::new(Argon2Hasher), Arc::new(RandomTokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(version: i32) -> User {
        User {
            id: 7,
            version,
            email: "a@b.org".into(),
            name: "A".into(),
            status: UserStatus::Active,
            role: None,
            affiliation: None,
            requested_role: domain::actor::Role::Donor,
            requested_affiliation: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn issued_tokens_verify_and_tampered_ones_do_not() {
        let keys = JwtKeys::generated();
        let (token, _) = keys.issue(&user(3)).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.ver), ("7", 3));
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(keys.verify(&tampered).is_err());
        assert!(JwtKeys::generated().verify(&token).is_err(), "another key");
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(JwtKeys::from_secret(b"short").is_err());
        assert!(JwtKeys::from_secret(&[7u8; 32]).is_ok());
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, ha) = RandomTokens.new_token();
        let (b, _) = RandomTokens.new_token();
        assert_ne!(a, b);
        assert_eq!(ha, RandomTokens.hash(&a));
        assert_eq!(ha.len(), 64);
    }
}

//! Sign-in tokens: short-lived JWT access tokens (HS256 pinned; issuer, audience and expiry
//! checked), opaque refresh tokens stored hashed, and argon2id password hashes.

use std::sync::Arc;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm as Argon2Algorithm, Argon2, Block, Params, Version};
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
    /// The sign-in (refresh-token family) the token was issued to: revoking it stops the
    /// token at once.
    pub sid: String,
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

    pub fn issue(&self, user: &User, sign_in: &str) -> Result<(String, DateTime<Utc>)> {
        let now = Utc::now();
        let expires = now + ACCESS_TOKEN_LIFETIME;
        let claims = Claims {
            sub: user.id.to_string(),
            ver: user.version,
            sid: sign_in.into(),
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

/// The token of an `Authorization: Bearer <token>` header. The scheme's name is matched in any
/// case (RFC 7235 makes it case-insensitive, and some clients send `bearer`).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty()).then_some(token)
}

/// The actor behind an `Authorization` header: anonymous without one; UNAUTHENTICATED for a
/// token that does not verify, whose user no longer exists, is disabled or has changed since,
/// or whose sign-in has been revoked. Called once a request; two point reads.
pub async fn actor_from_header(
    header: Option<&str>,
    keys: &JwtKeys,
    accounts: &Accounts,
) -> Result<Actor> {
    let Some(value) = header else {
        return Ok(Actor::Anonymous);
    };
    let token = bearer_token(value).ok_or(Error::Unauthenticated)?;
    let claims = keys.verify(token)?;
    let id: i64 = claims.sub.parse().map_err(|_| Error::Unauthenticated)?;
    let user = accounts.user(id).await?.ok_or(Error::Unauthenticated)?;
    if user.version != claims.ver || !accounts.sign_in_is_live(id, &claims.sid).await? {
        return Err(Error::Unauthenticated);
    }
    match user.status {
        UserStatus::Pending => Ok(Actor::Pending { id }),
        UserStatus::Active => user.actor(),
        UserStatus::Disabled => Err(Error::Unauthenticated),
    }
}

/// How much password hashing may run at once, and how much may wait for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashingLimits {
    /// Threads hashing at once; each holds the argon2 memory cost ([`ARGON2_MEMORY_KIB`]) while
    /// it works.
    pub workers: usize,
    /// Requests waiting for a thread; beyond them a request answers RATE_LIMITED at once.
    pub queue: usize,
}

/// Waiting requests beyond the threads: at about 40 ms a hash on one core, a full queue drains
/// in well under two seconds on two cores.
pub const DEFAULT_HASH_QUEUE: usize = 64;

/// argon2id's memory cost (the argon2 crate's default, OWASP's recommendation): every hash and
/// every check holds this much for its duration.
pub const ARGON2_MEMORY_KIB: u32 = argon2::Params::DEFAULT_M_COST;

/// A thread idle this long gives its argon2 memory back.
const IDLE_RELEASE: std::time::Duration = std::time::Duration::from_secs(1);

impl Default for HashingLimits {
    fn default() -> Self {
        HashingLimits {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue: DEFAULT_HASH_QUEUE,
        }
    }
}

enum Work {
    Hash(String),
    Verify { password: String, hash: String },
}

enum Done {
    Hashed(String),
    Verified(bool),
}

struct Job {
    work: Work,
    reply: tokio::sync::oneshot::Sender<Result<Done>>,
}

/// argon2id on a fixed set of threads fed by a bounded queue. Each hash holds its memory cost
/// (19 MiB) for tens of milliseconds: run on the async runtime's blocking pool, a burst of
/// sign-ins ran hundreds at once and took gigabytes. Here at most `workers` run, each in a
/// buffer of its own reused from one hash to the next and released when idle, so memory stays
/// within `workers` × 19 MiB above the baseline and returns to it.
pub struct PasswordPool {
    jobs: std::sync::mpsc::SyncSender<Job>,
}

impl PasswordPool {
    pub fn new(limits: HashingLimits) -> Self {
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(limits.queue);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..limits.workers.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || hashing_worker(&queue))
                .expect("a password hashing thread starts");
        }
        PasswordPool { jobs }
    }

    async fn run(&self, work: Work) -> Result<Done> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .try_send(Job { work, reply })
            .map_err(|e| match e {
                std::sync::mpsc::TrySendError::Full(_) => Error::RateLimited,
                std::sync::mpsc::TrySendError::Disconnected(_) => {
                    Error::internal("the password hashing threads are gone")
                }
            })?;
        answer
            .await
            .map_err(|_| Error::internal("a password hashing thread failed"))?
    }
}

/// Takes jobs until the pool is dropped; keeps one argon2 buffer while busy.
fn hashing_worker(queue: &std::sync::Mutex<std::sync::mpsc::Receiver<Job>>) {
    use std::sync::mpsc::RecvTimeoutError;
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let next = match queue.lock() {
            Ok(receiver) => receiver.recv_timeout(IDLE_RELEASE),
            Err(_) => return,
        };
        let job = match next {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                memory = Vec::new();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // Nobody waits for an answer any more (the client went away): skip the work.
        if job.reply.is_closed() {
            continue;
        }
        let done = match job.work {
            Work::Hash(password) => hash_password(&password, &mut memory).map(Done::Hashed),
            Work::Verify { password, hash } => {
                verify_password(&password, &hash, &mut memory).map(Done::Verified)
            }
        };
        let _ = job.reply.send(done);
    }
}

fn argon2id(params: Params) -> Argon2<'static> {
    Argon2::new(Argon2Algorithm::Argon2id, Version::V0x13, params)
}

/// The buffer grown to `blocks`; never beyond what our own parameters ask for, so a stored hash
/// with a larger memory cost cannot make a check take more.
fn buffer(memory: &mut Vec<Block>, blocks: usize) -> Result<&mut [Block]> {
    let allowed = Params::default().block_count();
    if blocks > allowed {
        return Err(Error::internal(format!(
            "a stored password hash asks for {blocks} blocks of memory, more than {allowed}"
        )));
    }
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Ok(&mut memory[..blocks])
}

/// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), as the argon2 crate writes it.
fn hash_password(password: &str, memory: &mut Vec<Block>) -> Result<String> {
    let params = Params::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut raw_salt = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut raw_salt).map_err(Error::internal)?;
    let blocks = buffer(memory, params.block_count())?;
    let argon2 = argon2id(params.clone());
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon2
            .hash_password_into_with_memory(password.as_bytes(), raw_salt, out, &mut *blocks)
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(Error::internal)?;
    let phc = PasswordHash {
        algorithm: Argon2Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(Error::internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Whether `password` hashes to the stored PHC string; the comparison takes constant time.
fn verify_password(password: &str, stored: &str, memory: &mut Vec<Block>) -> Result<bool> {
    let parsed = PasswordHash::new(stored).map_err(Error::internal)?;
    let algorithm = Argon2Algorithm::try_from(parsed.algorithm).map_err(Error::internal)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(Error::internal)?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(Error::internal)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(Error::internal(
            "a stored password hash lacks its salt or hash",
        ));
    };
    let mut raw_salt = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut raw_salt).map_err(Error::internal)?;
    let blocks = buffer(memory, params.block_count())?;
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        argon2
            .hash_password_into_with_memory(password.as_bytes(), raw_salt, out, &mut *blocks)
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(Error::internal)?;
    Ok(computed == expected)
}

#[async_trait]
impl PasswordHasher for PasswordPool {
    async fn hash(&self, password: &str) -> Result<String> {
        match self.run(Work::Hash(password.to_owned())).await? {
            Done::Hashed(hash) => Ok(hash),
            Done::Verified(_) => Err(Error::internal("a hash job answered a check")),
        }
    }

    async fn verify(&self, password: &str, hash: &str) -> Result<bool> {
        let work = Work::Verify {
            password: password.to_owned(),
            hash: hash.to_owned(),
        };
        match self.run(work).await? {
            Done::Verified(ok) => Ok(ok),
            Done::Hashed(_) => Err(Error::internal("a check job answered a hash")),
        }
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

pub fn token_services(limits: HashingLimits) -> (Arc<dyn PasswordHasher>, Arc<dyn TokenMaker>) {
    (Arc::new(PasswordPool::new(limits)), Arc::new(RandomTokens))
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
        let (token, _) = keys.issue(&user(3), "a sign-in").unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.ver, claims.sid.as_str()),
            ("7", 3, "a sign-in")
        );
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(keys.verify(&tampered).is_err());
        assert!(JwtKeys::generated().verify(&token).is_err(), "another key");
    }

    #[test]
    fn the_bearer_scheme_is_named_in_any_case_and_others_are_not_tokens() {
        for header in ["Bearer abc", "bearer abc", "BEARER  abc ", " Bearer abc"] {
            assert_eq!(bearer_token(header), Some("abc"), "{header:?}");
        }
        for header in ["Basic abc", "Bearerabc", "Bearer ", "Bearer", "abc", ""] {
            assert_eq!(bearer_token(header), None, "{header:?}");
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(JwtKeys::from_secret(b"short").is_err());
        assert!(JwtKeys::from_secret(&[7u8; 32]).is_ok());
    }

    #[test]
    fn hashes_are_argon2_phc_strings_either_implementation_checks() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let mut memory = Vec::new();
        let ours = hash_password("correct horse battery", &mut memory).unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("correct horse battery", &theirs, &mut memory).unwrap());
        assert!(!verify_password("wrong horse battery", &theirs, &mut memory).unwrap());
        assert!(!verify_password("wrong horse battery", &ours, &mut memory).unwrap());
    }

    #[test]
    fn a_stored_hash_may_not_ask_for_more_memory_than_ours() {
        use argon2::password_hash::PasswordHasher as _;
        let salt = SaltString::generate(&mut OsRng);
        let greedy = argon2id(Params::new(ARGON2_MEMORY_KIB * 2, 1, 1, None).unwrap())
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        let mut memory = Vec::new();
        assert!(verify_password("correct horse battery", &greedy, &mut memory).is_err());
        assert!(memory.is_empty(), "nothing allocated for it");
    }

    #[tokio::test]
    async fn beyond_the_threads_and_the_queue_requests_are_refused() {
        let pool = Arc::new(PasswordPool::new(HashingLimits {
            workers: 1,
            queue: 1,
        }));
        let attempts: Vec<_> = (0..10)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.hash("correct horse battery").await })
            })
            .collect();
        let (mut hashed, mut refused) = (0, 0);
        for attempt in attempts {
            match attempt.await.unwrap() {
                Ok(_) => hashed += 1,
                Err(Error::RateLimited) => refused += 1,
                Err(e) => panic!("neither a hash nor a refusal: {e}"),
            }
        }
        assert!(hashed >= 1, "{hashed} hashed, {refused} refused");
        assert!(refused >= 5, "{hashed} hashed, {refused} refused");
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

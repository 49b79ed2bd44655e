//! Accounts: registration, approval, sign-in with throttling, refresh-token rotation.
//!
//! Token formats and password hashing are the caller's (the API's) business; this keeps the state
//! consistent. Who may approve accounts is [`crate::policy`]'s to decide.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::actor::{Affiliation, Role};
use crate::audit::AuditEntry;
use crate::entities::Id;
use crate::framework::vocabulary;
use crate::page::{Page, PageRequest};
use crate::values::{self, bounded_text};
use crate::{Actor, Error, Result, limits};

pub use crate::limits::{
    MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_CLIENT, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS,
    REFRESH_TOKEN_LIFETIME, THROTTLE_WINDOW,
};

/// Registrations one client address may make within [`REGISTRATION_WINDOW`]; every `register`
/// counts, aliases of one request included. Generous enough for an office behind one address.
pub const MAX_REGISTRATIONS_PER_CLIENT: u64 = 50;
pub const REGISTRATION_WINDOW: Duration = Duration::hours(1);
/// Who may administer accounts is the policy's to say; kept here where callers found it.
pub use crate::policy::require_admin;

vocabulary!(
    /// Where an account is in its life: PENDING until an ADMIN approves it.
    UserStatus { Pending = "PENDING", Active = "ACTIVE", Disabled = "DISABLED" }
    parse(text) else Error::internal(format!("unknown user status {text:?}"))
);

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: Id,
    pub version: i32,
    pub email: String,
    pub name: String,
    pub status: UserStatus,
    pub role: Option<Role>,
    pub affiliation: Option<Affiliation>,
    pub requested_role: Role,
    pub requested_affiliation: Option<Affiliation>,
    pub created_at: DateTime<Utc>,
}

/// Which accounts an administrator lists; an absent field selects every account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    pub status: Option<UserStatus>,
    /// The approved role, or for an account not yet approved the role it asked for: the
    /// secretariat looks for pending donors' accounts by the role they would get.
    pub role: Option<Role>,
}

impl User {
    /// The actor this user acts as: only an active, approved account acts at all.
    pub fn actor(&self) -> Result<Actor> {
        match (self.status, &self.role) {
            (UserStatus::Active, Some(role)) => Ok(Actor::User {
                id: self.id,
                role: *role,
                affiliation: self.affiliation.clone(),
            }),
            (UserStatus::Pending, _) => Err(Error::Forbidden("the account awaits approval".into())),
            _ => Err(Error::Unauthenticated),
        }
    }
}

/// A new account's data, validated: who it is and what it asks for, then what it is granted.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub password_hash: String,
    pub name: String,
    pub requested_role: Role,
    pub requested_affiliation: Option<Affiliation>,
    pub status: UserStatus,
    pub role: Option<Role>,
    pub affiliation: Option<Affiliation>,
}

pub struct Registration {
    pub email: String,
    pub password: String,
    pub name: String,
    pub requested_role: Role,
    pub affiliation: Option<Affiliation>,
}

/// An email as accounts are kept and looked up by: trimmed, lower-cased and in Unicode's
/// composed form (NFC, as RFC 6532 asks of internationalised addresses), so that "zoë@…" typed
/// with a composed ë or with e and a combining diaeresis is one address.
pub fn comparable_email(email: &str) -> Result<String> {
    use unicode_normalization::UnicodeNormalization;
    Ok(values::without_nul("email", email)?
        .trim()
        .to_lowercase()
        .nfc()
        .collect())
}

/// [`comparable_email`], and a plausible address, not a proof of one.
pub fn normalise_email(email: &str) -> Result<String> {
    let e = comparable_email(email)?;
    // A domain of two or more labels, none empty: `a@x..org` and `a@x.` are no addresses.
    let valid = e.len() <= limits::MAX_EMAIL_CHARS
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && domain.split('.').all(|label| !label.is_empty())
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(e)
    } else {
        Err(Error::validation("email", "is not an email address"))
    }
}

/// The normalised email and the trimmed name of a new account, its password checked.
fn checked_identity(email: &str, password: &str, name: &str) -> Result<(String, String)> {
    let email = normalise_email(email)?;
    check_password(password)?;
    Ok((email, bounded_text("name", name, limits::NAME)?))
}

pub fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(Error::validation(
            "password",
            format!("must have at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(Error::validation(
            "password",
            format!("must have at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    if password.trim().chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::validation(
            "password",
            format!("must have at least {MIN_PASSWORD_CHARS} characters besides spaces"),
        ));
    }
    Ok(())
}

/// The affiliation a role requires: practitioners belong to a city or an association, support
/// providers to an association, donors to a donor; the secretariat to none.
pub fn check_affiliation(role: &Role, affiliation: &Option<Affiliation>) -> Result<()> {
    let ok = matches!(
        (role, affiliation),
        (Role::Practitioner, Some(Affiliation::City(_)))
            | (Role::Practitioner, Some(Affiliation::Association(_)))
            | (Role::SupportProvider, Some(Affiliation::Association(_)))
            | (Role::Donor, Some(Affiliation::Donor(_)))
            | (Role::Admin, None)
    );
    if ok {
        Ok(())
    } else {
        Err(Error::validation(
            "affiliation",
            "a PRACTITIONER names a city or an association, a SUPPORT_PROVIDER an association, a DONOR a donor, an ADMIN none",
        ))
    }
}

#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &str) -> Result<String>;
    async fn verify(&self, password: &str, hash: &str) -> Result<bool>;
}

/// A refresh token as stored: only its hash.
#[derive(Debug, Clone)]
pub struct StoredToken {
    pub id: Id,
    pub user_id: Id,
    pub family: String,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
    pub revoked: bool,
}

#[async_trait]
pub trait AccountRepository: Send + Sync {
    async fn create_user(&self, user: NewUser, audit: Option<AuditEntry>) -> Result<User>;
    /// Takes a user id as creating an account would (the ids that follow are the same) without
    /// keeping one, and writes `audit`: a registration for an email that has an account.
    /// `placeholder` is a unique email the id may be taken under for the moment.
    async fn spend_user_id(&self, placeholder: &str, audit: AuditEntry) -> Result<Id>;
    async fn user_by_id(&self, id: Id) -> Result<Option<User>>;
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn password_hash(&self, user_id: Id) -> Result<Option<String>>;
    /// Sets role, affiliation and status ACTIVE if the version matches (CONFLICT otherwise).
    async fn approve(
        &self,
        id: Id,
        role: Role,
        affiliation: Option<Affiliation>,
        audit: AuditEntry,
    ) -> Result<User>;
    async fn affiliation_exists(&self, affiliation: &Affiliation) -> Result<bool>;

    /// Counts one attempt of `subject` in its current window (a new one if the last began
    /// `window` or longer before `now`) and answers the count, this attempt included. Atomic:
    /// concurrent attempts, in this process or another, each get a count of their own.
    async fn count_attempt(
        &self,
        subject: &str,
        now: DateTime<Utc>,
        window: Duration,
    ) -> Result<u64>;
    /// Takes one attempt back (it succeeded, so it was no guess).
    async fn refund_attempt(&self, subject: &str) -> Result<()>;
    /// Forgets the attempts of `subject`.
    async fn clear_attempts(&self, subject: &str) -> Result<()>;

    async fn store_token(
        &self,
        user_id: Id,
        token_hash: &str,
        family: &str,
        expires_at: DateTime<Utc>,
        audit: AuditEntry,
    ) -> Result<()>;
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<StoredToken>>;
    /// Marks the token used; false when it already was (a concurrent or repeated use).
    async fn use_token(&self, id: Id) -> Result<bool>;
    async fn revoke_family(&self, family: &str, audit: AuditEntry) -> Result<()>;
    /// Whether the user has a refresh token of the family and none of it is revoked (a family
    /// is revoked as a whole).
    async fn sign_in_is_live(&self, user_id: Id, family: &str) -> Result<bool>;

    /// Sets the account's status and a new version (so access tokens issued before stop);
    /// disabling also revokes every sign-in of the account. NOT_FOUND without the account.
    async fn set_status(&self, id: Id, status: UserStatus, audit: AuditEntry) -> Result<User>;
    /// A page of the accounts `filter` selects, in id order.
    async fn list_users(&self, filter: &UserFilter, page: PageRequest) -> Result<Page<User>>;
    /// How many accounts `filter` selects.
    async fn count_users(&self, filter: &UserFilter) -> Result<i64>;
    /// Replaces the password hash and revokes every sign-in of the account, in one transaction.
    async fn set_password_hash(&self, id: Id, password_hash: &str, audit: AuditEntry)
    -> Result<()>;
    /// Keeps a password-reset token's hash for the user until `expires_at`.
    async fn store_reset_token(
        &self,
        user_id: Id,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        audit: AuditEntry,
    ) -> Result<()>;
    /// Marks the reset token spent and answers its user and expiry; None when there is no such
    /// token or it was spent already. Atomic: of two concurrent uses one gets it.
    async fn take_reset_token(&self, token_hash: &str) -> Result<Option<(Id, DateTime<Utc>)>>;
}

/// How long a password-reset token printed by `c2c-forum user reset-password` is good for.
pub const RESET_TOKEN_LIFETIME: Duration = Duration::minutes(30);
/// Password resets one client address may try within [`THROTTLE_WINDOW`].
pub const MAX_RESETS_PER_CLIENT: u64 = MAX_FAILURES_PER_CLIENT;

/// What a successful sign-in or refresh yields; the API turns it into an access token.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    /// The sign-in this session continues (its refresh-token family): access tokens name it so
    /// that revoking the sign-in stops them too.
    pub sign_in: String,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
}

/// Makes a fresh random refresh token and the hash under which it is stored.
pub trait TokenMaker: Send + Sync {
    fn new_token(&self) -> (String, String);
    fn hash(&self, token: &str) -> String;
    fn new_family(&self) -> String;
}

#[derive(Clone)]
pub struct Accounts {
    repo: Arc<dyn AccountRepository>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenMaker>,
}

/// A password in Unicode's NFKC form, as it is hashed and checked (NIST SP 800-63B): "Zürich"
/// typed with a composed ü and pasted with u and a combining diaeresis are one password, as
/// are full-width and ordinary letters.
fn stabilised(password: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    password.nfkc().collect()
}

impl Accounts {
    pub fn new(
        repo: Arc<dyn AccountRepository>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn TokenMaker>,
    ) -> Self {
        Accounts {
            repo,
            hasher,
            tokens,
        }
    }

    async fn hash_password(&self, password: &str) -> Result<String> {
        self.hasher.hash(&stabilised(password)).await
    }

    /// Whether `password` is the one `stored` holds; with none stored (an unknown email), the
    /// same work and `false`, so that timing does not tell. A hash made before passwords were
    /// stabilised holds the password as it was typed, which is tried second where it differs.
    async fn password_matches(&self, password: &str, stored: Option<&str>) -> Result<bool> {
        let stable = stabilised(password);
        let tries = if stable == password {
            vec![password]
        } else {
            vec![stable.as_str(), password]
        };
        for attempt in tries {
            let matched = match stored {
                Some(hash) => self.hasher.verify(attempt, hash).await?,
                None => {
                    let _ = self.hasher.hash(attempt).await?;
                    false
                }
            };
            if matched {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A PENDING account asking for a role and an affiliation; it cannot act until approved.
    /// Counted per client address before anything else. For an email that already has an
    /// account the answer is the same as for a new one, after the same work (a password hash,
    /// an id taken, an audit entry), and the existing account is left as it is.
    pub async fn register(&self, r: Registration, client: &str) -> Result<User> {
        let count = self
            .repo
            .count_attempt(
                &format!("register client:{client}"),
                Utc::now(),
                REGISTRATION_WINDOW,
            )
            .await?;
        if count > MAX_REGISTRATIONS_PER_CLIENT {
            return Err(Error::RateLimited);
        }
        let (email, name) = checked_identity(&r.email, &r.password, &r.name)?;
        if r.requested_role == Role::Admin {
            return Err(Error::validation(
                "requestedRole",
                "ADMIN accounts are made by the secretariat",
            ));
        }
        check_affiliation(&r.requested_role, &r.affiliation)?;
        if let Some(a) = &r.affiliation
            && !self.repo.affiliation_exists(a).await?
        {
            return Err(Error::validation(affiliation_field(a), "no such record"));
        }
        let user = NewUser {
            email,
            password_hash: self.hash_password(&r.password).await?,
            name,
            requested_role: r.requested_role,
            requested_affiliation: r.affiliation,
            status: UserStatus::Pending,
            role: None,
            affiliation: None,
        };
        let existing = self.repo.user_by_email(&user.email).await?;
        let created = match existing {
            None => {
                self.insert(user.clone(), "REGISTER", ["requestedRole", "affiliation"])
                    .await
            }
            Some(existing) => Err(Error::Conflict(existing.id.to_string())),
        };
        match created {
            Err(Error::Conflict(_)) => self.registered_again(user).await,
            other => other,
        }
    }

    /// The answer to a registration whose email has an account (found, or created by a
    /// concurrent registration): what a new account's would be, with an id spent as one.
    async fn registered_again(&self, user: NewUser) -> Result<User> {
        let existing = self
            .repo
            .user_by_email(&user.email)
            .await?
            .ok_or_else(|| Error::internal("an email in conflict has no account"))?;
        let audit = AuditEntry::new(
            &Actor::Anonymous,
            "REGISTER_EXISTING_EMAIL",
            "User",
            existing.id,
            Vec::new(),
        );
        let placeholder = format!("{}@spent-id.invalid", self.tokens.new_family());
        let id = self.repo.spend_user_id(&placeholder, audit).await?;
        Ok(User {
            id,
            version: 1,
            email: user.email,
            name: user.name,
            status: UserStatus::Pending,
            role: None,
            affiliation: None,
            requested_role: user.requested_role,
            requested_affiliation: user.requested_affiliation,
            created_at: Utc::now(),
        })
    }

    /// An active account, made from the command line (the first ADMIN) or by an ADMIN.
    pub async fn create_active(
        &self,
        email: &str,
        password: &str,
        name: &str,
        role: Role,
        affiliation: Option<Affiliation>,
    ) -> Result<User> {
        let (email, name) = checked_identity(email, password, name)?;
        check_affiliation(&role, &affiliation)?;
        let user = NewUser {
            email,
            password_hash: self.hash_password(password).await?,
            name,
            requested_role: role,
            requested_affiliation: affiliation.clone(),
            status: UserStatus::Active,
            role: Some(role),
            affiliation,
        };
        self.insert(user, "CREATE", ["role", "affiliation"]).await
    }

    /// Stores a new account with its audit entry (email, name and the two `fields`).
    async fn insert(&self, user: NewUser, action: &str, fields: [&str; 2]) -> Result<User> {
        let changes = ["email", "name"].into_iter().chain(fields);
        let audit = AuditEntry::new(
            &Actor::Anonymous,
            action,
            "User",
            0,
            changes.map(String::from).collect(),
        );
        self.repo
            .create_user(user, Some(audit))
            .await
            .map_err(email_taken)
    }

    /// ADMIN sets role and affiliation (by default the ones requested at registration).
    pub async fn approve(
        &self,
        actor: &Actor,
        user_id: Id,
        role: Option<Role>,
        affiliation: Option<Affiliation>,
    ) -> Result<User> {
        crate::policy::may_approve_users(actor)?;
        let user = self
            .repo
            .user_by_id(user_id)
            .await?
            .ok_or_else(|| Error::not_found("User", user_id))?;
        let role = role.unwrap_or(user.requested_role);
        let affiliation = match (affiliation, &role) {
            (Some(a), _) => Some(a),
            (None, Role::Admin) => None,
            (None, _) => user.requested_affiliation.clone(),
        };
        check_affiliation(&role, &affiliation)?;
        if let Some(a) = &affiliation
            && !self.repo.affiliation_exists(a).await?
        {
            return Err(Error::validation(affiliation_field(a), "no such record"));
        }
        let audit = AuditEntry::new(
            actor,
            "APPROVE",
            "User",
            user_id,
            vec!["role".into(), "affiliation".into(), "status".into()],
        );
        self.repo.approve(user_id, role, affiliation, audit).await
    }

    /// Email and password in exchange for a session. Attempts are counted per client address
    /// and per account before the password is checked, so parallel guesses cannot overtake the
    /// count; a success takes its attempt back (and clears the account's). The answer is the
    /// same whether or not the email exists.
    pub async fn login(&self, email: &str, password: &str, client: &str) -> Result<Session> {
        let email = comparable_email(email)?;
        let now = Utc::now();
        let client_key = format!("sign-in client:{client}");
        // The address first: one that is over its limit no longer adds to an account's count.
        if self
            .repo
            .count_attempt(&client_key, now, THROTTLE_WINDOW)
            .await?
            > MAX_FAILURES_PER_CLIENT
        {
            return Err(Error::RateLimited);
        }
        let account_key = format!("sign-in account:{email}");
        if self
            .repo
            .count_attempt(&account_key, now, THROTTLE_WINDOW)
            .await?
            > MAX_FAILURES_PER_ACCOUNT
        {
            return Err(Error::RateLimited);
        }
        let user = self.repo.user_by_email(&email).await?;
        let hash = match &user {
            Some(u) => self.repo.password_hash(u.id).await?,
            None => None,
        };
        let verified = self.password_matches(password, hash.as_deref()).await?;
        let user = match (user, verified) {
            (Some(u), true) if u.status != UserStatus::Disabled => u,
            _ => return Err(Error::Unauthenticated),
        };
        self.repo.clear_attempts(&account_key).await?;
        self.repo.refund_attempt(&client_key).await?;
        self.new_session(user, self.tokens.new_family(), "LOGIN")
            .await
    }

    /// A used refresh token for a new one in the same family. Presenting a token twice revokes
    /// the whole family: someone else has it.
    pub async fn refresh(&self, token: &str) -> Result<Session> {
        let stored = self
            .repo
            .token_by_hash(&self.tokens.hash(token))
            .await?
            .ok_or(Error::Unauthenticated)?;
        if stored.revoked {
            return Err(Error::Unauthenticated);
        }
        if stored.used || !self.repo.use_token(stored.id).await? {
            let audit = session_audit(stored.user_id, "REVOKE_REUSED_TOKEN");
            self.repo.revoke_family(&stored.family, audit).await?;
            return Err(Error::Unauthenticated);
        }
        if stored.expires_at <= Utc::now() {
            return Err(Error::Unauthenticated);
        }
        let user = self
            .repo
            .user_by_id(stored.user_id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        if user.status == UserStatus::Disabled {
            let audit = session_audit(user.id, "REVOKE_DISABLED");
            self.repo.revoke_family(&stored.family, audit).await?;
            return Err(Error::Unauthenticated);
        }
        self.new_session(user, stored.family, "REFRESH").await
    }

    /// Revokes the family of the token; unknown tokens are ignored (logging out twice is fine).
    pub async fn logout(&self, token: &str) -> Result<()> {
        if let Some(stored) = self.repo.token_by_hash(&self.tokens.hash(token)).await? {
            let audit = session_audit(stored.user_id, "LOGOUT");
            self.repo.revoke_family(&stored.family, audit).await?;
        }
        Ok(())
    }

    /// Whether an access token of `sign_in` still speaks for the user: false once the sign-in
    /// has been revoked by logout, by a replayed refresh token or by disabling.
    pub async fn sign_in_is_live(&self, user_id: Id, sign_in: &str) -> Result<bool> {
        self.repo.sign_in_is_live(user_id, sign_in).await
    }

    pub async fn user(&self, id: Id) -> Result<Option<User>> {
        self.repo.user_by_id(id).await
    }

    /// One account by id, for its owner and the secretariat; `None` for anyone else.
    pub async fn user_as_read_by(&self, actor: &Actor, id: Id) -> Result<Option<User>> {
        if !crate::policy::may_read_user(actor, id) {
            return Ok(None);
        }
        self.repo.user_by_id(id).await
    }

    /// ADMIN lists accounts, for instance the pending ones waiting for approval.
    pub async fn users(
        &self,
        actor: &Actor,
        filter: &UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>> {
        crate::policy::may_list_users(actor)?;
        self.repo.list_users(filter, page).await
    }

    /// ADMIN: how many accounts `filter` selects.
    pub async fn count_users(&self, actor: &Actor, filter: &UserFilter) -> Result<i64> {
        crate::policy::may_list_users(actor)?;
        self.repo.count_users(filter).await
    }

    /// ADMIN disables an account (its access and refresh tokens stop at once, and it can no
    /// longer sign in) or enables it again (ACTIVE when it has a role, else PENDING).
    pub async fn set_disabled(&self, actor: &Actor, user_id: Id, disabled: bool) -> Result<User> {
        crate::policy::may_set_user_status(actor, user_id)?;
        let user = self
            .repo
            .user_by_id(user_id)
            .await?
            .ok_or_else(|| Error::not_found("User", user_id))?;
        let status = match (disabled, &user.role) {
            (true, _) => UserStatus::Disabled,
            (false, Some(_)) => UserStatus::Active,
            (false, None) => UserStatus::Pending,
        };
        if status == user.status {
            return Ok(user);
        }
        let action = if disabled { "DISABLE" } else { "ENABLE" };
        let audit = AuditEntry::new(actor, action, "User", user_id, vec!["status".into()]);
        self.repo.set_status(user_id, status, audit).await
    }

    /// A one-time token resetting the password of the account of `email`, good for `lifetime`
    /// (the secretariat hands it over; only its hash is kept). NOT_FOUND without such an
    /// account.
    pub async fn issue_reset_token(
        &self,
        email: &str,
        lifetime: Duration,
    ) -> Result<(String, DateTime<Utc>)> {
        let email = normalise_email(email)?;
        let user = self
            .repo
            .user_by_email(&email)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: "User",
                id: email.clone(),
            })?;
        let (token, hash) = self.tokens.new_token();
        let expires = Utc::now() + lifetime;
        let audit = AuditEntry::new(
            &Actor::Anonymous,
            "ISSUE_PASSWORD_RESET",
            "User",
            user.id,
            vec!["passwordReset".into()],
        );
        self.repo
            .store_reset_token(user.id, &hash, expires, audit)
            .await?;
        Ok((token, expires))
    }

    /// A new password in exchange for a reset token, once: the token is spent, every sign-in
    /// of the account revoked. Attempts are counted per client address like sign-ins.
    pub async fn reset_password(&self, token: &str, new: &str, client: &str) -> Result<()> {
        let throttle = format!("reset-password client:{client}");
        if self
            .repo
            .count_attempt(&throttle, Utc::now(), THROTTLE_WINDOW)
            .await?
            > MAX_RESETS_PER_CLIENT
        {
            return Err(Error::RateLimited);
        }
        // Checked before the token is spent, so that a refused password does not cost it.
        check_password(new).map_err(|_| new_password_error())?;
        let invalid = || Error::validation("token", "the token is unknown, used or expired");
        let (user_id, expires) = self
            .repo
            .take_reset_token(&self.tokens.hash(token))
            .await?
            .ok_or_else(invalid)?;
        if expires <= Utc::now() {
            return Err(invalid());
        }
        let new_hash = self.hash_password(new).await?;
        let audit = AuditEntry::new(
            &Actor::Anonymous,
            "RESET_PASSWORD",
            "User",
            user_id,
            vec!["password".into(), "session".into()],
        );
        self.repo
            .set_password_hash(user_id, &new_hash, audit)
            .await?;
        self.repo.refund_attempt(&throttle).await
    }

    /// The signed-in user's new password, given the current one. Every sign-in of the account,
    /// this one included, is revoked; the answer is a new one. Wrong current passwords are
    /// counted like failed sign-ins of the account, so the form cannot be used to guess.
    pub async fn change_password(
        &self,
        actor: &Actor,
        current: &str,
        new: &str,
    ) -> Result<Session> {
        let user_id = crate::policy::may_change_own_password(actor)?;
        let throttle = format!("change-password account:{user_id}");
        if self
            .repo
            .count_attempt(&throttle, Utc::now(), THROTTLE_WINDOW)
            .await?
            > MAX_FAILURES_PER_ACCOUNT
        {
            return Err(Error::RateLimited);
        }
        let hash = self
            .repo
            .password_hash(user_id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        if !self.password_matches(current, Some(&hash)).await? {
            return Err(Error::validation(
                "currentPassword",
                "the current password is not this one",
            ));
        }
        check_password(new).map_err(|_| new_password_error())?;
        let new_hash = self.hash_password(new).await?;
        let audit = AuditEntry::new(
            actor,
            "CHANGE_PASSWORD",
            "User",
            user_id,
            vec!["password".into(), "session".into()],
        );
        self.repo
            .set_password_hash(user_id, &new_hash, audit)
            .await?;
        self.repo.clear_attempts(&throttle).await?;
        let user = self
            .repo
            .user_by_id(user_id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        self.new_session(user, self.tokens.new_family(), "LOGIN")
            .await
    }

    async fn new_session(&self, user: User, family: String, action: &str) -> Result<Session> {
        let (token, hash) = self.tokens.new_token();
        let expires = Utc::now() + REFRESH_TOKEN_LIFETIME;
        let audit = session_audit(user.id, action);
        self.repo
            .store_token(user.id, &hash, &family, expires, audit)
            .await?;
        Ok(Session {
            user,
            sign_in: family,
            refresh_token: token,
            refresh_expires_at: expires,
        })
    }
}

fn new_password_error() -> Error {
    Error::validation(
        "newPassword",
        format!(
            "a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters, not only spaces"
        ),
    )
}

fn email_taken(e: Error) -> Error {
    match e {
        Error::Conflict(_) => Error::Conflict("an account with this email exists".into()),
        other => other,
    }
}

/// Sign-in events are audited too, as changes to the user's sessions.
fn session_audit(user_id: Id, action: &str) -> AuditEntry {
    let actor = Actor::Pending { id: user_id };
    AuditEntry::new(&actor, action, "User", user_id, vec!["session".into()])
}

pub fn affiliation_field(a: &Affiliation) -> &'static str {
    match a {
        Affiliation::City(_) => "cityId",
        Affiliation::Association(_) => "associationId",
        Affiliation::Donor(_) => "donorId",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            normalise_email("  Ann@Haarlem.NL ").unwrap(),
            "ann@haarlem.nl"
        );
        assert!(normalise_email("ann@haarlem").is_err());
        assert!(normalise_email("@haarlem.nl").is_err());
        assert!(normalise_email("a nn@haarlem.nl").is_err());
        assert!(normalise_email("a@x..org").is_err());
        assert!(normalise_email("a@.x.org").is_err());
        assert!(normalise_email("a@x.org.").is_err());
        assert!(normalise_email("a\u{0}@x.org").is_err());
        assert!(normalise_email("ann@sub.haarlem.nl").is_ok());
        assert_eq!(
            normalise_email("ZOE\u{308}@Example.org").unwrap(),
            "zo\u{eb}@example.org"
        );
        assert_eq!(
            comparable_email(" Zoe\u{308}@example.org").unwrap(),
            normalise_email("zo\u{eb}@example.org").unwrap()
        );
    }

    #[test]
    fn passwords_have_a_minimum_and_a_maximum() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough!").is_ok());
        assert!(check_password(&"x".repeat(129)).is_err());
        assert!(check_password(&" ".repeat(10)).is_err());
        assert!(check_password("  nine chr  ").is_err());
        assert!(check_password(" ten chars! ").is_ok());
    }

    #[test]
    fn roles_need_their_kind_of_affiliation() {
        assert!(check_affiliation(&Role::Practitioner, &Some(Affiliation::City(1))).is_ok());
        assert!(check_affiliation(&Role::Practitioner, &Some(Affiliation::Donor(1))).is_err());
        assert!(check_affiliation(&Role::Donor, &Some(Affiliation::Donor(1))).is_ok());
        assert!(check_affiliation(&Role::SupportProvider, &None).is_err());
        assert!(check_affiliation(&Role::Admin, &None).is_ok());
    }
}

//! Accounts on the wire: registration, sign-in, token refresh, approval, and `viewer`.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::account::{self as acc, Accounts, Registration};
use domain::actor::{Affiliation, Role as DomainRole};

use super::association::Association;
use super::city::City;
use super::connection::{connection, page_complexity, page_request};
use super::donor::Donor;
use super::ids::{IdCursor, Kind, id, parse_id};
use super::loaders::{AssociationKey, CityKey, DonorKey};
use super::relations::maybe;
use super::resolve::actor;
use crate::auth::JwtKeys;
use crate::error::{ApiError, ResultExt};

/// The three partner groups of the report (6.2) and the Forum secretariat.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Role {
    /// Local authorities, their associations and local partners.
    Practitioner,
    /// Associations and programme operators that support cities.
    SupportProvider,
    /// Bilateral and multilateral funders, foundations, the private sector.
    Donor,
    /// The Forum secretariat.
    Admin,
}

impl From<Role> for DomainRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Practitioner => DomainRole::Practitioner,
            Role::SupportProvider => DomainRole::SupportProvider,
            Role::Donor => DomainRole::Donor,
            Role::Admin => DomainRole::Admin,
        }
    }
}

impl From<&DomainRole> for Role {
    fn from(r: &DomainRole) -> Self {
        match r {
            DomainRole::Practitioner => Role::Practitioner,
            DomainRole::SupportProvider => Role::SupportProvider,
            DomainRole::Donor => Role::Donor,
            DomainRole::Admin => Role::Admin,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum UserStatus {
    /// Registered; waits for the secretariat to approve role and affiliation.
    Pending,
    Active,
    Disabled,
}

/// A signed-in person, affiliated with one city, association or donor.
pub struct User(pub acc::User);

fn affiliation_parts(a: &Option<Affiliation>) -> (Option<i64>, Option<i64>, Option<i64>) {
    match a {
        Some(Affiliation::City(c)) => (Some(*c), None, None),
        Some(Affiliation::Association(x)) => (None, Some(*x), None),
        Some(Affiliation::Donor(d)) => (None, None, Some(*d)),
        None => (None, None, None),
    }
}

#[Object]
impl User {
    pub(crate) async fn id(&self) -> ID {
        id(Kind::User, self.0.id)
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn status(&self) -> UserStatus {
        match self.0.status {
            acc::UserStatus::Pending => UserStatus::Pending,
            acc::UserStatus::Active => UserStatus::Active,
            acc::UserStatus::Disabled => UserStatus::Disabled,
        }
    }
    /// The approved role; null while pending.
    async fn role(&self) -> Option<Role> {
        self.0.role.as_ref().map(Role::from)
    }
    async fn requested_role(&self) -> Role {
        (&self.0.requested_role).into()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The affiliation: the approved one, or the requested one while pending.
    async fn city(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<City>> {
        let (city, _, _) = affiliation_parts(self.effective());
        maybe(ctx, city.map(CityKey), City).await
    }
    async fn association(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Association>> {
        let (_, association, _) = affiliation_parts(self.effective());
        maybe(ctx, association.map(AssociationKey), Association).await
    }
    async fn donor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Donor>> {
        let (_, _, donor) = affiliation_parts(self.effective());
        maybe(ctx, donor.map(DonorKey), Donor).await
    }
}

impl User {
    fn effective(&self) -> &Option<Affiliation> {
        if self.0.status == acc::UserStatus::Pending {
            &self.0.requested_affiliation
        } else {
            &self.0.affiliation
        }
    }
}

/// A signed-in session: a short-lived access token for `Authorization: Bearer`, and a refresh
/// token that buys the next one (each refresh token works once).
#[derive(SimpleObject)]
pub struct AuthPayload {
    access_token: String,
    refresh_token: String,
    /// When the access token expires.
    expires_at: DateTime<Utc>,
    refresh_expires_at: DateTime<Utc>,
    user: User,
}

#[derive(InputObject)]
pub struct RegisterInput {
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    pub name: String,
    pub requested_role: Role,
    /// The affiliation asked for: a city or an association for PRACTITIONER, an association
    /// for SUPPORT_PROVIDER, a donor for DONOR.
    pub city_id: Option<ID>,
    pub association_id: Option<ID>,
    pub donor_id: Option<ID>,
}

pub fn affiliation(
    city: &Option<ID>,
    association: &Option<ID>,
    donor: &Option<ID>,
) -> async_graphql::Result<Option<Affiliation>> {
    let given = [city.is_some(), association.is_some(), donor.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if given > 1 {
        return Err(ApiError(domain::Error::validation(
            "affiliation",
            "name one of cityId, associationId and donorId",
        ))
        .into());
    }
    Ok(if let Some(c) = city {
        Some(Affiliation::City(parse_id(Kind::City, "cityId", c)?))
    } else if let Some(a) = association {
        Some(Affiliation::Association(parse_id(
            Kind::Association,
            "associationId",
            a,
        )?))
    } else if let Some(d) = donor {
        Some(Affiliation::Donor(parse_id(Kind::Donor, "donorId", d)?))
    } else {
        None
    })
}

/// The client address sign-in throttling counts failures against.
pub struct ClientAddress(pub String);

fn session_payload(ctx: &Context<'_>, session: acc::Session) -> async_graphql::Result<AuthPayload> {
    let (access_token, expires_at) = ctx
        .data_unchecked::<JwtKeys>()
        .issue(&session.user, &session.sign_in)
        .api()?;
    Ok(AuthPayload {
        access_token,
        refresh_token: session.refresh_token,
        expires_at,
        refresh_expires_at: session.refresh_expires_at,
        user: User(session.user),
    })
}

pub(crate) fn accounts<'a>(ctx: &Context<'a>) -> &'a Accounts {
    ctx.data_unchecked::<Accounts>()
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in user; null for anonymous callers.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match actor(ctx).user_id() {
            Some(id) => Ok(accounts(ctx).user(id).await.api()?.map(User)),
            None => Ok(None),
        }
    }

    /// ADMIN: the accounts, in the order they registered; `filter: { status: PENDING }` lists
    /// those waiting for approval.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        filter: Option<UserFilter>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<UserConnection> {
        let page = page_request(first, after)?;
        let filter = filter.map(UserFilter::into_domain).unwrap_or_default();
        let users = accounts(ctx).users(actor(ctx), &filter, page).await.api()?;
        Ok(connection(users, |u| u.id, User, UserCount(filter)))
    }
}

/// Which accounts `users` lists; an absent field selects all.
#[derive(InputObject, Default)]
pub struct UserFilter {
    pub status: Option<UserStatus>,
    /// The approved role, or for an account not yet approved the role it asked for.
    pub role: Option<Role>,
}

impl UserFilter {
    fn into_domain(self) -> acc::UserFilter {
        acc::UserFilter {
            status: self.status.map(|s| match s {
                UserStatus::Pending => acc::UserStatus::Pending,
                UserStatus::Active => acc::UserStatus::Active,
                UserStatus::Disabled => acc::UserStatus::Disabled,
            }),
            role: self.role.map(Into::into),
        }
    }
}

pub struct UserCount(acc::UserFilter);

#[Object]
impl UserCount {
    /// The number of accounts the filter selects, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        accounts(ctx).count_users(actor(ctx), &self.0).await.api()
    }
}

pub type UserConnection = async_graphql::connection::Connection<IdCursor, User, UserCount>;

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates a PENDING account; it can sign in but not change anything until approved. The
    /// answer is the same whether or not the email has an account (an existing account is left
    /// as it is). Registrations are limited per client address, aliases included (RATE_LIMITED).
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<User> {
        let affiliation = affiliation(&input.city_id, &input.association_id, &input.donor_id)?;
        let registration = Registration {
            email: input.email,
            password: input.password,
            name: input.name,
            requested_role: input.requested_role.into(),
            affiliation,
        };
        let client = &ctx.data_unchecked::<ClientAddress>().0;
        Ok(User(
            accounts(ctx).register(registration, client).await.api()?,
        ))
    }

    /// Signs in. Repeated failures are throttled per account and per client (RATE_LIMITED).
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let client = &ctx.data_unchecked::<ClientAddress>().0;
        let session = accounts(ctx).login(&email, &password, client).await.api()?;
        session_payload(ctx, session)
    }

    /// A refresh token for a new session; the token used stops working, and presenting it again
    /// revokes every token of that sign-in.
    async fn refresh(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<AuthPayload> {
        let session = accounts(ctx).refresh(&refresh_token).await.api()?;
        session_payload(ctx, session)
    }

    /// Revokes the sign-in the refresh token belongs to.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<bool> {
        accounts(ctx).logout(&refresh_token).await.api()?;
        Ok(true)
    }

    /// ADMIN: activates an account with a role and affiliation (by default those requested).
    async fn approve_user(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        role: Option<Role>,
        city_id: Option<ID>,
        association_id: Option<ID>,
        donor_id: Option<ID>,
    ) -> async_graphql::Result<User> {
        let user_id = parse_id(Kind::User, "userId", &user_id)?;
        let affiliation = affiliation(&city_id, &association_id, &donor_id)?;
        Ok(User(
            accounts(ctx)
                .approve(actor(ctx), user_id, role.map(Into::into), affiliation)
                .await
                .api()?,
        ))
    }

    /// ADMIN: disables an account. Its tokens stop at once and it can no longer sign in; not
    /// one's own account.
    async fn disable_user(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<User> {
        let user_id = parse_id(Kind::User, "userId", &user_id)?;
        Ok(User(
            accounts(ctx)
                .set_disabled(actor(ctx), user_id, true)
                .await
                .api()?,
        ))
    }

    /// ADMIN: enables a disabled account again (ACTIVE, or PENDING if it was never approved).
    async fn enable_user(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<User> {
        let user_id = parse_id(Kind::User, "userId", &user_id)?;
        Ok(User(
            accounts(ctx)
                .set_disabled(actor(ctx), user_id, false)
                .await
                .api()?,
        ))
    }

    /// The signed-in user's own password. Every sign-in of the account, this one included, is
    /// revoked: the answer carries the tokens of a new one. A wrong current password is a
    /// VALIDATION error on `currentPassword`, counted like a failed sign-in.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let session = accounts(ctx)
            .change_password(actor(ctx), &current_password, &new_password)
            .await
            .api()?;
        session_payload(ctx, session)
    }

    /// A new password with a one-time token from `c2c-forum user reset-password`; the token is
    /// spent and every sign-in of the account revoked. An unknown, used or expired token is a
    /// VALIDATION error on `token`.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        token: String,
        new_password: String,
    ) -> async_graphql::Result<bool> {
        let client = &ctx.data_unchecked::<ClientAddress>().0;
        accounts(ctx)
            .reset_password(&token, &new_password, client)
            .await
            .api()?;
        Ok(true)
    }
}

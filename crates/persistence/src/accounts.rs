//! Accounts, refresh tokens and failed sign-ins.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use domain::account::*;
use domain::actor::{Affiliation, Role};
use domain::audit::AuditEntry;
use domain::entities::Id;
use domain::page::{Page, PageRequest};
use domain::{Error, Result};
use sea_orm::sea_query::Expr;
use sea_orm::*;

use crate::entities::*;
use crate::store::{SeaStore, db_err};

/// The accounts `filter` selects; a role matches the approved one, or the requested one of an
/// account that has none yet.
fn user_condition(filter: &UserFilter) -> Condition {
    let mut condition = Condition::all();
    if let Some(status) = filter.status {
        condition = condition.add(app_user::Column::Status.eq(status.as_str()));
    }
    if let Some(role) = filter.role {
        condition = condition.add(
            Condition::any()
                .add(app_user::Column::Role.eq(role.as_str()))
                .add(
                    Condition::all()
                        .add(app_user::Column::Role.is_null())
                        .add(app_user::Column::RequestedRole.eq(role.as_str())),
                ),
        );
    }
    condition
}

fn user(m: app_user::Model) -> Result<User> {
    let affiliation = |kind: &Option<String>, id: Option<i64>| match (kind, id) {
        (Some(k), Some(i)) => Affiliation::from_parts(k, i).map(Some),
        _ => Ok(None),
    };
    Ok(User {
        id: m.id,
        version: m.version,
        status: UserStatus::parse(&m.status)?,
        role: m
            .role
            .as_deref()
            .map(Role::parse)
            .transpose()
            .map_err(Error::internal)?,
        affiliation: affiliation(&m.affiliation_kind, m.affiliation_id)?,
        requested_role: Role::parse(&m.requested_role).map_err(Error::internal)?,
        requested_affiliation: affiliation(
            &m.requested_affiliation_kind,
            m.requested_affiliation_id,
        )?,
        email: m.email,
        name: m.name,
        created_at: m.created_at,
    })
}

/// The longest window any attempt is counted in; rows older than it are deleted.
const LONGEST_WINDOW_SECONDS: i64 = 24 * 60 * 60;

/// Subjects are at most as long as the column; longer ones (no valid email is) share a prefix.
fn subject_key(subject: &str) -> String {
    subject.chars().take(320).collect()
}

fn parts(a: &Option<Affiliation>) -> (Option<String>, Option<i64>) {
    match a {
        Some(a) => (Some(a.kind().into()), Some(a.id())),
        None => (None, None),
    }
}

#[async_trait]
impl AccountRepository for SeaStore {
    async fn create_user(&self, u: NewUser, audit: Option<AuditEntry>) -> Result<User> {
        let now = Utc::now();
        let (kind, id) = parts(&u.affiliation);
        let (rkind, rid) = parts(&u.requested_affiliation);
        let txn = crate::db::write_transaction(self.connection()).await?;
        let id = app_user::Entity::insert(app_user::ActiveModel {
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            email: Set(u.email),
            password_hash: Set(u.password_hash),
            name: Set(u.name),
            status: Set(u.status.as_str().into()),
            role: Set(u.role.map(|r| r.as_str().into())),
            affiliation_kind: Set(kind),
            affiliation_id: Set(id),
            requested_role: Set(u.requested_role.as_str().into()),
            requested_affiliation_kind: Set(rkind),
            requested_affiliation_id: Set(rid),
            ..Default::default()
        })
        .exec(&txn)
        .await
        .map_err(db_err)?
        .last_insert_id;
        if let Some(mut audit) = audit {
            audit.entity_id = id;
            crate::audit::write_audit_entry(&txn, audit).await?;
        }
        let saved = app_user::Entity::find_by_id(id)
            .one(&txn)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::internal("saved user vanished"))?;
        txn.commit().await.map_err(db_err)?;
        user(saved)
    }

    async fn spend_user_id(&self, placeholder: &str, audit: AuditEntry) -> Result<Id> {
        // An insert that is rolled back would give its id again on SQLite; one that is deleted
        // in the same transaction spends it on both databases (AUTOINCREMENT, a sequence).
        let now = Utc::now();
        let txn = crate::db::write_transaction(self.connection()).await?;
        let id = app_user::Entity::insert(app_user::ActiveModel {
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            email: Set(placeholder.into()),
            password_hash: Set(String::new()),
            name: Set(String::new()),
            status: Set(UserStatus::Disabled.as_str().into()),
            requested_role: Set(Role::Donor.as_str().into()),
            ..Default::default()
        })
        .exec(&txn)
        .await
        .map_err(db_err)?
        .last_insert_id;
        app_user::Entity::delete_by_id(id)
            .exec(&txn)
            .await
            .map_err(db_err)?;
        crate::audit::write_audit_entry(&txn, audit).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(id)
    }

    async fn user_by_id(&self, id: Id) -> Result<Option<User>> {
        app_user::Entity::find_by_id(id)
            .one(self.connection())
            .await
            .map_err(db_err)?
            .map(user)
            .transpose()
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        app_user::Entity::find()
            .filter(app_user::Column::Email.eq(email))
            .one(self.connection())
            .await
            .map_err(db_err)?
            .map(user)
            .transpose()
    }

    async fn password_hash(&self, user_id: Id) -> Result<Option<String>> {
        Ok(app_user::Entity::find_by_id(user_id)
            .one(self.connection())
            .await
            .map_err(db_err)?
            .map(|u| u.password_hash))
    }

    async fn approve(
        &self,
        id: Id,
        role: Role,
        affiliation: Option<Affiliation>,
        audit: AuditEntry,
    ) -> Result<User> {
        let (kind, aid) = parts(&affiliation);
        let txn = crate::db::write_transaction(self.connection()).await?;
        let done = app_user::Entity::update_many()
            .col_expr(app_user::Column::Role, Expr::value(role.as_str()))
            .col_expr(app_user::Column::AffiliationKind, Expr::value(kind))
            .col_expr(app_user::Column::AffiliationId, Expr::value(aid))
            .col_expr(
                app_user::Column::Status,
                Expr::value(UserStatus::Active.as_str()),
            )
            .col_expr(app_user::Column::UpdatedAt, Expr::value(Utc::now()))
            // A new version invalidates access tokens issued under the old role.
            .col_expr(
                app_user::Column::Version,
                Expr::col(app_user::Column::Version).add(1),
            )
            .filter(app_user::Column::Id.eq(id))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        if done.rows_affected == 0 {
            return Err(Error::not_found("User", id));
        }
        crate::audit::write_audit_entry(&txn, audit).await?;
        let saved = app_user::Entity::find_by_id(id)
            .one(&txn)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::not_found("User", id))?;
        txn.commit().await.map_err(db_err)?;
        user(saved)
    }

    async fn affiliation_exists(&self, a: &Affiliation) -> Result<bool> {
        let db = self.connection();
        let found = match a {
            Affiliation::City(id) => city::Entity::find_by_id(*id)
                .one(db)
                .await
                .map_err(db_err)?
                .is_some(),
            Affiliation::Association(id) => association::Entity::find_by_id(*id)
                .one(db)
                .await
                .map_err(db_err)?
                .is_some(),
            Affiliation::Donor(id) => donor::Entity::find_by_id(*id)
                .one(db)
                .await
                .map_err(db_err)?
                .is_some(),
        };
        Ok(found)
    }

    async fn count_attempt(
        &self,
        subject: &str,
        now: DateTime<Utc>,
        window: Duration,
    ) -> Result<u64> {
        let db = self.connection();
        let backend = db.get_database_backend();
        let now = now.timestamp();
        let expired = now - window.num_seconds();
        // Windows that ended are of no use to anyone: kept out of the table as it goes.
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            match backend {
                DbBackend::Postgres => "DELETE FROM sign_in_attempt WHERE window_start <= $1",
                _ => "DELETE FROM sign_in_attempt WHERE window_start <= ?",
            },
            [(now - LONGEST_WINDOW_SECONDS).into()],
        ))
        .await
        .map_err(db_err)?;
        // One statement that counts and answers: concurrent attempts each see their own count,
        // in one process or many. A window that has ended starts again at this attempt.
        let sql = match backend {
            DbBackend::Postgres => {
                "INSERT INTO sign_in_attempt (subject, window_start, attempts) VALUES ($1, $2, 1) \
                 ON CONFLICT (subject) DO UPDATE SET \
                 attempts = CASE WHEN sign_in_attempt.window_start <= $3 THEN 1 \
                                 ELSE sign_in_attempt.attempts + 1 END, \
                 window_start = CASE WHEN sign_in_attempt.window_start <= $3 THEN $2 \
                                     ELSE sign_in_attempt.window_start END \
                 RETURNING attempts"
            }
            _ => {
                "INSERT INTO sign_in_attempt (subject, window_start, attempts) VALUES (?1, ?2, 1) \
                 ON CONFLICT (subject) DO UPDATE SET \
                 attempts = CASE WHEN sign_in_attempt.window_start <= ?3 THEN 1 \
                                 ELSE sign_in_attempt.attempts + 1 END, \
                 window_start = CASE WHEN sign_in_attempt.window_start <= ?3 THEN ?2 \
                                     ELSE sign_in_attempt.window_start END \
                 RETURNING attempts"
            }
        };
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [subject_key(subject).into(), now.into(), expired.into()],
            ))
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::internal("counting an attempt returned no row"))?;
        let attempts: i64 = row.try_get_by_index(0).map_err(db_err)?;
        Ok(u64::try_from(attempts).unwrap_or(0))
    }

    async fn refund_attempt(&self, subject: &str) -> Result<()> {
        let db = self.connection();
        let backend = db.get_database_backend();
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            match backend {
                DbBackend::Postgres => {
                    "UPDATE sign_in_attempt SET attempts = attempts - 1 \
                     WHERE subject = $1 AND attempts > 0"
                }
                _ => {
                    "UPDATE sign_in_attempt SET attempts = attempts - 1 \
                     WHERE subject = ? AND attempts > 0"
                }
            },
            [subject_key(subject).into()],
        ))
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn clear_attempts(&self, subject: &str) -> Result<()> {
        let db = self.connection();
        let backend = db.get_database_backend();
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            match backend {
                DbBackend::Postgres => "DELETE FROM sign_in_attempt WHERE subject = $1",
                _ => "DELETE FROM sign_in_attempt WHERE subject = ?",
            },
            [subject_key(subject).into()],
        ))
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn store_token(
        &self,
        user_id: Id,
        token_hash: &str,
        family: &str,
        expires_at: DateTime<Utc>,
        audit: AuditEntry,
    ) -> Result<()> {
        let txn = crate::db::write_transaction(self.connection()).await?;
        refresh_token::Entity::insert(refresh_token::ActiveModel {
            user_id: Set(user_id),
            token_hash: Set(token_hash.into()),
            family: Set(family.into()),
            created_at: Set(Utc::now()),
            expires_at: Set(expires_at),
            used_at: Set(None),
            revoked_at: Set(None),
            ..Default::default()
        })
        .exec(&txn)
        .await
        .map_err(db_err)?;
        crate::audit::write_audit_entry(&txn, audit).await?;
        txn.commit().await.map_err(db_err)
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<StoredToken>> {
        let found = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(token_hash))
            .one(self.connection())
            .await
            .map_err(db_err)?;
        Ok(found.map(|t| StoredToken {
            id: t.id,
            user_id: t.user_id,
            family: t.family,
            expires_at: t.expires_at,
            used: t.used_at.is_some(),
            revoked: t.revoked_at.is_some(),
        }))
    }

    async fn use_token(&self, id: Id) -> Result<bool> {
        let done = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(Some(Utc::now())))
            .filter(refresh_token::Column::Id.eq(id))
            .filter(refresh_token::Column::UsedAt.is_null())
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(self.connection())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected == 1)
    }

    async fn revoke_family(&self, family: &str, audit: AuditEntry) -> Result<()> {
        let txn = crate::db::write_transaction(self.connection()).await?;
        let done = refresh_token::Entity::update_many()
            .col_expr(
                refresh_token::Column::RevokedAt,
                Expr::value(Some(Utc::now())),
            )
            .filter(refresh_token::Column::Family.eq(family))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(db_err)?;
        // Revoking what is already revoked changes nothing and is not worth an entry.
        if done.rows_affected > 0 {
            crate::audit::write_audit_entry(&txn, audit).await?;
        }
        txn.commit().await.map_err(db_err)
    }

    async fn sign_in_is_live(&self, user_id: Id, family: &str) -> Result<bool> {
        let token = refresh_token::Entity::find()
            .filter(refresh_token::Column::Family.eq(family))
            .filter(refresh_token::Column::UserId.eq(user_id))
            .one(self.connection())
            .await
            .map_err(db_err)?;
        Ok(token.is_some_and(|t| t.revoked_at.is_none()))
    }

    async fn set_status(&self, id: Id, status: UserStatus, audit: AuditEntry) -> Result<User> {
        let txn = crate::db::write_transaction(self.connection()).await?;
        let done = app_user::Entity::update_many()
            .col_expr(app_user::Column::Status, Expr::value(status.as_str()))
            .col_expr(app_user::Column::UpdatedAt, Expr::value(Utc::now()))
            // A new version stops the access tokens issued before, at their next request.
            .col_expr(
                app_user::Column::Version,
                Expr::col(app_user::Column::Version).add(1),
            )
            .filter(app_user::Column::Id.eq(id))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        if done.rows_affected == 0 {
            return Err(Error::not_found("User", id));
        }
        if status == UserStatus::Disabled {
            revoke_all(&txn, id).await?;
        }
        crate::audit::write_audit_entry(&txn, audit).await?;
        let saved = app_user::Entity::find_by_id(id)
            .one(&txn)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::not_found("User", id))?;
        txn.commit().await.map_err(db_err)?;
        user(saved)
    }

    async fn list_users(&self, filter: &UserFilter, page: PageRequest) -> Result<Page<User>> {
        let mut select = app_user::Entity::find()
            .filter(user_condition(filter))
            .order_by_asc(app_user::Column::Id)
            .limit(page.first + 1);
        if let Some(after) = page.after {
            select = select.filter(app_user::Column::Id.gt(after));
        }
        let mut rows = select.all(self.connection()).await.map_err(db_err)?;
        let has_next_page = rows.len() as u64 > page.first;
        rows.truncate(page.first as usize);
        Ok(Page {
            items: rows.into_iter().map(user).collect::<Result<_>>()?,
            has_next_page,
        })
    }

    async fn count_users(&self, filter: &UserFilter) -> Result<i64> {
        crate::query::count::<app_user::Entity>(self.connection(), user_condition(filter)).await
    }

    async fn set_password_hash(
        &self,
        id: Id,
        password_hash: &str,
        audit: AuditEntry,
    ) -> Result<()> {
        let txn = crate::db::write_transaction(self.connection()).await?;
        let done = app_user::Entity::update_many()
            .col_expr(app_user::Column::PasswordHash, Expr::value(password_hash))
            .col_expr(app_user::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(app_user::Column::Id.eq(id))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        if done.rows_affected == 0 {
            return Err(Error::not_found("User", id));
        }
        revoke_all(&txn, id).await?;
        crate::audit::write_audit_entry(&txn, audit).await?;
        txn.commit().await.map_err(db_err)
    }

    async fn store_reset_token(
        &self,
        user_id: Id,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        audit: AuditEntry,
    ) -> Result<()> {
        let txn = crate::db::write_transaction(self.connection()).await?;
        password_reset::Entity::insert(password_reset::ActiveModel {
            user_id: Set(user_id),
            token_hash: Set(token_hash.into()),
            created_at: Set(Utc::now()),
            expires_at: Set(expires_at),
            used_at: Set(None),
            ..Default::default()
        })
        .exec(&txn)
        .await
        .map_err(db_err)?;
        crate::audit::write_audit_entry(&txn, audit).await?;
        txn.commit().await.map_err(db_err)
    }

    async fn take_reset_token(&self, token_hash: &str) -> Result<Option<(Id, DateTime<Utc>)>> {
        let txn = crate::db::write_transaction(self.connection()).await?;
        // The conditional update is the claim: only one use finds the token unspent.
        let done = password_reset::Entity::update_many()
            .col_expr(
                password_reset::Column::UsedAt,
                Expr::value(Some(Utc::now())),
            )
            .filter(password_reset::Column::TokenHash.eq(token_hash))
            .filter(password_reset::Column::UsedAt.is_null())
            .exec(&txn)
            .await
            .map_err(db_err)?;
        if done.rows_affected == 0 {
            return Ok(None);
        }
        let row = password_reset::Entity::find()
            .filter(password_reset::Column::TokenHash.eq(token_hash))
            .one(&txn)
            .await
            .map_err(db_err)?;
        txn.commit().await.map_err(db_err)?;
        Ok(row.map(|r| (r.user_id, r.expires_at)))
    }
}

/// Revokes every refresh token of the user not revoked yet: every sign-in, and with them the
/// access tokens naming them.
async fn revoke_all(txn: &DatabaseTransaction, user_id: Id) -> Result<()> {
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RevokedAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(txn)
        .await
        .map_err(db_err)?;
    Ok(())
}

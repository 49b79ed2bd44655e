//! Funding-gap rollups kept in step with the information base.
//!
//! Joining every published practice with every funding record takes seconds on a large base, far
//! more than a donor's question should. So each grouping asked for (a set of dimensions, in
//! canonical order) is materialized once: per cell, the practices, their required and funded
//! amounts by status, and the donors and schemes active there with a reference count. Every
//! write that changes what a practice contributes (the practice itself, its tags and cities, its
//! funding, its scheme links, a city's country) takes the practice's contribution out before the
//! change and puts it back after, in the same transaction, so a rollup never disagrees with the
//! rows it summarizes. Contributions are sums, so concurrent writers compose; on PostgreSQL the
//! practices being changed are locked first so that no writer subtracts what another added.
//! Bulk loads drop the rollups instead; the next question rebuilds them.

use domain::analytics::GapDimension;
use domain::entities::Id;
use domain::{Error, Result};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement};

use crate::analytics::split;
use crate::cells::practice_source;
use crate::store::db_err;

/// A grouping in the form it is stored under: its dimensions sorted, without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Combo {
    dims: Vec<GapDimension>,
}

impl Combo {
    pub(crate) fn of(by: &[GapDimension]) -> Self {
        let mut dims = by.to_vec();
        dims.sort();
        dims.dedup();
        Combo { dims }
    }

    /// "ALL" for the whole base, else the dimensions joined by commas.
    pub(crate) fn name(&self) -> String {
        if self.dims.is_empty() {
            "ALL".into()
        } else {
            self.dims
                .iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>()
                .join(",")
        }
    }

    fn parse(name: &str) -> Option<Self> {
        if name == "ALL" {
            return Some(Combo { dims: vec![] });
        }
        let dims = name
            .split(',')
            .map(|s| {
                [
                    GapDimension::Theme,
                    GapDimension::Orientation,
                    GapDimension::Bloc,
                    GapDimension::Country,
                    GapDimension::Modality,
                    GapDimension::ManagementFocus,
                ]
                .into_iter()
                .find(|d| d.as_str() == s)
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Combo::of(&dims))
    }

    /// The stored key column (k1, k2, k3) that holds the value of `d`.
    pub(crate) fn column_of(&self, d: Option<GapDimension>) -> String {
        match d {
            None => "k1".into(),
            Some(d) => {
                let i = self.dims.iter().position(|x| *x == d).unwrap_or(0);
                format!("k{}", i + 1)
            }
        }
    }

    /// `(combo, pid, k1, k2, k3)` for every published practice whose id satisfies `restrict`,
    /// once per cell of this grouping it falls in.
    fn projection(&self, restrict: Option<&str>) -> String {
        let name = self.name();
        let dims: Vec<Option<GapDimension>> = if self.dims.is_empty() {
            vec![None]
        } else {
            self.dims.iter().copied().map(Some).collect()
        };
        let joins: String = dims
            .iter()
            .enumerate()
            .map(|(i, d)| {
                format!(
                    " JOIN ({}) d{i} ON d{i}.oid = p.id",
                    practice_source(*d, restrict)
                )
            })
            .collect();
        let keys: String = (0..3)
            .map(|i| {
                if i < dims.len() {
                    format!(", d{i}.v AS k{}", i + 1)
                } else {
                    format!(", '' AS k{}", i + 1)
                }
            })
            .collect();
        let only = restrict
            .map(|r| format!(" AND p.id {r}"))
            .unwrap_or_default();
        format!(
            "SELECT '{name}' AS combo, p.id AS pid{keys} FROM practice p{joins} WHERE p.status = 'PUBLISHED'{only}"
        )
    }
}

/// Adds `sign` times the contribution of the practices matching `restrict` (all when None) to
/// the rollups of `combos`: two statements whatever the number of groupings.
async fn add_contribution(
    txn: &DatabaseTransaction,
    combos: &[Combo],
    restrict: Option<&str>,
    sign: i64,
) -> Result<()> {
    if combos.is_empty() {
        return Ok(());
    }
    let projections = combos
        .iter()
        .map(|c| c.projection(restrict))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let funding_of = restrict
        .map(|r| format!("practice_id {r}"))
        .unwrap_or_else(|| "practice_id IS NOT NULL".into());
    // The outer `WHERE 1 = 1` keeps SQLite from reading ON CONFLICT as a join's ON. Each sum
    // of money is kept in two parts that cannot overflow (see `analytics::split`): `x_hi` whole
    // units of SPLIT cents, `x` the rest.
    let (r_hi, r_lo) = split("COALESCE(p.amount_required_usd_cents, 0)");
    let (f_hi, f_lo) = split("amount_usd_cents");
    let totals = format!(
        "INSERT INTO gap_rollup (combo, k1, k2, k3, practices, required, pledged, committed, disbursed, \
                                 required_hi, pledged_hi, committed_hi, disbursed_hi) \
         SELECT * FROM (SELECT x.combo, x.k1, x.k2, x.k3, {sign} * COUNT(*) AS practices, \
                {sign} * SUM({r_lo}) AS required, \
                {sign} * SUM(COALESCE(pf.pledged, 0)) AS pledged, \
                {sign} * SUM(COALESCE(pf.committed, 0)) AS committed, \
                {sign} * SUM(COALESCE(pf.disbursed, 0)) AS disbursed, \
                {sign} * SUM({r_hi}) AS required_hi, \
                {sign} * SUM(COALESCE(pf.pledged_hi, 0)) AS pledged_hi, \
                {sign} * SUM(COALESCE(pf.committed_hi, 0)) AS committed_hi, \
                {sign} * SUM(COALESCE(pf.disbursed_hi, 0)) AS disbursed_hi \
           FROM ({projections}) x JOIN practice p ON p.id = x.pid \
           LEFT JOIN (SELECT practice_id, \
                SUM(CASE WHEN status = 'PLEDGED' THEN {f_lo} ELSE 0 END) AS pledged, \
                SUM(CASE WHEN status = 'COMMITTED' THEN {f_lo} ELSE 0 END) AS committed, \
                SUM(CASE WHEN status = 'DISBURSED' THEN {f_lo} ELSE 0 END) AS disbursed, \
                SUM(CASE WHEN status = 'PLEDGED' THEN {f_hi} ELSE 0 END) AS pledged_hi, \
                SUM(CASE WHEN status = 'COMMITTED' THEN {f_hi} ELSE 0 END) AS committed_hi, \
                SUM(CASE WHEN status = 'DISBURSED' THEN {f_hi} ELSE 0 END) AS disbursed_hi \
              FROM funding WHERE {funding_of} AND amount_usd_cents IS NOT NULL GROUP BY practice_id) pf \
             ON pf.practice_id = x.pid \
           GROUP BY x.combo, x.k1, x.k2, x.k3) u WHERE 1 = 1 \
         ON CONFLICT (combo, k1, k2, k3) DO UPDATE SET \
           practices = gap_rollup.practices + excluded.practices, \
           required = gap_rollup.required + excluded.required, \
           pledged = gap_rollup.pledged + excluded.pledged, \
           committed = gap_rollup.committed + excluded.committed, \
           disbursed = gap_rollup.disbursed + excluded.disbursed, \
           required_hi = gap_rollup.required_hi + excluded.required_hi, \
           pledged_hi = gap_rollup.pledged_hi + excluded.pledged_hi, \
           committed_hi = gap_rollup.committed_hi + excluded.committed_hi, \
           disbursed_hi = gap_rollup.disbursed_hi + excluded.disbursed_hi"
    );
    let members = format!(
        "INSERT INTO gap_rollup_member (combo, k1, k2, k3, kind, member_id, n) \
         SELECT * FROM ( \
           SELECT x.combo, x.k1, x.k2, x.k3, 'D' AS kind, f.donor_id AS member_id, {sign} * COUNT(*) AS n \
             FROM ({projections}) x JOIN funding f ON f.practice_id = x.pid WHERE f.donor_id IS NOT NULL \
             GROUP BY x.combo, x.k1, x.k2, x.k3, f.donor_id \
           UNION ALL \
           SELECT x.combo, x.k1, x.k2, x.k3, 'S' AS kind, ps.scheme_id AS member_id, {sign} * COUNT(*) AS n \
             FROM ({projections}) x JOIN practice_scheme ps ON ps.practice_id = x.pid \
             GROUP BY x.combo, x.k1, x.k2, x.k3, ps.scheme_id) u WHERE 1 = 1 \
         ON CONFLICT (combo, k1, k2, k3, kind, member_id) DO UPDATE SET n = gap_rollup_member.n + excluded.n"
    );
    txn.execute_unprepared(&totals).await.map_err(db_err)?;
    txn.execute_unprepared(&members).await.map_err(db_err)?;
    Ok(())
}

/// The practices a change touches.
pub(crate) enum Touched {
    Practices(Vec<Id>),
    /// Every practice a city takes part in (its country may have changed).
    PracticesOfCity(Id),
    /// A practice this transaction creates: nothing to take out; see [`Maintenance::created`].
    NewPractice,
}

impl Touched {
    fn restrict(&self) -> Option<String> {
        match self {
            Touched::Practices(ids) if ids.is_empty() => None,
            Touched::Practices(ids) => Some(format!(
                "IN ({})",
                ids.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Touched::PracticesOfCity(city) => Some(format!(
                "IN (SELECT practice_id FROM practice_city WHERE city_id = {city})"
            )),
            Touched::NewPractice => None,
        }
    }
}

/// The rollups one write transaction keeps in step: begun before its first change, finished
/// after its last.
#[must_use = "finish it after the changes, or the rollups lose the touched practices"]
pub(crate) struct Maintenance {
    combos: Vec<Combo>,
    restrict: Option<String>,
    /// Begun for a [`Touched::NewPractice`]: the practice is named once it exists.
    awaits_new_practice: bool,
}

impl Maintenance {
    /// Locks against a grouping being built meanwhile (PostgreSQL; SQLite's write transaction
    /// already excludes every other writer), locks the touched practices, and takes their
    /// contribution out of every built grouping.
    pub(crate) async fn begin(txn: &DatabaseTransaction, touched: Touched) -> Result<Self> {
        let postgres = txn.get_database_backend() == DbBackend::Postgres;
        let restrict = touched.restrict();
        let awaits_new_practice = matches!(touched, Touched::NewPractice);
        if restrict.is_none() && !awaits_new_practice {
            return Ok(Maintenance {
                combos: vec![],
                restrict: None,
                awaits_new_practice,
            });
        }
        if postgres {
            txn.execute_unprepared("LOCK TABLE gap_combo IN SHARE MODE")
                .await
                .map_err(db_err)?;
        }
        let combos = built_combos(txn).await?;
        if let Some(restrict) = &restrict
            && !combos.is_empty()
        {
            if postgres {
                txn.execute_unprepared(&format!(
                    "SELECT id FROM practice WHERE id {restrict} ORDER BY id FOR UPDATE"
                ))
                .await
                .map_err(db_err)?;
            }
            add_contribution(txn, &combos, Some(restrict), -1).await?;
        }
        Ok(Maintenance {
            combos,
            restrict,
            awaits_new_practice,
        })
    }

    /// Names the record the transaction created: the practice of a [`Touched::NewPractice`]
    /// maintenance; any other record's creation changes nothing here.
    pub(crate) fn created(mut self, id: Id) -> Self {
        if self.awaits_new_practice {
            self.restrict = Some(format!("IN ({id})"));
        }
        self
    }

    /// Puts the touched practices' contribution back, as they now are.
    pub(crate) async fn finish(self, txn: &DatabaseTransaction) -> Result<()> {
        match &self.restrict {
            Some(restrict) => add_contribution(txn, &self.combos, Some(restrict), 1).await,
            None => Ok(()),
        }
    }
}

async fn built_combos<C: ConnectionTrait>(db: &C) -> Result<Vec<Combo>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT combo FROM gap_combo ORDER BY combo",
        ))
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let name: String = r.try_get_by_index(0).map_err(db_err)?;
            Combo::parse(&name)
                .ok_or_else(|| Error::internal(format!("unknown gap grouping {name}")))
        })
        .collect()
}

async fn is_built<C: ConnectionTrait>(db: &C, combo: &Combo) -> Result<bool> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            match db.get_database_backend() {
                DbBackend::Postgres => "SELECT 1 FROM gap_combo WHERE combo = $1",
                _ => "SELECT 1 FROM gap_combo WHERE combo = ?",
            },
            [combo.name().into()],
        ))
        .await
        .map_err(db_err)?;
    Ok(row.is_some())
}

/// Builds the rollup of `combo` from the base unless it is there already. The first question
/// for a grouping pays for this once; writes keep it current from then on.
pub(crate) async fn ensure_built(db: &DatabaseConnection, combo: &Combo) -> Result<()> {
    if is_built(db, combo).await? {
        return Ok(());
    }
    let txn = crate::db::write_transaction(db).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        // Waits for the writers in flight and holds new ones back until the rollup is in.
        txn.execute_unprepared("LOCK TABLE gap_combo IN EXCLUSIVE MODE")
            .await
            .map_err(db_err)?;
    }
    if !is_built(&txn, combo).await? {
        let started = std::time::Instant::now();
        let name = combo.name();
        for table in ["gap_rollup", "gap_rollup_member"] {
            txn.execute_unprepared(&format!("DELETE FROM {table} WHERE combo = '{name}'"))
                .await
                .map_err(db_err)?;
        }
        add_contribution(&txn, std::slice::from_ref(combo), None, 1).await?;
        let at = chrono::Utc::now().to_rfc3339();
        txn.execute_unprepared(&format!(
            "INSERT INTO gap_combo (combo, built_at) VALUES ('{name}', '{at}')"
        ))
        .await
        .map_err(db_err)?;
        tracing::info!(grouping = %name, elapsed_ms = started.elapsed().as_millis() as u64, "funding-gap rollup built");
    }
    txn.commit().await.map_err(db_err)
}

/// Drops every rollup, for loads that write around the maintained path; the next question
/// rebuilds what it needs.
pub async fn invalidate<C: ConnectionTrait>(db: &C) -> Result<()> {
    for table in ["gap_rollup_member", "gap_rollup", "gap_combo"] {
        db.execute_unprepared(&format!("DELETE FROM {table}"))
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

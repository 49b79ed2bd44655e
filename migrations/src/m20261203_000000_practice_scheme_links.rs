//! `schemeOverlaps` lists the published practices that two or more schemes of one overlap
//! support. It looked for them among every link of every overlapping scheme (62,176 links on
//! 200,000 practices, 84 ms, to find none), since nothing told a practice linked to several
//! schemes from one linked to a single scheme. Each practice now keeps how many schemes it is
//! linked to, and the published practices linked to two or more are indexed apart: the
//! question reads those few and their links (found by their count, which SQLite needs to
//! search the index rather than scan it).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000000_practice_scheme_links"
    }
}

const INDEX: &str = "ix_practice_several_schemes";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "ALTER TABLE practice ADD COLUMN scheme_links INTEGER NOT NULL DEFAULT 0",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE practice SET scheme_links = (SELECT COUNT(*) FROM practice_scheme ps \
             WHERE ps.practice_id = practice.id)",
        )
        .await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX {INDEX} ON practice (scheme_links, id) \
             WHERE scheme_links > 1 AND status = 'PUBLISHED'"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!("DROP INDEX {INDEX}"))
            .await?;
        db.execute_unprepared("ALTER TABLE practice DROP COLUMN scheme_links")
            .await?;
        Ok(())
    }
}

//! Data exchange on the wire: the secretariat uploads an IATI activity file.

use async_graphql::{Context, Object, SimpleObject, Upload};

use super::resolve::actor;
use crate::error::{ResultExt, validation};
use crate::import::{ImportReport, Importer, SkippedActivity};

/// What an import did, by `iati-identifier`.
#[derive(SimpleObject)]
pub struct IatiImportReport {
    /// The file's IATI version.
    version: String,
    created: Vec<String>,
    updated: Vec<String>,
    /// Activities that matched what the base holds already: importing a file twice changes
    /// nothing the second time.
    unchanged: Vec<String>,
    skipped: Vec<IatiSkippedActivity>,
    /// Cities made for places the base did not have, as `name (country)`.
    cities_created: Vec<String>,
    donors_created: Vec<String>,
    /// What was read but has no place in the Forum: sectors without a theme, transactions that
    /// are not a stage of funding, places without a country.
    unmapped: Vec<String>,
}

/// An activity left out, and why.
#[derive(SimpleObject)]
pub struct IatiSkippedActivity {
    /// The line of the file the activity starts on.
    line: u64,
    identifier: Option<String>,
    reason: String,
}

impl From<SkippedActivity> for IatiSkippedActivity {
    fn from(s: SkippedActivity) -> Self {
        IatiSkippedActivity {
            line: s.line,
            identifier: s.identifier,
            reason: s.reason,
        }
    }
}

impl From<ImportReport> for IatiImportReport {
    fn from(r: ImportReport) -> Self {
        IatiImportReport {
            version: r.version,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            skipped: r.skipped.into_iter().map(Into::into).collect(),
            cities_created: r.cities_created,
            donors_created: r.donors_created,
            unmapped: r.unmapped,
        }
    }
}

#[derive(Default)]
pub struct ExchangeMutation;

#[Object]
impl ExchangeMutation {
    /// ADMIN: imports an IATI 2.03 activity file sent with the request (a multipart request,
    /// see README "Exchanging data"). Each activity becomes or updates a DRAFT practice keyed by
    /// its `iati-identifier`; the file is imported whole or not at all. A file that is not XML,
    /// not IATI activities or of another version is `VALIDATION` on `file`.
    #[graphql(complexity = "super::cost::IMPORT")]
    async fn import_iati(
        &self,
        ctx: &Context<'_>,
        file: Upload,
    ) -> async_graphql::Result<IatiImportReport> {
        let upload = file
            .value(ctx)
            .map_err(|_| validation("file", "no file was sent under this name"))?;
        let importer = ctx.data_unchecked::<Importer>();
        let report = importer
            .import_file(actor(ctx), upload.content)
            .await
            .api()?;
        Ok(report.into())
    }
}

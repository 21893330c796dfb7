//! Re-exports ICU4X's compiled CLDR data (the `icu_*_data` crates) for tidings' locales only.
//!
//! CLDR itself cannot be downloaded where tidings is built, so the source is the compiled data that
//! ships with ICU4X: it is read back through the data crates' iterable baked providers and written
//! out again, as baked Rust, for the markers tidings' formatters use and the locales it supports.
//! Other regional variants fall back to their parents at run time (`en-AU` → `en-001`, `fr-CA` → `fr`).
//!
//! Run from this folder: `cargo run --release -- ../../shared/src/render/icu_data`.

extern crate alloc;

use icu_provider::export::{DataExporter, ExportMarker, ExporterCloseMetadata, FlushMetadata};
use icu_provider::prelude::*;
use icu_provider_export::baked_exporter::{self, BakedExporter};
use icu_provider_export::prelude::*;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// The paths the data crates' macros expect (they are written for the `icu` meta-crate).
mod icu {
    pub use icu_datetime as datetime;
    pub use icu_decimal as decimal;
    pub use icu_experimental as experimental;
    pub use icu_locale as locale;
}

use icu_datetime::provider::DatetimePatternsDateGregorianV1;
use icu_datetime::provider::neo::{DatetimeNamesMonthGregorianV1, DatetimeNamesYearGregorianV1};
use icu_decimal::provider::{DecimalDigitsV1, DecimalSymbolsV1};
use icu_experimental::dimension::provider::currency::essentials::CurrencyEssentialsV1;

/// ICU4X's compiled data, iterable so that the export driver can read it back.
struct Compiled;

const _: () = {
    // The macros call their inner helpers unqualified.
    use icu_datetime_data::*;
    use icu_decimal_data::*;
    use icu_experimental_data::*;
    icu_decimal_data::make_provider!(Compiled);
    impl_currency_essentials_v1!(Compiled, ITER);
    impl_datetime_names_month_gregorian_v1!(Compiled, ITER);
    impl_datetime_names_year_gregorian_v1!(Compiled, ITER);
    impl_datetime_patterns_date_gregorian_v1!(Compiled, ITER);
    impl_decimal_digits_v1!(Compiled, ITER);
    impl_decimal_symbols_v1!(Compiled, ITER);
};

// Keep in step with the `impl_*!` calls in shared/src/render/format.rs.
icu_provider::export::make_exportable_provider!(
    Compiled,
    [
        CurrencyEssentialsV1,
        DatetimeNamesMonthGregorianV1,
        DatetimeNamesYearGregorianV1,
        DatetimePatternsDateGregorianV1,
        DecimalDigitsV1,
        DecimalSymbolsV1,
    ]
);

/// The locales tidings formats money and dates for (`en` is en-US; `zh` is Simplified Chinese; without
/// `zh-Hant`, zh-TW would fall back to CLDR's root forms, since its parent is root rather than `zh`).
///
/// Only these and their ancestors (`en-GB` → `en-001` → `en`): every regional variant of them
/// would cost ~190 KB instead of ~25 KB, mostly currency symbols that differ by region.
/// Keep the languages in step with `LANGUAGES` in shared/src/render/format.rs.
const LOCALES: [&str; 10] = ["en", "en-GB", "ko", "tr", "zh", "zh-Hant", "ja", "de", "fr", "es"];

/// Drops a payload when the locale it would fall back to at run time holds the same one.
///
/// `ExportDriver`'s own deduplication (2.1.1) compares `en-GB` with itself after a first fallback
/// step that changes nothing, so it drops every regional variant and en-GB dates come out American.
struct Dedup<E> {
    inner: E,
    fallbacker: LocaleFallbacker,
    payloads: Mutex<HashMap<DataMarkerInfo, HashMap<DataIdentifierCow<'static>, DataPayload<ExportMarker>>>>,
}

impl<E: DataExporter> DataExporter for Dedup<E> {
    fn put_payload(
        &self,
        marker: DataMarkerInfo,
        id: DataIdentifierBorrowed,
        payload: &DataPayload<ExportMarker>,
    ) -> Result<(), DataError> {
        let mut payloads = self.payloads.lock().map_err(|_| DataError::custom("poisoned"))?;
        payloads
            .entry(marker)
            .or_default()
            .insert(id.into_owned(), payload.clone());
        Ok(())
    }

    fn flush(&self, marker: DataMarkerInfo, mut metadata: FlushMetadata) -> Result<(), DataError> {
        let payloads = self
            .payloads
            .lock()
            .map_err(|_| DataError::custom("poisoned"))?
            .remove(&marker);
        let payloads = payloads.unwrap_or_default();
        let fallbacker = self.fallbacker.for_config(marker.fallback_config);
        for (id, payload) in &payloads {
            let mut inherited = None;
            if !id.locale.is_unknown() {
                let mut iter = fallbacker.fallback_for(id.locale);
                while !iter.get().is_unknown() {
                    iter.step();
                    if *iter.get() == id.locale {
                        continue;
                    }
                    let parent =
                        DataIdentifierBorrowed::for_marker_attributes_and_locale(&id.marker_attributes, iter.get());
                    if let Some(found) = payloads.get(&parent.into_owned()) {
                        inherited = Some(found);
                        break;
                    }
                }
            }
            if inherited != Some(payload) {
                self.inner.put_payload(marker, id.as_borrowed(), payload)?;
            }
        }
        // Fallback is needed at run time now, so no "dry" (exact-match-only) provider.
        metadata.supports_dry_provider = false;
        self.inner.flush(marker, metadata)
    }

    fn flush_singleton(
        &self,
        marker: DataMarkerInfo,
        payload: &DataPayload<ExportMarker>,
        metadata: FlushMetadata,
    ) -> Result<(), DataError> {
        self.inner.flush_singleton(marker, payload, metadata)
    }

    fn close(&mut self) -> Result<ExporterCloseMetadata, DataError> {
        self.inner.close()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out: PathBuf = std::env::args().nth(1).ok_or("usage: icu-data OUTPUT_DIR")?.into();
    let fallbacker = LocaleFallbacker::new().static_to_owned();
    let families = LOCALES
        .iter()
        .map(|tag| Ok(DataLocaleFamily::without_descendants(tag.parse()?)))
        .collect::<Result<Vec<_>, Box<dyn std::error::Error>>>()?;
    let mut options = baked_exporter::Options::default();
    options.use_separate_crates = true;
    options.overwrite = true;
    options.pretty = true;
    let sink = Dedup {
        inner: BakedExporter::new(out, options)?,
        fallbacker: fallbacker.clone(),
        payloads: Mutex::default(),
    };
    // No deduplication by the driver: every locale is resolved in full, then `Dedup` thins it out.
    ExportDriver::new(families, DeduplicationStrategy::None.into(), fallbacker)
        .with_markers([
            CurrencyEssentialsV1::INFO,
            DatetimeNamesMonthGregorianV1::INFO,
            DatetimeNamesYearGregorianV1::INFO,
            DatetimePatternsDateGregorianV1::INFO,
            DecimalDigitsV1::INFO,
            DecimalSymbolsV1::INFO,
        ])
        .export(&Compiled, sink)?;
    Ok(())
}

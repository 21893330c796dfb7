//! `tidings preview`: every message the store can send, as a static gallery that opens from disk.
//!
//! `index.html` holds every card (each email in an `srcdoc` frame, so the page needs no server and
//! can measure and theme its frames); `emails/` holds each message as `.html`, `.txt` and `.eml`
//! for the email-quality gate (scripts/email-quality) and for mail clients.

use minijinja::Environment;
use minijinja::value::Serde;
use serde::Serialize;
use std::path::Path;
use tidings_core::config::StoreConfig;
use tidings_core::preview::{PreviewError, Specimen, specimens};
use tidings_core::render::Renderer;

/// Why the gallery could not be written.
#[derive(Debug, thiserror::Error)]
pub enum GalleryError {
    /// A sample did not render.
    #[error(transparent)]
    Preview(#[from] PreviewError),
    /// The gallery page's own template failed.
    #[error("gallery page: {0}")]
    Page(#[from] minijinja::Error),
    /// Writing a file failed.
    #[error("writing {path}: {source}")]
    Write {
        /// Which file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What was written.
#[derive(Debug)]
pub struct Gallery {
    /// Cards (messages) in the gallery.
    pub cards: usize,
    /// Distinct kinds.
    pub kinds: usize,
    /// Distinct locales.
    pub locales: usize,
}

/// One card as the page template sees it.
#[derive(Serialize)]
struct Card<'a> {
    stem: String,
    kind: &'a str,
    category: &'a str,
    locale: &'a str,
    variant: &'a str,
    label: &'a str,
    subject: &'a str,
    preheader: &'a str,
    html: &'a str,
    bytes: usize,
}

/// The page as its template sees it.
#[derive(Serialize)]
struct Page<'a> {
    store: &'a str,
    from_name: &'a str,
    cards: &'a [Card<'a>],
    kinds: &'a std::collections::BTreeSet<&'a str>,
    locales: &'a std::collections::BTreeSet<&'a str>,
}

const PAGE: &str = include_str!("preview/gallery.html");

/// Renders every specimen and writes the gallery into `out` (created if missing; files of an
/// earlier preview are replaced).
pub fn write(renderer: &Renderer, config: &StoreConfig, out: &Path) -> Result<Gallery, GalleryError> {
    let all = specimens(renderer, config)?;
    let emails = out.join("emails");
    create_dir(&emails)?;
    for specimen in &all {
        let stem = specimen.stem();
        write_file(&emails.join(format!("{stem}.html")), specimen.rendered.html.as_bytes())?;
        write_file(&emails.join(format!("{stem}.txt")), specimen.rendered.text.as_bytes())?;
        write_file(&emails.join(format!("{stem}.eml")), &specimen.raw)?;
    }
    let cards: Vec<Card<'_>> = all.iter().map(card).collect();
    let kinds: std::collections::BTreeSet<&str> = cards.iter().map(|c| c.kind).collect();
    let locales: std::collections::BTreeSet<&str> = cards.iter().map(|c| c.locale).collect();
    let mut env = Environment::new();
    env.add_template("gallery.html", PAGE)?;
    let page = env.get_template("gallery.html")?.render(Serde(&Page {
        store: config.store.name.as_str(),
        from_name: config.sender.from_name.as_str(),
        cards: &cards,
        kinds: &kinds,
        locales: &locales,
    }))?;
    write_file(&out.join("index.html"), page.as_bytes())?;
    Ok(Gallery {
        cards: cards.len(),
        kinds: kinds.len(),
        locales: locales.len(),
    })
}

fn card(specimen: &Specimen) -> Card<'_> {
    Card {
        stem: specimen.stem(),
        kind: specimen.kind.as_str(),
        category: specimen.kind.category().as_str(),
        locale: specimen.locale,
        variant: specimen.variant,
        label: specimen.label,
        subject: &specimen.rendered.subject,
        preheader: &specimen.rendered.preheader,
        html: &specimen.rendered.html,
        bytes: specimen.rendered.html.len(),
    }
}

fn create_dir(path: &Path) -> Result<(), GalleryError> {
    std::fs::create_dir_all(path).map_err(|source| GalleryError::Write {
        path: path.display().to_string(),
        source,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), GalleryError> {
    std::fs::write(path, bytes).map_err(|source| GalleryError::Write {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_gallery_has_a_card_and_three_files_per_message() {
        let dir = tempfile::tempdir().unwrap();
        let config = Arc::new(StoreConfig::sample());
        let renderer = Renderer::embedded(Arc::clone(&config)).unwrap();
        let gallery = write(&renderer, &config, dir.path()).unwrap();
        assert_eq!(gallery.kinds, tidings_core::message::MessageKind::ALL.len());
        assert_eq!(gallery.locales, 8);
        let index = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
        assert_eq!(index.matches("<article class=\"card\"").count(), gallery.cards);
        assert_eq!(index.matches("<iframe").count(), gallery.cards);
        let files = std::fs::read_dir(dir.path().join("emails")).unwrap().count();
        assert_eq!(files, gallery.cards * 3);
        // The email is inside an attribute: its quotes are escaped, so it cannot end the frame early.
        assert!(!index.contains("srcdoc=\"<!DOCTYPE html>\n<html lang=\"en-US\""));
    }
}

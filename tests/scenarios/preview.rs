//! `tidings preview`'s gallery in headless Chromium: every card loads its email, and the gallery is
//! shot at 375 and 800 px (target/preview-*.png; the copies in docs/screenshots are from these).

use std::process::Command;
use std::sync::Arc;
use tidings_core::config::StoreConfig;
use tidings_core::render::Renderer;

#[test]
fn every_card_of_the_gallery_loads_in_headless_chromium() {
    let Some(chromium) = tidings_tests::chromium() else {
        return;
    };
    let out = tempfile::tempdir().expect("gallery dir");
    let config = Arc::new(StoreConfig::sample());
    let renderer = Renderer::embedded(Arc::clone(&config)).expect("renderer");
    let gallery = tidings_cli::preview::write(&renderer, &config, out.path()).expect("gallery");
    let index = format!("file://{}", out.path().join("index.html").display());
    let profile = tempfile::tempdir().expect("profile");
    let run = |extra: &[String], url: &str| {
        let output = Command::new(&chromium)
            .args(tidings_tests::headless_args(profile.path()))
            // The sample images are on shop.example: every host name fails at once, offline.
            .arg("--host-resolver-rules=MAP * ~NOTFOUND")
            // Virtual time: the page's scripts run to completion without waiting on the wall clock.
            .arg("--virtual-time-budget=30000")
            .args(extra)
            .arg(url)
            .output()
            .expect("chromium runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };

    // The page counts each frame whose document is the email it should hold (title = subject).
    let dom = run(&["--dump-dom".to_owned()], &index);
    let status = format!(
        "data-total=\"{0}\" data-loaded=\"{0}\" data-failed=\"0\"",
        gallery.cards
    );
    assert!(dom.contains(&status), "not every card loaded: {}", status_of(&dom));
    assert!(gallery.cards >= 18 * 8, "every kind in every locale");

    let shots = tidings_tests::repo_root().join("target");
    std::fs::create_dir_all(&shots).expect("target/");
    for (width, height, view) in [
        (800, 1400, "#kind=shipping_confirmation&locale=en-US"),
        (375, 1400, "#kind=delivery_confirmation&locale=ko-KR&phone&dark"),
    ] {
        let shot = shots.join(format!("preview-{width}.png"));
        let _ = std::fs::remove_file(&shot);
        run(
            &[
                format!("--window-size={width},{height}"),
                format!("--screenshot={}", shot.display()),
            ],
            &format!("{index}{view}"),
        );
        let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "{} is a real picture ({size} bytes)", shot.display());
    }
}

fn status_of(dom: &str) -> &str {
    dom.find("id=\"status\"")
        .map_or("no status element", |at| &dom[at..dom.len().min(at + 120)])
}

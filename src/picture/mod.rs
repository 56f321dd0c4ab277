//! Pictures drawn in-process: an SVG built here, rendered by resvg (tiny-skia) with a font that
//! ships inside the binary (Ubuntu Light, from `epaint_default_fonts`), so no system font and no
//! network are needed. Every picture has a text twin beside it (see `discord::render`).

mod calendar;
mod dora;
mod timeline;

pub use calendar::{calendar_png, calendar_svg, planned_words};
pub use dora::{dora_png, dora_svg};
pub use timeline::{timeline_png, timeline_svg};

use anyhow::Context;
use std::sync::{Arc, OnceLock};

/// The font database every picture is drawn with, loaded once.
fn fonts() -> Arc<resvg::usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = resvg::usvg::fontdb::Database::new();
            db.load_font_data(epaint_default_fonts::UBUNTU_LIGHT.to_vec());
            db.set_sans_serif_family("Ubuntu");
            Arc::new(db)
        })
        .clone()
}

/// Renders `svg` to PNG bytes at its own size.
pub fn png(svg: &str) -> anyhow::Result<Vec<u8>> {
    let options = resvg::usvg::Options { fontdb: fonts(), ..Default::default() };
    let tree = resvg::usvg::Tree::from_str(svg, &options).context("the drawing is not valid SVG")?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).context("the picture has no area")?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(&tree, resvg::tiny_skia::Transform::identity(), &mut pixmap.as_mut());
    pixmap.encode_png().context("cannot encode the picture as PNG")
}

/// Text made safe inside SVG.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

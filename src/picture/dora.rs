//! The DORA chart: four small bar charts side by side over the same buckets (deployments a day,
//! median lead time in hours, change failure rate, median time to restore in hours).

use super::escape;
use crate::domain::insight::dora::Dora;
use std::fmt::Write as _;

const PANEL_W: f64 = 300.0;
const PANEL_H: f64 = 200.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 30.0;

fn hours(d: Option<chrono::Duration>) -> f64 {
    d.map_or(0.0, |d| d.num_seconds() as f64 / 3_600.0)
}

/// The chart as SVG: 4 panels of `series.len()` bars.
pub fn dora_svg(series: &[Dora]) -> String {
    type Measure = fn(&Dora) -> f64;
    let panels: [(&str, &str, Measure); 4] = [
        ("Deployments a day", "#5865f2", |d| d.per_day),
        ("Lead time (h, median)", "#faa61a", |d| hours(d.lead_time)),
        ("Change failure rate (%)", "#ed4245", |d| d.failure_rate.unwrap_or(0.0) * 100.0),
        ("Time to restore (h, median)", "#3ba55c", |d| hours(d.time_to_restore)),
    ];
    let width = PANEL_W * 4.0;
    let height = TOP + PANEL_H + BOTTOM;
    let mut svg = String::new();
    let _ =
        write!(svg, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="Ubuntu" font-size="13">"#);
    let _ = write!(svg, r##"<rect width="{width}" height="{height}" fill="#ffffff"/>"##);
    let n = series.len().max(1) as f64;
    for (i, (title, colour, value)) in panels.iter().enumerate() {
        let left = i as f64 * PANEL_W;
        let values: Vec<f64> = series.iter().map(value).collect();
        let max = values.iter().copied().fold(0.0_f64, f64::max);
        let _ = write!(svg, r##"<text x="{}" y="24" fill="#2e3338" font-size="15">{}</text>"##, left + 12.0, escape(title));
        let _ = write!(
            svg,
            r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#b9bbbe"/>"##,
            left + 12.0,
            TOP + PANEL_H,
            left + PANEL_W - 12.0,
            TOP + PANEL_H
        );
        let slot = (PANEL_W - 24.0) / n;
        for (j, v) in values.iter().enumerate() {
            let h = if max > 0.0 { v / max * (PANEL_H - 20.0) } else { 0.0 };
            let x = left + 12.0 + j as f64 * slot + slot * 0.15;
            let _ = write!(
                svg,
                r##"<rect x="{x}" y="{}" width="{}" height="{h}" fill="{colour}"/>"##,
                TOP + PANEL_H - h,
                (slot * 0.7).max(1.0)
            );
        }
        let _ =
            write!(svg, r##"<text x="{}" y="{}" fill="#4f5660" font-size="12">max {:.1}</text>"##, left + 12.0, TOP + PANEL_H + 20.0, max);
    }
    svg.push_str("</svg>");
    svg
}

pub fn dora_png(series: &[Dora]) -> anyhow::Result<Vec<u8>> {
    super::png(&dora_svg(series))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::insight::dora::dora;

    #[test]
    fn the_chart_has_four_panels_of_one_bar_per_bucket_and_encodes_as_png() {
        let at = |d: i64| chrono::DateTime::<chrono::Utc>::UNIX_EPOCH + chrono::Duration::days(20_000 + d);
        let series: Vec<Dora> = (0..4).map(|w| dora(&[], at(w * 7), at(w * 7 + 7), chrono::Duration::days(7))).collect();
        let svg = dora_svg(&series);
        assert_eq!(svg.matches("<rect x=").count(), 4 * 4, "four panels of four weeks");
        let png = dora_png(&series).unwrap_or_else(|e| panic!("{e:#}"));
        if let Some(dir) = std::env::var_os("TRAINMASTER_CHAT_DUMP") {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(std::path::Path::new(&dir).join("dora.png"), &png);
        }
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
}

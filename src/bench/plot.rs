//! `--plot FILE.svg`: latency against percentile for each measured
//! distribution and its floors, on a logarithmic latency axis.

use super::stats::Latencies;
use anyhow::{Result, anyhow};
use plotters::prelude::*;
use std::path::Path;

/// Percentiles drawn, denser in the tail where latencies differ.
fn percentiles() -> Vec<f64> {
    let mut points: Vec<f64> = (0..=90).map(f64::from).collect();
    points.extend((1..=90).map(|step| 90.0 + f64::from(step) * 0.1));
    points.push(99.95);
    points
}

pub fn draw(path: &Path, series: &[(String, Latencies)], fsync: &Latencies) -> Result<()> {
    let mut all: Vec<(String, Latencies)> = series.to_vec();
    all.push(("fsync floor".to_owned(), fsync.clone()));
    let curves: Vec<(String, Vec<(f64, f64)>)> = all
        .iter()
        .filter(|(_, latencies)| latencies.count() > 0)
        .map(|(name, latencies)| {
            let points = percentiles()
                .into_iter()
                .filter_map(|p| {
                    latencies
                        .quantile_ms(p / 100.0)
                        .map(|ms| (p, ms.max(0.001)))
                })
                .collect();
            (name.clone(), points)
        })
        .collect();
    let max_ms = curves
        .iter()
        .flat_map(|(_, points)| points.iter().map(|(_, ms)| *ms))
        .fold(1.0f64, f64::max);
    let min_ms = curves
        .iter()
        .flat_map(|(_, points)| points.iter().map(|(_, ms)| *ms))
        .fold(max_ms, f64::min);
    let failed = |error: &dyn std::fmt::Display| anyhow!("drawing {}: {error}", path.display());
    let root = SVGBackend::new(path, (1000, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| failed(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("possync bench: latency by percentile", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..100f64, ((min_ms * 0.8)..(max_ms * 1.25)).log_scale())
        .map_err(|e| failed(&e))?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("milliseconds (log)")
        .draw()
        .map_err(|e| failed(&e))?;
    for (index, (name, points)) in curves.into_iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| failed(&e))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| failed(&e))?;
    root.present().map_err(|e| failed(&e))?;
    Ok(())
}

/// `soak --plot`: the server's memory (MB), open descriptors, tokio tasks,
/// threads and connections against minutes into the run.
pub fn draw_soak(path: &Path, samples: &[super::soak::SoakSample]) -> Result<()> {
    let minutes = |sample: &super::soak::SoakSample| sample.at_s / 60.0;
    type Read = fn(&super::soak::SoakSample) -> Option<f64>;
    let measures: [(&str, Read); 5] = [
        ("server RSS (MB)", |s| Some(s.rss_kib as f64 / 1024.0)),
        ("open descriptors", |s| Some(s.fds as f64)),
        ("tokio tasks", |s| s.tasks.map(|tasks| tasks as f64)),
        ("threads", |s| Some(s.threads as f64)),
        ("sync connections", |s| {
            s.connections.map(|connections| connections as f64)
        }),
    ];
    let curves: Vec<(&str, Vec<(f64, f64)>)> = measures
        .iter()
        .map(|(name, read)| {
            let points = samples
                .iter()
                .filter_map(|sample| read(sample).map(|value| (minutes(sample), value)))
                .collect();
            (*name, points)
        })
        .collect();
    let end = samples.last().map_or(1.0, minutes).max(0.1);
    let top = curves
        .iter()
        .flat_map(|(_, points)| points.iter().map(|(_, value)| *value))
        .fold(1.0f64, f64::max);
    let failed = |error: &dyn std::fmt::Display| anyhow!("drawing {}: {error}", path.display());
    let root = SVGBackend::new(path, (1000, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| failed(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "possync bench soak: the server over time",
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..end, 0f64..(top * 1.15))
        .map_err(|e| failed(&e))?;
    chart
        .configure_mesh()
        .x_desc("minutes")
        .y_desc("value (see legend)")
        .draw()
        .map_err(|e| failed(&e))?;
    for (index, (name, points)) in curves.into_iter().enumerate() {
        if points.is_empty() {
            continue;
        }
        let color = Palette99::pick(index).to_rgba();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| failed(&e))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| failed(&e))?;
    root.present().map_err(|e| failed(&e))?;
    Ok(())
}

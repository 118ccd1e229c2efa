//! Each transmitting queue's throughput over time, from the frames that
//! left on the wire: `rates.csv` (one row per window, one column per
//! queue, frame bytes in Mb/s) and `rates.svg` (that throughput, and below
//! it each queue's bytes sent so far, whose slope is its rate), so a user
//! sees at a glance what share each queue got.

use anyhow::{Context, Result};
use arsenic_testbench::wire::NS_PER_CYCLE;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Throughput per queue per window.
#[derive(Clone, Debug, PartialEq)]
pub struct Rates {
    pub window_ns: u64,
    /// Start of the first window, in core cycles.
    pub start_cycle: u64,
    /// Mb/s per window, by queue.
    pub series: BTreeMap<u32, Vec<f64>>,
}

/// Windows per run: fine enough to show sharing, coarse enough that a
/// window holds many frames.
const WINDOWS: u64 = 100;
const MIN_WINDOW_NS: u64 = 10_000;

impl Rates {
    /// From (first-byte cycle, frame bytes, queue) of every frame sent.
    pub fn of(frames: &[(u64, usize, u32)]) -> Option<Rates> {
        let start = frames.iter().map(|f| f.0).min()?;
        let end = frames.iter().map(|f| f.0 + f.1 as u64).max()?;
        let span_ns = (end - start).max(1) * NS_PER_CYCLE;
        let window_ns = (span_ns / WINDOWS).max(MIN_WINDOW_NS);
        let windows = span_ns.div_ceil(window_ns) as usize;
        let mut series: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
        let window_cycles = window_ns / NS_PER_CYCLE;
        for &(cycle, len, q) in frames {
            let bins = series.entry(q).or_insert_with(|| vec![0.0; windows]);
            // A frame's bytes cross the wire one per cycle from its first;
            // each window gets the bytes that crossed in it, so a frame
            // straddling a boundary never makes a window exceed line rate.
            let (mut at, end) = (cycle - start, cycle - start + len as u64);
            while at < end {
                let w = at / window_cycles;
                let upto = ((w + 1) * window_cycles).min(end);
                // bits per ns is Gb/s; times 1000 for Mb/s.
                bins[(w as usize).min(windows - 1)] += ((upto - at) * 8) as f64 * 1000.0 / window_ns as f64;
                at = upto;
            }
        }
        Some(Rates { window_ns, start_cycle: start, series })
    }

    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let mut out = String::from("time_us");
        for q in self.series.keys() {
            out += &format!(",queue{q}_mbps");
        }
        out.push('\n');
        let n = self.series.values().next().map_or(0, |v| v.len());
        for w in 0..n {
            out += &format!("{:.3}", (w as u64 * self.window_ns) as f64 / 1000.0);
            for bins in self.series.values() {
                out += &format!(",{:.3}", bins[w]);
            }
            out.push('\n');
        }
        std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Megabytes each queue had sent by the end of each window: the
    /// queue's service curve, whose slope is its rate, so a queue held to a
    /// ceiling is a straight line even where single windows are noisy.
    pub fn cumulative_mb(&self) -> BTreeMap<u32, Vec<f64>> {
        let mb_per_window = |mbps: f64| mbps * self.window_ns as f64 / 8e9;
        self.series
            .iter()
            .map(|(&q, bins)| {
                let curve = bins.iter().scan(0.0, |sum, &v| {
                    *sum += mb_per_window(v);
                    Some(*sum)
                });
                (q, curve.collect())
            })
            .collect()
    }

    /// Two panels: throughput per window above, the service curves below.
    pub fn draw_svg(&self, path: &Path) -> Result<()> {
        let root = SVGBackend::new(path, (900, 800)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (top, bottom) = root.split_vertically(400);
        self.panel(&top, "transmit throughput per queue", "Mb/s", &self.series)?;
        self.panel(&bottom, "bytes sent so far (slope: rate)", "MB", &self.cumulative_mb())?;
        root.present().with_context(|| format!("cannot write {}", path.display()))
    }

    fn panel(
        &self,
        area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
        caption: &str,
        unit: &str,
        series: &BTreeMap<u32, Vec<f64>>,
    ) -> Result<()> {
        let n = series.values().next().map_or(0, |v| v.len()).max(1);
        let x_end = (n as u64 * self.window_ns) as f64 / 1000.0;
        let y_end = series.values().flatten().fold(f64::MIN_POSITIVE, |a, &b| a.max(b)) * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_end, 0.0..y_end)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        chart.configure_mesh().x_desc("time (us)").y_desc(unit).draw().map_err(|e| anyhow::anyhow!("{e}"))?;
        for (i, (q, values)) in series.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            let points = values.iter().enumerate().map(|(w, &v)| ((w as u64 * self.window_ns) as f64 / 1000.0, v));
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .label(format!("queue {q}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_at_line_rate_measures_near_a_gigabit() {
        // 1500-byte frames back to back at 1 Gb/s: 1524 byte-times each.
        let frames: Vec<(u64, usize, u32)> = (0..2000u64).map(|i| (i * 1524, 1500, 3)).collect();
        let r = Rates::of(&frames).unwrap();
        let mid = r.series[&3][r.series[&3].len() / 2];
        // Frame bytes only: 1500 of every 1524 byte-times.
        assert!((mid - 1000.0 * 1500.0 / 1524.0).abs() < 15.0, "{mid}");
        // The service curve ends at every byte sent.
        let total = *r.cumulative_mb()[&3].last().unwrap();
        assert!((total - 2000.0 * 1500.0 / 1e6).abs() < 1e-6, "{total}");
    }

    #[test]
    fn two_queues_sharing_get_half_each_and_files_are_written() {
        let frames: Vec<(u64, usize, u32)> = (0..1000u64).map(|i| (i * 84, 60, 1 + (i % 2) as u32)).collect();
        let r = Rates::of(&frames).unwrap();
        let sum = |q: u32| r.series[&q].iter().sum::<f64>();
        assert!((sum(1) - sum(2)).abs() < sum(1) * 0.01, "{} vs {}", sum(1), sum(2));
        // Together they fill the wire with 60-byte frames: 60 of every 84 byte-times.
        let both = r.series[&1][5] + r.series[&2][5];
        assert!((both - 1000.0 * 60.0 / 84.0).abs() < 60.0, "{both}");
        let dir = std::env::temp_dir().join(format!("arsenic-rates-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        r.write_csv(&dir.join("rates.csv")).unwrap();
        r.draw_svg(&dir.join("rates.svg")).unwrap();
        let csv = std::fs::read_to_string(dir.join("rates.csv")).unwrap();
        assert!(csv.starts_with("time_us,queue1_mbps,queue2_mbps\n"));
        assert!(std::fs::read_to_string(dir.join("rates.svg")).unwrap().contains("<svg"));
        assert!(Rates::of(&[]).is_none());
    }
}

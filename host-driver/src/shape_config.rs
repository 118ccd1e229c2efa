//! `[[shape]]` tables of a config: each transmit queue's guaranteed and
//! ceiling rates, in the words Linux HTB users know.
//!
//! ```toml
//! [[shape]]
//! queue = 1
//! guarantee = "100M"         # optional: b/s, with k, M or G (decimal)
//! guarantee_burst = 16384    # optional: bytes, default 16 KiB
//! ceiling = "300M"           # optional: no ceiling without it
//! ceiling_burst = 16384
//! weight = 2                 # optional, 1..=255: share of spare bandwidth
//! ```
//!
//! What is checked here is the form; the rates themselves are checked
//! against the device (`Shaping::validate`) when they are applied.

use crate::shaping::{Rate, Shaping};
use anyhow::{anyhow, bail, Result};
use toml::{Table, Value};

/// Burst when a table gives none: ten maximum frames, enough for a queue
/// waiting its turn not to lose tokens to the cap.
pub const DEFAULT_BURST_BYTES: u32 = 16 * 1024;

const KEYS: [&str; 6] = ["queue", "guarantee", "guarantee_burst", "ceiling", "ceiling_burst", "weight"];

/// One `[[shape]]`: the queue and its shaping.
pub fn shape_from(t: &Table) -> Result<(u32, Shaping)> {
    if let Some(unknown) = t.keys().find(|k| !KEYS.contains(&k.as_str())) {
        bail!("unknown key `{unknown}`; a shape has {}", KEYS.join(", "));
    }
    let queue = match t.get("queue") {
        Some(Value::Integer(q)) if (0..=u32::MAX as i64).contains(q) => *q as u32,
        Some(other) => bail!("queue must be a queue number, not {other}"),
        None => bail!("missing `queue`"),
    };
    let rate = |name: &str, burst: &str| -> Result<Option<Rate>> {
        let burst_bytes = match t.get(burst) {
            Some(Value::Integer(b)) if (0..=u32::MAX as i64).contains(b) => *b as u32,
            Some(other) => bail!("{burst} must be a number of bytes, not {other}"),
            None => DEFAULT_BURST_BYTES,
        };
        match t.get(name) {
            Some(v) => Ok(Some(Rate { bits_per_s: parse_rate(v).map_err(|e| anyhow!("{name}: {e}"))?, burst_bytes })),
            None if t.contains_key(burst) => bail!("{burst} without {name}"),
            None => Ok(None),
        }
    };
    let weight = match t.get("weight") {
        Some(Value::Integer(w)) if (1..=255).contains(w) => *w as u8,
        Some(other) => bail!("weight must be 1..=255, not {other}"),
        None => 1,
    };
    Ok((queue, Shaping { guarantee: rate("guarantee", "guarantee_burst")?, ceiling: rate("ceiling", "ceiling_burst")?, weight }))
}

/// Bits per second: a number, or a string with a k, M or G suffix.
pub fn parse_rate(v: &Value) -> Result<u64> {
    let text = match v {
        Value::Integer(n) if *n > 0 => return Ok(*n as u64),
        Value::String(s) => s.trim(),
        other => bail!("{other} is not a rate: give b/s as a number or a string like \"100M\""),
    };
    let (digits, scale) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1_000),
        Some((i, 'M')) => (&text[..i], 1_000_000),
        Some((i, 'G')) => (&text[..i], 1_000_000_000),
        _ => (text, 1),
    };
    let value: f64 = digits.trim().parse().map_err(|_| anyhow!("{text:?} is not a rate like \"100M\" or \"1.5G\""))?;
    if !value.is_finite() || value <= 0.0 || value * scale as f64 > u64::MAX as f64 / 2.0 {
        bail!("{text:?} is not a positive rate");
    }
    Ok((value * scale as f64).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        text.parse().unwrap()
    }

    #[test]
    fn reads_rates_bursts_and_weight() {
        let (q, s) = shape_from(&table("queue = 3\nguarantee = \"1.5M\"\nceiling = 300000000\nceiling_burst = 9000\nweight = 4")).unwrap();
        assert_eq!(q, 3);
        assert_eq!(s.guarantee, Some(Rate { bits_per_s: 1_500_000, burst_bytes: DEFAULT_BURST_BYTES }));
        assert_eq!(s.ceiling, Some(Rate { bits_per_s: 300_000_000, burst_bytes: 9000 }));
        assert_eq!(s.weight, 4);
        let (_, plain) = shape_from(&table("queue = 0")).unwrap();
        assert_eq!(plain, Shaping { guarantee: None, ceiling: None, weight: 1 });
    }

    #[test]
    fn says_what_is_wrong() {
        let err = |text: &str| shape_from(&table(text)).unwrap_err().to_string();
        assert!(err("guarantee = \"1M\"").contains("missing `queue`"));
        assert!(err("queue = 1\nrate = 5").contains("unknown key `rate`"));
        assert!(err("queue = 1\nceiling = \"fast\"").contains("ceiling: \"fast\" is not a rate"));
        assert!(err("queue = 1\nceiling = \"-5M\"").contains("not a positive rate"));
        assert!(err("queue = 1\nweight = 0").contains("weight must be 1..=255"));
        assert!(err("queue = 1\nceiling_burst = 4000").contains("ceiling_burst without ceiling"));
        assert!(err("queue = -1").contains("queue must be"));
    }
}

//! Steering configs: the filters and default queue `arsenic sim --config`
//! installs, in TOML.
//!
//! ```toml
//! default_queue = 0          # optional: misses, fragments, malformed frames
//! # optional: the RSS key, 40 bytes in hex (":" between bytes allowed);
//! # this is the reset value, Microsoft's standard key
//! rss_key = "6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa"
//!
//! [[filter]]
//! kind = "exact"             # one TCP or UDP flow, both ends given
//! proto = "tcp"              # tcp or udp
//! src = "10.0.0.1:5000"      # address:port; IPv6 as "[2001:db8::1]:5000"
//! dst = "10.0.0.2:80"
//! queue = 3
//! spread = 0                 # optional, 0..=7: over queues queue..queue+2^spread, by RSS
//!
//! [[filter]]
//! kind = "listen"            # traffic to an address, a port, both or neither
//! proto = "udp"              # tcp, udp, or a protocol number 0..=255
//! dst = "10.0.0.2"           # optional: the destination address, no port
//! port = 53                  # optional: the destination port (tcp and udp)
//! queue = 4
//!
//! [[filter]]
//! kind = "mac"               # frames to a MAC address
//! mac = "02:00:00:00:00:01"
//! vlan = 10                  # optional: only on this VLAN (the first tag's)
//! queue = 5
//!
//! [[shape]]                  # transmit shaping, see `shape_config`
//! queue = 5
//! ceiling = "200M"
//! ```
//!
//! A listen filter without `dst` matches IPv4 and IPv6 and takes a table
//! entry for each. Filters are numbered from 1 in file order in messages.
//! Every mistake (a TOML syntax error, an unknown or missing key, a bad
//! value, a queue the device lacks, a duplicate filter, a full table) is
//! one line naming the file and, where it has one, the filter.

use crate::control::Nic;
use crate::demux::filters::{Filter, Target, MAX_SPREAD, PROTO_TCP, PROTO_UDP};
use crate::demux::steering::FilterId;
use crate::device::Device;
use crate::shaping::Shaping;
use anyhow::{anyhow, bail, Context, Result};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// One `[[filter]]`, checked as far as it can be without a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigFilter {
    /// 1-based position in the file.
    pub index: usize,
    pub filter: Filter,
    pub target: Target,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SteeringConfig {
    /// Where it came from, for messages.
    pub path: PathBuf,
    pub default_queue: Option<u32>,
    /// The RSS secret key, if the config sets one.
    pub rss_key: Option<[u8; 40]>,
    pub filters: Vec<ConfigFilter>,
    /// `[[shape]]` tables: (1-based position, queue, shaping).
    pub shapes: Vec<(usize, u32, Shaping)>,
}

impl SteeringConfig {
    pub fn load(path: &Path) -> Result<SteeringConfig> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        SteeringConfig::parse(&text, path)
    }

    /// Parses `text`; `path` only names it in messages.
    pub fn parse(text: &str, path: &Path) -> Result<SteeringConfig> {
        let file = path.display();
        let top: Table = text.parse().map_err(|e: toml::de::Error| anyhow!("{file}:{}", syntax_error(text, &e)))?;
        let mut default_queue = None;
        let mut rss_key = None;
        let mut filters = Vec::new();
        let mut shapes = Vec::new();
        for (key, value) in &top {
            match key.as_str() {
                "default_queue" => {
                    default_queue =
                        Some(integer(value, "default_queue", u32::MAX as i64).map_err(|e| anyhow!("{file}: {e}"))?
                            as u32)
                }
                "rss_key" => {
                    let text = value.as_str().ok_or_else(|| anyhow!("{file}: rss_key must be a string of 40 hex bytes"))?;
                    rss_key = Some(parse_rss_key(text).map_err(|e| anyhow!("{file}: rss_key: {e}"))?);
                }
                "filter" => {
                    let Value::Array(items) = value else {
                        bail!("{file}: `filter` must be a list of [[filter]] tables");
                    };
                    for (i, item) in items.iter().enumerate() {
                        let index = i + 1;
                        let Value::Table(t) = item else {
                            bail!("{file}: filter {index}: must be a [[filter]] table");
                        };
                        let (filter, target) = filter_from(t).map_err(|e| {
                            let kind =
                                t.get("kind").and_then(Value::as_str).map_or(String::new(), |k| format!(" ({k})"));
                            anyhow!("{file}: filter {index}{kind}: {e}")
                        })?;
                        filters.push(ConfigFilter { index, filter, target });
                    }
                }
                "shape" => {
                    let Value::Array(items) = value else {
                        bail!("{file}: `shape` must be a list of [[shape]] tables");
                    };
                    for (i, item) in items.iter().enumerate() {
                        let Value::Table(t) = item else {
                            bail!("{file}: shape {}: must be a [[shape]] table", i + 1);
                        };
                        let (queue, shaping) =
                            crate::shape_config::shape_from(t).map_err(|e| anyhow!("{file}: shape {}: {e}", i + 1))?;
                        shapes.push((i + 1, queue, shaping));
                    }
                }
                other => bail!(
                    "{file}: unknown key `{other}`; a config has `default_queue`, `rss_key`, [[filter]] and [[shape]] tables"
                ),
            }
        }
        Ok(SteeringConfig { path: path.to_path_buf(), default_queue, rss_key, filters, shapes })
    }

    /// Shapes the queues the `[[shape]]` tables name, in file order.
    pub fn apply_shaping(&self, nic: &mut Nic, device: &dyn Device) -> Result<()> {
        for (index, queue, shaping) in &self.shapes {
            nic.set_shaping(device, *queue, shaping)
                .map_err(|e| anyhow!("{}: shape {index} (queue {queue}): {e:#}", self.path.display()))?;
        }
        Ok(())
    }

    /// Sets the default queue and installs the filters, in file order.
    /// Returns the installed filters' ids, in the same order.
    pub fn apply(&self, nic: &mut Nic) -> Result<Vec<FilterId>> {
        let file = self.path.display();
        if let Some(q) = self.default_queue {
            nic.set_default_queue(q).map_err(|e| anyhow!("{file}: default_queue: {e:#}"))?;
        }
        if let Some(key) = &self.rss_key {
            nic.set_rss_key(key).map_err(|e| anyhow!("{file}: rss_key: {e:#}"))?;
        }
        self.filters
            .iter()
            .map(|f| {
                nic.install_filter(&f.filter, f.target)
                    .map_err(|e| anyhow!("{file}: filter {} ({}): {e:#}", f.index, f.filter))
            })
            .collect()
    }
}

/// 40 bytes in hex, with or without `:` between them.
fn parse_rss_key(text: &str) -> Result<[u8; 40]> {
    let digits: String = text.chars().filter(|&c| c != ':').collect();
    if digits.len() != 80 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("`{text}` is not 40 bytes in hex (80 hex digits, optionally separated by `:`)");
    }
    let mut key = [0u8; 40];
    for (i, b) in key.iter_mut().enumerate() {
        *b = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).expect("checked hex digits");
    }
    Ok(key)
}

/// A TOML syntax error as `line:column: message`, on one line.
fn syntax_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().lines().collect::<Vec<_>>().join("; ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("{line}:{column}: {message}")
        }
        None => format!(" {message}"),
    }
}

const COMMON_KEYS: [&str; 3] = ["kind", "queue", "spread"];

fn filter_from(t: &Table) -> Result<(Filter, Target)> {
    let kind = match t.get("kind") {
        Some(Value::String(k)) => k.as_str(),
        Some(_) => bail!("`kind` must be a string: exact, listen or mac"),
        None => bail!("missing `kind` (exact, listen or mac)"),
    };
    let own: &[&str] = match kind {
        "exact" => &["proto", "src", "dst"],
        "listen" => &["proto", "dst", "port"],
        "mac" => &["mac", "vlan"],
        other => bail!("kind {other:?} is not exact, listen or mac"),
    };
    if let Some(unknown) = t.keys().find(|k| !COMMON_KEYS.contains(&k.as_str()) && !own.contains(&k.as_str())) {
        let mut known: Vec<&str> = own.to_vec();
        known.extend(&COMMON_KEYS[1..]);
        bail!("unknown key `{unknown}`; a {kind} filter has {}", known.join(", "));
    }
    let filter = match kind {
        "exact" => {
            let src = socket(required(t, "src")?, "src")?;
            let dst = socket(required(t, "dst")?, "dst")?;
            Filter::Exact5 {
                proto: proto(required(t, "proto")?)?,
                src: src.ip(),
                sport: src.port(),
                dst: dst.ip(),
                dport: dst.port(),
            }
        }
        "listen" => Filter::Listen {
            proto: proto(required(t, "proto")?)?,
            dst: t.get("dst").map(address).transpose()?,
            dport: t.get("port").map(|v| integer(v, "port", u16::MAX as i64).map(|p| p as u16)).transpose()?,
        },
        _ => Filter::Mac {
            mac: mac(required(t, "mac")?)?,
            vlan: t.get("vlan").map(|v| integer(v, "vlan", 0xFFF).map(|v| v as u16)).transpose()?,
        },
    };
    filter.validate()?;
    let target = Target {
        queue: integer(required(t, "queue")?, "queue", u32::MAX as i64)? as u32,
        spread: t.get("spread").map(|v| integer(v, "spread", MAX_SPREAD as i64)).transpose()?.unwrap_or(0) as u8,
    };
    Ok((filter, target))
}

fn required<'a>(t: &'a Table, key: &str) -> Result<&'a Value> {
    t.get(key).ok_or_else(|| anyhow!("missing `{key}`"))
}

fn integer(v: &Value, key: &str, max: i64) -> Result<i64> {
    match v {
        Value::Integer(n) if (0..=max).contains(n) => Ok(*n),
        Value::Integer(n) => bail!("{key} = {n} is out of range 0..={max}"),
        other => bail!("{key} must be a number, not {}", describe(other)),
    }
}

fn string<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v.as_str().ok_or_else(|| anyhow!("{key} must be a string, not {}", describe(v)))
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string {s:?}"),
        other => format!("{} {other}", other.type_str()),
    }
}

fn proto(v: &Value) -> Result<u8> {
    match v {
        Value::String(s) if s == "tcp" => Ok(PROTO_TCP),
        Value::String(s) if s == "udp" => Ok(PROTO_UDP),
        Value::Integer(_) => Ok(integer(v, "proto", u8::MAX as i64)? as u8),
        other => bail!(
            "proto {} is not tcp, udp or a protocol number 0..=255",
            match other {
                Value::String(s) => format!("{s:?}"),
                other => other.to_string(),
            }
        ),
    }
}

fn socket(v: &Value, key: &str) -> Result<SocketAddr> {
    let s = string(v, key)?;
    s.parse().map_err(|_| anyhow!("{key} {s:?} is not address:port (IPv6 as \"[2001:db8::1]:80\")"))
}

fn address(v: &Value) -> Result<IpAddr> {
    let s = string(v, "dst")?;
    if s.parse::<SocketAddr>().is_ok() {
        bail!("dst {s:?} has a port: give the address alone and the port as `port = N`");
    }
    // Brackets are how IPv6 addresses are written next to ports; allow
    // them alone too.
    let bare = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(s);
    bare.parse().map_err(|_| anyhow!("dst {s:?} is not an IPv4 or IPv6 address"))
}

fn mac(v: &Value) -> Result<[u8; 6]> {
    let s = string(v, "mac")?;
    let bad = || anyhow!("mac {s:?} is not six hex bytes like \"02:00:00:00:00:01\"");
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut out = [0u8; 6];
    for (o, p) in out.iter_mut().zip(&parts) {
        if p.len() != 2 {
            return Err(bad());
        }
        *o = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::model::ModelDevice;

    fn parse(text: &str) -> Result<SteeringConfig> {
        SteeringConfig::parse(text, Path::new("steer.toml"))
    }

    fn error(text: &str) -> String {
        let e = format!("{:#}", parse(text).unwrap_err());
        assert_eq!(e.lines().count(), 1, "{e}");
        e
    }

    const EXAMPLE: &str = r#"
default_queue = 2

[[filter]]
kind = "exact"
proto = "tcp"
src = "10.0.0.1:5000"
dst = "10.0.0.2:80"
queue = 3
spread = 1

[[filter]]
kind = "listen"
proto = "udp"
port = 53
queue = 4

[[filter]]
kind = "listen"
proto = 47
dst = "[2001:db8::2]"
queue = 6

[[filter]]
kind = "mac"
mac = "02:00:00:00:00:01"
vlan = 10
queue = 5
"#;

    #[test]
    fn the_documented_format_parses() {
        let c = parse(EXAMPLE).unwrap();
        assert_eq!(c.default_queue, Some(2));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let want = [
            (
                Filter::Exact5 { proto: 6, src: ip("10.0.0.1"), sport: 5000, dst: ip("10.0.0.2"), dport: 80 },
                Target { queue: 3, spread: 1 },
            ),
            (Filter::Listen { proto: 17, dst: None, dport: Some(53) }, Target::queue(4)),
            (Filter::Listen { proto: 47, dst: Some(ip("2001:db8::2")), dport: None }, Target::queue(6)),
            (Filter::Mac { mac: [2, 0, 0, 0, 0, 1], vlan: Some(10) }, Target::queue(5)),
        ];
        assert_eq!(c.filters.len(), want.len());
        for (i, (f, (filter, target))) in c.filters.iter().zip(want).enumerate() {
            assert_eq!((f.index, f.filter, f.target), (i + 1, filter, target));
        }
        // The module documentation's example is the format too.
        let doc: String = include_str!("config.rs")
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.trim_start_matches("//!").trim_start_matches(' ').to_string() + "\n")
            .collect();
        assert_eq!(parse(&doc).unwrap().filters.len(), 3);
    }

    #[test]
    fn an_rss_key_is_40_hex_bytes() {
        let hex: String = arsenic_hdl::filter::RSS_KEY.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(parse(&format!("rss_key = \"{hex}\"")).unwrap().rss_key, Some(arsenic_hdl::filter::RSS_KEY));
        let colons: Vec<String> = (0..40).map(|i| format!("{i:02X}")).collect();
        let key = parse(&format!("rss_key = \"{}\"", colons.join(":"))).unwrap().rss_key.unwrap();
        assert_eq!(key[39], 39);
        for bad in ["\"00\"", "\"zz\"", "5", &format!("\"{hex}00\"")] {
            let e = parse(&format!("rss_key = {bad}")).unwrap_err().to_string();
            assert!(e.contains("rss_key") && !e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn an_empty_config_installs_nothing() {
        let c = parse("").unwrap();
        assert_eq!((c.default_queue, c.filters.len()), (None, 0));
    }

    #[test]
    fn every_mistake_is_one_line_naming_the_file_and_filter() {
        // One filter as a TOML inline table: [[filter]] on one line.
        let one = |body: &str| format!("filter = [{{ {body} }}]");
        let cases: Vec<(String, &str)> = vec![
            ("default_queue = ".into(), "steer.toml:1:17: "),
            ("[[filter]]\nkind = \"exact\"\nkind = \"mac\"".into(), "steer.toml:3:1: "),
            ("queues = 3".into(), "steer.toml: unknown key `queues`"),
            ("default_queue = -1".into(), "steer.toml: default_queue = -1 is out of range"),
            ("default_queue = \"1\"".into(), "default_queue must be a number, not the string \"1\""),
            ("filter = 3".into(), "steer.toml: `filter` must be a list of [[filter]] tables"),
            ("filter = [3]".into(), "steer.toml: filter 1: must be a [[filter]] table"),
            (one("queue = 1"), "steer.toml: filter 1: missing `kind`"),
            (one("kind = 3, queue = 1"), "`kind` must be a string"),
            (one("kind = \"vlan\", queue = 1"), "filter 1 (vlan): kind \"vlan\" is not exact, listen or mac"),
            (
                "[[filter]]\nkind = \"mac\"\nmac = \"02:00:00:00:00:01\"\nqueue = 1\n\n[[filter]]\nkind = \"listen\"\n\
                 proto = \"tcp\"\nports = 80\nqueue = 1"
                    .into(),
                "steer.toml: filter 2 (listen): unknown key `ports`; a listen filter has proto, dst, port, queue, spread",
            ),
            (
                one("kind = \"listen\", proto = \"sctp\", queue = 1"),
                "filter 1 (listen): proto \"sctp\" is not tcp, udp",
            ),
            (one("kind = \"listen\", proto = 256, queue = 1"), "proto = 256 is out of range 0..=255"),
            (
                one("kind = \"listen\", proto = \"tcp\", dst = \"10.0.0.2:80\", queue = 1"),
                "has a port: give the address",
            ),
            (
                one("kind = \"listen\", proto = \"tcp\", dst = \"10.0.0.256\", queue = 1"),
                "is not an IPv4 or IPv6 address",
            ),
            (one("kind = \"listen\", proto = 1, port = 7, queue = 1"), "port 7 given for proto 1: only tcp and udp"),
            (
                one("kind = \"listen\", proto = \"tcp\", port = 70000, queue = 1"),
                "port = 70000 is out of range 0..=65535",
            ),
            (one("kind = \"listen\", proto = \"tcp\""), "filter 1 (listen): missing `queue`"),
            (one("kind = \"listen\", proto = \"tcp\", queue = 1, spread = 8"), "spread = 8 is out of range 0..=7"),
            (
                one("kind = \"exact\", proto = \"tcp\", src = \"10.0.0.1\", dst = \"10.0.0.2:80\", queue = 1"),
                "src \"10.0.0.1\" is not address:port",
            ),
            (
                one("kind = \"exact\", proto = \"tcp\", src = \"10.0.0.1:1\", dst = \"[::1]:80\", queue = 1"),
                "must both be IPv4 or both IPv6",
            ),
            (
                one("kind = \"exact\", proto = 1, src = \"10.0.0.1:1\", dst = \"10.0.0.2:80\", queue = 1"),
                "an exact filter needs tcp or udp",
            ),
            (
                one("kind = \"exact\", proto = \"udp\", dst = \"10.0.0.2:80\", queue = 1"),
                "filter 1 (exact): missing `src`",
            ),
            (one("kind = \"mac\", mac = \"02:00:00:00:01\", queue = 1"), "mac \"02:00:00:00:01\" is not six hex bytes"),
            (one("kind = \"mac\", mac = \"02:00:00:00:00:0g\", queue = 1"), "is not six hex bytes"),
            (one("kind = \"mac\", mac = \"02:00:00:00:00:01\", vlan = 4096, queue = 1"), "vlan = 4096 is out of range"),
        ];
        for (text, needle) in &cases {
            let e = error(text);
            assert!(e.contains(needle), "{text:?}: expected {needle:?} in {e:?}");
        }
    }

    #[test]
    fn device_limits_are_checked_when_applied() {
        let apply = |text: &str| {
            let dev = ModelDevice::default();
            let mut nic = Nic::open(&dev).unwrap();
            parse(text).unwrap().apply(&mut nic).map_err(|e| format!("{e:#}"))
        };
        assert_eq!(apply(EXAMPLE).unwrap(), vec![1, 2, 3, 4]);
        let e = apply("[[filter]]\nkind = \"mac\"\nmac = \"02:00:00:00:00:01\"\nqueue = 64").unwrap_err();
        assert_eq!(
            e,
            "steer.toml: filter 1 (mac 02:00:00:00:00:01): queue 64 does not exist: the device has queues 0..=63"
        );
        let e = apply("default_queue = 99").unwrap_err();
        assert!(e.starts_with("steer.toml: default_queue: default queue 99 does not exist"), "{e}");
        let twice = "[[filter]]\nkind = \"listen\"\nproto = \"udp\"\nport = 53\nqueue = 1\n".repeat(2);
        let e = apply(&twice).unwrap_err();
        assert_eq!(e, "steer.toml: filter 2 (listen udp *:53): listen udp *:53 is already installed, as filter 1");
        // 33 two-entry filters cannot fit the 64-entry wildcard table.
        let many: String = (0..33)
            .map(|p| format!("[[filter]]\nkind = \"listen\"\nproto = \"tcp\"\nport = {p}\nqueue = 0\n"))
            .collect();
        let e = apply(&many).unwrap_err();
        assert!(e.contains("the wildcard filter table is full"), "{e}");
        assert!(e.starts_with("steer.toml: filter "), "{e}");
    }
}

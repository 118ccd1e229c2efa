//! Shared by the integration tests: where the corpus is, what a loopback
//! NIC should send back for a list of frames, and a TCP frame to steer.

#![allow(dead_code)]

pub mod board;
pub mod cli;
pub mod queues;
pub mod shaping;

use std::path::PathBuf;

pub const MIN_FRAME: usize = 14;
pub const MAX_FRAME: usize = 1522;

/// `../shared/corpus/tcpdump` beside the repository, or `$ARSENIC_CORPUS`.
pub fn corpus_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("ARSENIC_CORPUS") {
        return dir.into();
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/tcpdump")
}

pub fn corpus_files() -> Vec<PathBuf> {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e} (set ARSENIC_CORPUS)", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() > 100, "corpus {} looks incomplete", dir.display());
    files
}

/// The frames a loopback NIC returns: those that exist on a wire and are
/// neither runts nor giants, in order.
pub fn looped(frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    frames.iter().filter(|f| (MIN_FRAME..=MAX_FRAME).contains(&f.len())).cloned().collect()
}

/// The link type in a classic pcap header, read independently of the
/// driver's reader; None for anything that is not a classic pcap.
pub fn pcap_link_type(bytes: &[u8]) -> Option<u32> {
    if bytes.len() < 24 {
        return None;
    }
    let field = [bytes[20], bytes[21], bytes[22], bytes[23]];
    match [bytes[0], bytes[1], bytes[2], bytes[3]] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => Some(u32::from_le_bytes(field)),
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => Some(u32::from_be_bytes(field)),
        _ => None,
    }
}

/// A 60-byte TCP segment from 10.0.0.1:`sport` to 10.0.0.2:`dport`, to MAC
/// 02:00:00:00:00:42.
pub fn tcp(sport: u16, dport: u16) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x42, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0, 0, 0, 0, 0, 0, 0]);
    f.resize(60, 0);
    f
}

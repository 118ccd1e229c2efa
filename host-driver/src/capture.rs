//! Reading captures to play into the NIC and writing what it sent.
//!
//! Both pcap and pcapng are read; only Ethernet link types are played, and
//! anything else is refused with the link type named. A file that ends in
//! the middle of a record, or whose tail is corrupt, still yields the frames
//! before the damage; the damage is reported, not hidden.

use anyhow::{bail, Context, Result};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter, PcapTsResolution};
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{DataLink, Endianness};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Capture {
    pub frames: Vec<Vec<u8>>,
    /// Records captured with fewer bytes than were on the wire (snap
    /// length); they are played as captured.
    pub snapped: u64,
    /// Where and why reading stopped early, if it did.
    pub damage: Option<String>,
}

const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
];
/// libpcap's own limit on a record; anything longer is a corrupt header.
const MAX_RECORD_BYTES: u32 = 262_144;
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Reads every Ethernet frame of a pcap or pcapng file.
pub fn read_ethernet(path: &Path) -> Result<Capture> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = file.read(&mut magic[got..]).with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            bail!("{}: {got} bytes long, too short to be a capture", path.display());
        }
        got += n;
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader = BufReader::new(file);
    if PCAP_MAGICS.contains(&magic) {
        read_pcap(path, reader)
    } else if magic == PCAPNG_MAGIC {
        read_pcapng(path, reader)
    } else {
        bail!("{}: not a pcap or pcapng file (starts with {magic:02x?})", path.display())
    }
}

fn not_ethernet(path: &Path, link: DataLink) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: link type {} ({link:?}) is not Ethernet; only Ethernet captures can be played into the NIC",
        path.display(),
        u32::from(link)
    )
}

fn read_pcap(path: &Path, reader: BufReader<File>) -> Result<Capture> {
    let mut pcap = PcapReader::new(reader)
        .map_err(|e| anyhow::anyhow!("{}: bad pcap header: {e}", path.display()))?;
    let link = pcap.header().datalink;
    if link != DataLink::ETHERNET {
        return Err(not_ethernet(path, link));
    }
    let mut cap = Capture::default();
    // Raw records, because pcap-file's checked ones refuse a record longer
    // than the header's snap length, which libpcap and tcpdump accept.
    while let Some(record) = pcap.next_raw_packet() {
        match record {
            Ok(p) if p.incl_len > MAX_RECORD_BYTES => {
                cap.damage = Some(format!(
                    "record {} claims {} bytes, more than any capture holds ({MAX_RECORD_BYTES})",
                    cap.frames.len() + 1,
                    p.incl_len
                ));
                break;
            }
            Ok(p) => {
                if p.orig_len > p.incl_len {
                    cap.snapped += 1;
                }
                cap.frames.push(p.data.to_vec());
            }
            Err(e) => {
                cap.damage = Some(format!("record {}: {}", cap.frames.len() + 1, error_chain(&e)));
                break;
            }
        }
    }
    Ok(cap)
}

fn read_pcapng(path: &Path, reader: BufReader<File>) -> Result<Capture> {
    let mut ng = PcapNgReader::new(reader)
        .map_err(|e| anyhow::anyhow!("{}: bad pcapng section header: {}", path.display(), error_chain(&e)))?;
    let mut cap = Capture::default();
    let mut block_no = 1;
    while let Some(block) = ng.next_block() {
        block_no += 1;
        let (block, state) = match block {
            Ok(b) => b,
            Err(e) => {
                cap.damage = Some(format!("block {block_no}: {}", error_chain(&e)));
                break;
            }
        };
        let (interface, data, orig_len) = match &block {
            Block::EnhancedPacket(p) => (p.interface_id, p.data.to_vec(), p.original_len),
            Block::Packet(p) => (p.interface_id as u32, p.data.to_vec(), p.original_len),
            Block::SimplePacket(p) => (0, p.data.to_vec(), p.original_len),
            _ => continue,
        };
        let Some(idb) = state.interfaces().get(interface as usize) else {
            cap.damage = Some(format!("block {block_no}: packet names interface {interface}, which was never described"));
            break;
        };
        if idb.linktype != DataLink::ETHERNET {
            return Err(not_ethernet(path, idb.linktype));
        }
        if orig_len as usize > data.len() {
            cap.snapped += 1;
        }
        cap.frames.push(data);
    }
    Ok(cap)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// Writes frames to an Ethernet pcap with nanosecond timestamps.
pub fn write_pcap(path: &Path, frames: &[(Duration, &[u8])]) -> Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let header = PcapHeader {
        version_major: 2,
        version_minor: 4,
        ts_correction: 0,
        ts_accuracy: 0,
        snaplen: 65535,
        datalink: DataLink::ETHERNET,
        ts_resolution: PcapTsResolution::NanoSecond,
        endianness: Endianness::native(),
    };
    let mut w = PcapWriter::with_header(BufWriter::new(file), header)
        .with_context(|| format!("cannot write {}", path.display()))?;
    for (ts, data) in frames {
        let len = data.len() as u32;
        let packet = PcapPacket::new(*ts, len, *data)
            .with_context(|| format!("a {len}-byte frame cannot go into {}", path.display()))?;
        w.write_packet(&packet)
            .with_context(|| format!("cannot write a frame to {}", path.display()))?;
    }
    w.flush().with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

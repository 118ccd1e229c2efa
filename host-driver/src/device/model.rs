//! The `model` backend: a behavioural NIC in plain Rust. It answers the same
//! register map as the gateware and makes the same decision for every frame,
//! but has no clock: a frame is handled the moment it is sent. It is the
//! oracle the RTL is compared against and the fast backend for driver tests.
//!
//! Where it deliberately differs: it never runs out of buffer (at line rate
//! in and out the RTL does not either; overflow needs a stalled transmitter,
//! which only the RTL models), its timestamps are the arrival times, and its
//! demultiplexer decides each frame at once, so it never reports `Overrun`.

use super::{check_page_offset, Demux, Device, Page, Received, RegisterPage, Wire, WireFrame};
use crate::demux::decide::{self, DemuxRegisters, SlotTables};
use anyhow::Result;
use arsenic_hdl::filter::{Key, Table, KEY_WORDS};
use arsenic_hdl::params::QUEUE_BITS;
use arsenic_hdl::regmap::{self, Counter};
use arsenic_hdl::NicParams;
use arsenic_testbench::wire::wire_cycles;
use std::cell::RefCell;
use std::rc::Rc;

pub struct ModelDevice {
    nic: Rc<RefCell<ModelNic>>,
}

struct ModelNic {
    params: NicParams,
    scratch: u32,
    control: u32,
    counters: [u64; Counter::ALL.len()],
    high_latch: u32,
    wire_free_at: u64,
    transmitted: Vec<WireFrame>,
    demux: DemuxRegisters,
    /// The entry FILTER_KEY and FILTER_VALUE stage for the next FILTER_CMD.
    staged_key: Key,
    staged_value: u32,
    tables: SlotTables,
    received: Vec<Received>,
}

impl ModelDevice {
    pub fn new(params: NicParams) -> Self {
        Self {
            nic: Rc::new(RefCell::new(ModelNic {
                scratch: 0,
                control: 0,
                counters: [0; Counter::ALL.len()],
                high_latch: 0,
                wire_free_at: 0,
                transmitted: Vec::new(),
                demux: DemuxRegisters::default(),
                staged_key: Key::default(),
                staged_value: 0,
                tables: SlotTables::new(&params),
                received: Vec::new(),
                params,
            })),
        }
    }
}

impl Default for ModelDevice {
    fn default() -> Self {
        Self::new(NicParams::default())
    }
}

impl ModelNic {
    fn count(&mut self, c: Counter, n: u64) {
        self.counters[c as usize] += n;
    }

    fn read(&mut self, addr: u32) -> u32 {
        if addr < regmap::ID_END {
            return regmap::id_registers(&self.params)
                .iter()
                .find(|(offset, _)| *offset == addr)
                .map_or(0, |&(_, value)| value);
        }
        match addr {
            regmap::SCRATCH => self.scratch,
            regmap::CONTROL => self.control,
            regmap::DEFAULT_QUEUE => self.demux.default_queue,
            a if (regmap::RSS_KEY..regmap::RSS_KEY + 4 * regmap::RSS_KEY_WORDS).contains(&a) => {
                regmap::rss_key_words(&self.demux.rss_key)[((a - regmap::RSS_KEY) / 4) as usize]
            }
            _ => match Counter::ALL.iter().find(|c| addr & !4 == c.offset()) {
                Some(&c) if addr & 4 == 0 => {
                    let value = self.counters[c as usize];
                    self.high_latch = (value >> 32) as u32;
                    value as u32
                }
                Some(_) => self.high_latch,
                None => 0,
            },
        }
    }

    fn write(&mut self, addr: u32, value: u32) {
        match addr {
            regmap::SCRATCH => self.scratch = value,
            regmap::CONTROL => self.control = value,
            regmap::DEFAULT_QUEUE => self.demux.default_queue = value & ((1 << QUEUE_BITS) - 1),
            a if (regmap::RSS_KEY..regmap::RSS_KEY + 4 * regmap::RSS_KEY_WORDS).contains(&a) => {
                let i = ((a - regmap::RSS_KEY) / 4) as usize;
                self.demux.rss_key[4 * i..4 * i + 4].copy_from_slice(&value.to_be_bytes());
            }
            a if (regmap::FILTER_KEY..regmap::FILTER_VALUE).contains(&a) => {
                let word = ((a - regmap::FILTER_KEY) / 4) as usize;
                // The hardware keeps KEY_BITS of the key; the top half of
                // the last word does not exist.
                let keep = if word == KEY_WORDS - 1 { 0xFFFF } else { u32::MAX };
                self.staged_key.0[word] = value & keep;
            }
            regmap::FILTER_VALUE => self.staged_value = value,
            regmap::FILTER_CMD => {
                let table = if value & regmap::FILTER_CMD_WILDCARD != 0 { Table::Wildcard } else { Table::Exact };
                let entry = (value & regmap::FILTER_CMD_CLEAR == 0).then_some((self.staged_key, self.staged_value));
                self.tables.write(table, value & regmap::FILTER_CMD_SLOT_MASK, entry);
            }
            _ => {}
        }
    }

    fn receive(&mut self, frame: &[u8], fcs_error: bool) {
        let len = frame.len() as u64;
        self.count(Counter::RxFrames, 1);
        self.count(Counter::RxBytes, len);
        let at = self.wire_free_at;
        self.wire_free_at += wire_cycles(frame.len());
        let decision = decide::decide(frame, fcs_error, &self.params, &self.tables, &self.demux);
        if let Some(c) = decide::counter(&decision) {
            self.count(c, 1);
        }
        self.received.push(Received { cycle: at, data: frame.to_vec(), decision });
        let verdict = if fcs_error {
            Some(Counter::RxDropMacError)
        } else if len < self.params.min_frame_bytes as u64 {
            Some(Counter::RxDropRunt)
        } else if len > self.params.max_frame_bytes as u64 {
            Some(Counter::RxDropGiant)
        } else if self.control & regmap::CONTROL_LOOPBACK == 0 {
            Some(Counter::RxDropNoPath)
        } else {
            None
        };
        match verdict {
            Some(drop) => self.count(drop, 1),
            None => {
                self.count(Counter::TxFrames, 1);
                self.count(Counter::TxBytes, len);
                self.transmitted.push(WireFrame { cycle: at, data: frame.to_vec() });
            }
        }
    }
}

struct ModelPage {
    nic: Rc<RefCell<ModelNic>>,
    page: Page,
}

impl RegisterPage for ModelPage {
    fn read32(&self, offset: u32) -> Result<u32> {
        let addr = check_page_offset(self.page, offset)?;
        Ok(self.nic.borrow_mut().read(addr))
    }

    fn write32(&self, offset: u32, value: u32) -> Result<()> {
        let addr = check_page_offset(self.page, offset)?;
        self.nic.borrow_mut().write(addr, value);
        Ok(())
    }
}

impl Device for ModelDevice {
    fn backend(&self) -> &'static str {
        "model"
    }

    fn map_page(&self, page: Page) -> Result<Box<dyn RegisterPage>> {
        check_page_offset(page, 0)?;
        Ok(Box::new(ModelPage { nic: Rc::clone(&self.nic), page }))
    }
}

impl Wire for ModelDevice {
    fn send(&mut self, frame: &[u8], fcs_error: bool) {
        if !frame.is_empty() {
            self.nic.borrow_mut().receive(frame, fcs_error);
        }
    }

    fn drain_reporting(&mut self, _report: &mut dyn FnMut(u64)) -> Result<()> {
        // Every frame was handled the moment it was sent.
        Ok(())
    }

    fn take_transmitted(&mut self) -> Vec<WireFrame> {
        std::mem::take(&mut self.nic.borrow_mut().transmitted)
    }

    fn cycles(&self) -> u64 {
        self.nic.borrow().wire_free_at
    }
}

impl Demux for ModelDevice {
    fn take_received(&mut self) -> Vec<Received> {
        std::mem::take(&mut self.nic.borrow_mut().received)
    }
}

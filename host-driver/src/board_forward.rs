//! The Versa shell's hardware forwarder (`arsenic_hdl::board::versa_ecp5::
//! forwarder`) from the host, over the UART: one call lays a queue out in
//! the shell's on-chip memory, commits it, posts its receive buffers and
//! starts a forwarder slot on it, after which the board sends every frame
//! the queue receives out of the port opposite to its sender, with no
//! host in the loop.
//!
//! Layout from `offset` in on-chip memory: the receive ring, the transmit
//! ring (both `2^ring_log2` descriptors), then `buffers` buffers of
//! `buffer_bytes`, which are exactly the queue's DMA window. Every access
//! is a UART round trip (about 2 ms), so this makes only the ones it must:
//! the queue commit, four words a buffer, one doorbell and the slot's
//! eight registers, about fifty in all.

use crate::control::Nic;
use crate::device::uart::UartDevice;
use anyhow::{bail, Context, Result};
use arsenic_hdl::blocks::dma_memory::{DmaMemory8K, DMA_MEMORY_BASE};
use arsenic_hdl::board::versa_ecp5::regions::{fwd, fwd_register, FORWARDER_SLOTS, MEMORY_WINDOW};
use arsenic_hdl::queue::{post_word, QueueSettings, DESC_BYTES, RING_LOG2_MAX, RING_LOG2_MIN};
use arsenic_hdl::regmap;

/// One queue to forward through one slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardSpec {
    pub slot: u32,
    pub queue: u32,
    /// Byte offset in on-chip memory where the queue's rings and buffers go.
    pub offset: u32,
    pub ring_log2: u8,
    /// Buffers, at most one per descriptor: each is posted to receive.
    pub buffers: u32,
    pub buffer_bytes: u32,
}

impl ForwardSpec {
    /// Bytes of on-chip memory the queue takes from `offset`.
    pub fn bytes(&self) -> u64 {
        2 * (DESC_BYTES << self.ring_log2) + self.buffers as u64 * self.buffer_bytes as u64
    }

    /// Checks the spec against a device with `queues` queues and the
    /// shell's memory and slots.
    pub fn validate(&self, queues: u32) -> Result<()> {
        check_slot(self.slot)?;
        if self.queue >= queues {
            bail!("queue {} does not exist: the device has queues 0..={}", self.queue, queues - 1);
        }
        if !(RING_LOG2_MIN..=RING_LOG2_MAX).contains(&(self.ring_log2 as u32)) {
            bail!("ring log2 must be {RING_LOG2_MIN}..={RING_LOG2_MAX}, got {}", self.ring_log2);
        }
        if self.buffers == 0 || self.buffers > 1 << self.ring_log2 {
            bail!("buffers must be 1..={} (one per receive descriptor), got {}", 1u32 << self.ring_log2, self.buffers);
        }
        if self.buffer_bytes < 64 || self.buffer_bytes > u16::MAX as u32 || !self.buffer_bytes.is_multiple_of(8) {
            bail!("buffer bytes must be a multiple of 8 in 64..=65528, got {}", self.buffer_bytes);
        }
        if !self.offset.is_multiple_of(DESC_BYTES as u32) || self.offset as u64 + self.bytes() > DmaMemory8K::SIZE_BYTES {
            bail!(
                "{} bytes of rings and buffers at offset 0x{:x} do not fit the {} bytes of on-chip memory (16-byte aligned)",
                self.bytes(),
                self.offset,
                DmaMemory8K::SIZE_BYTES
            );
        }
        Ok(())
    }

    fn rx_ring(&self) -> u32 {
        self.offset
    }

    fn tx_ring(&self) -> u32 {
        self.offset + ((DESC_BYTES as u32) << self.ring_log2)
    }

    fn buffer(&self, i: u32) -> u32 {
        self.offset + 2 * ((DESC_BYTES as u32) << self.ring_log2) + i * self.buffer_bytes
    }

    /// The queue's settings: rings and window in on-chip memory, no
    /// events, no template (forwarded frames carry whatever headers came
    /// in).
    pub fn settings(&self) -> QueueSettings {
        let window_base = DMA_MEMORY_BASE + self.buffer(0) as u64;
        QueueSettings {
            enable: true,
            rx_ring: DMA_MEMORY_BASE + self.rx_ring() as u64,
            rx_log2: self.ring_log2,
            tx_ring: DMA_MEMORY_BASE + self.tx_ring() as u64,
            tx_log2: self.ring_log2,
            window_base,
            window_limit: window_base + self.buffers as u64 * self.buffer_bytes as u64,
            ..Default::default()
        }
    }
}

pub fn check_slot(slot: u32) -> Result<()> {
    if slot >= FORWARDER_SLOTS {
        bail!("forwarder slot {slot} does not exist: the shell has slots 0..={}", FORWARDER_SLOTS - 1);
    }
    Ok(())
}

/// What a slot reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SlotStatus {
    pub running: bool,
    /// `fwd::STATUS_*` bits: why the slot did not start or stopped.
    pub status: u32,
    pub forwarded: u32,
    pub rx_errors: u32,
    pub tx_errors: u32,
}

/// Commits `spec.queue` over on-chip memory, posts its buffers and starts
/// forwarder slot `spec.slot` on it. A slot already running is stopped
/// first; the queue is recommitted, so its indices and counters restart.
pub fn start(nic: &mut Nic, dev: &UartDevice, spec: &ForwardSpec) -> Result<()> {
    spec.validate(nic.info.queues)?;
    let reg = |r: u32| fwd_register(spec.slot, r);
    dev.write32_at(reg(fwd::CONTROL), 0).context("stopping the forwarder slot")?;
    nic.commit_queue(spec.queue, &spec.settings()).with_context(|| format!("committing queue {}", spec.queue))?;
    for i in 0..spec.buffers {
        let at = MEMORY_WINDOW + spec.rx_ring() + i * DESC_BYTES as u32;
        let addr = DMA_MEMORY_BASE + spec.buffer(i) as u64;
        let word = post_word(spec.buffer_bytes as u16);
        for (k, v) in [addr as u32, (addr >> 32) as u32, word as u32, (word >> 32) as u32].into_iter().enumerate() {
            dev.write32_at(at + 4 * k as u32, v).context("posting a receive buffer")?;
        }
    }
    dev.write32_at(regmap::queue_page(spec.queue) + regmap::UQ_RX_TAIL, spec.buffers)
        .context("ringing the receive doorbell")?;
    for (r, v) in [
        (fwd::QUEUE, spec.queue),
        (fwd::RX_RING, spec.rx_ring()),
        (fwd::TX_RING, spec.tx_ring()),
        (fwd::RING_LOG2, spec.ring_log2 as u32),
        (fwd::BUFFER_BYTES, spec.buffer_bytes),
        (fwd::RX_INDEX, spec.buffers << 16),
        (fwd::TX_INDEX, 0),
        (fwd::CONTROL, fwd::CONTROL_RUN),
    ] {
        dev.write32_at(reg(r), v).context("configuring the forwarder slot")?;
    }
    let control = dev.read32_at(reg(fwd::CONTROL))?;
    if control & fwd::CONTROL_RUN == 0 {
        bail!("the forwarder refused slot {}: {}", spec.slot, reasons(control));
    }
    Ok(())
}

/// Stops slot `slot` between two of its accesses.
pub fn stop(dev: &UartDevice, slot: u32) -> Result<()> {
    check_slot(slot)?;
    dev.write32_at(fwd_register(slot, fwd::CONTROL), 0)
}

pub fn status(dev: &UartDevice, slot: u32) -> Result<SlotStatus> {
    check_slot(slot)?;
    let reg = |r: u32| dev.read32_at(fwd_register(slot, r));
    let control = reg(fwd::CONTROL)?;
    Ok(SlotStatus {
        running: control & fwd::CONTROL_RUN != 0,
        status: control & !fwd::CONTROL_RUN,
        forwarded: reg(fwd::FORWARDED)?,
        rx_errors: reg(fwd::RX_ERRORS)?,
        tx_errors: reg(fwd::TX_ERRORS)?,
    })
}

/// The reasons in a slot's control word, in words.
pub fn reasons(control: u32) -> String {
    let names = [
        (fwd::STATUS_BAD_LOG2, "ring log2 out of range"),
        (fwd::STATUS_BAD_RX_RING, "receive ring outside on-chip memory or misaligned"),
        (fwd::STATUS_BAD_TX_RING, "transmit ring outside on-chip memory or misaligned"),
        (fwd::STATUS_BAD_QUEUE, "no such queue"),
        (fwd::STATUS_BAD_BUFFER, "buffer length 0 or above 65535"),
        (fwd::STATUS_NO_ACK, "an access was never acknowledged"),
    ];
    let said: Vec<&str> = names.iter().filter(|(bit, _)| control & bit != 0).map(|(_, s)| *s).collect();
    if said.is_empty() {
        "no reason given".to_string()
    } else {
        said.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_that_do_not_fit_are_refused() {
        let good = ForwardSpec { slot: 0, queue: 3, offset: 0, ring_log2: 3, buffers: 4, buffer_bytes: 1536 };
        assert!(good.validate(64).is_ok());
        assert_eq!(good.bytes(), 256 + 4 * 1536);
        let s = good.settings();
        assert_eq!((s.rx_ring, s.tx_ring, s.window_base), (DMA_MEMORY_BASE, DMA_MEMORY_BASE + 128, DMA_MEMORY_BASE + 256));
        assert_eq!(s.window_limit - s.window_base, 4 * 1536);
        for bad in [
            ForwardSpec { slot: 4, ..good.clone() },
            ForwardSpec { queue: 64, ..good.clone() },
            ForwardSpec { ring_log2: 2, ..good.clone() },
            ForwardSpec { buffers: 9, ..good.clone() },
            ForwardSpec { buffers: 0, ..good.clone() },
            ForwardSpec { buffer_bytes: 60, ..good.clone() },
            ForwardSpec { offset: 8, ..good.clone() },
            ForwardSpec { offset: 0x800, buffers: 5, ..good.clone() },
        ] {
            assert!(bad.validate(64).is_err(), "{bad:?}");
        }
        assert_eq!(reasons(fwd::STATUS_BAD_QUEUE | fwd::STATUS_NO_ACK), "no such queue, an access was never acknowledged");
    }
}

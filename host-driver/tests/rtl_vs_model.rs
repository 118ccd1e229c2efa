//! The backbone: the same frames and the same host actions on the RTL and on
//! the behavioural model give the same frames on the wire and the same
//! counters. Plus what only the RTL can show: back-pressure and overflow.

mod common;

use arsenic::control::Nic;
use arsenic::device::model::ModelDevice;
use arsenic::device::rtl::RtlDevice;
use arsenic::device::{Device, Page, Wire};
use arsenic::traffic::Rng;
use arsenic_testbench::TxPacing;
use proptest::prelude::*;

type Frames = Vec<(Vec<u8>, bool)>;

/// Plays bursts with the given loopback setting each, draining between
/// them; returns the transmitted frames and the counters.
fn play<D: Device + Wire>(dev: &mut D, bursts: &[(bool, Frames)]) -> (Vec<Vec<u8>>, Vec<(&'static str, u64)>) {
    let nic = Nic::open(dev).unwrap();
    for (loopback, frames) in bursts {
        nic.set_loopback(*loopback).unwrap();
        for (f, err) in frames {
            dev.send(f, *err);
        }
        dev.drain().unwrap();
    }
    let tx = dev.take_transmitted().into_iter().map(|f| f.data).collect();
    (tx, nic.counters().unwrap().0)
}

fn differential(bursts: &[(bool, Frames)]) {
    let mut rtl = RtlDevice::new();
    let got = play(&mut rtl, bursts);
    let want = play(&mut ModelDevice::default(), bursts);
    assert_eq!(got.0.len(), want.0.len(), "frame count");
    assert!(got.0 == want.0, "transmitted frames differ");
    assert_eq!(got.1, want.1, "counters differ");
    assert_eq!(rtl.rx_stall_cycles(), 0, "the NIC stalled the receive MAC");
}

/// Frames with a good FCS.
fn good(frames: &[Vec<u8>]) -> Frames {
    frames.iter().map(|f| (f.clone(), false)).collect()
}

fn random_frame(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len];
    rng.fill(&mut f);
    f
}

#[test]
fn every_length_from_0_to_1600() {
    let mut rng = Rng::new(42);
    let frames: Frames = (0..=1600).map(|len| (random_frame(&mut rng, len), false)).collect();
    differential(&[(true, frames)]);
}

#[test]
fn loopback_off_sends_everything_to_the_disabled_queues_and_on_again_resumes() {
    let mut rng = Rng::new(3);
    let burst = |rng: &mut Rng| -> Frames { (0..30).map(|i| (random_frame(rng, 20 + i * 37), i % 7 == 3)).collect() };
    differential(&[(false, burst(&mut rng)), (true, burst(&mut rng)), (false, burst(&mut rng))]);
}

fn frame_strategy() -> impl Strategy<Value = (Vec<u8>, bool)> {
    let len = prop_oneof![0usize..20, 50usize..80, 1500usize..1530, 0usize..1700];
    (len.prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n)), prop::bool::weighted(0.1))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn random_traffic_agrees(
        bursts in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(frame_strategy(), 0..25)),
            1..4,
        )
    ) {
        differential(&bursts);
    }
}

#[test]
fn a_stalled_transmitter_overflows_whole_frames_and_recovers() {
    let mut rng = Rng::new(9);
    let frames: Vec<Vec<u8>> = (0..60).map(|i| random_frame(&mut rng, 100 + (i * 131) % 1400)).collect();
    let mut dev = RtlDevice::new();
    // The frames take about 50 000 cycles to arrive; the MAC refuses to
    // send for the first 25 000, then runs freely.
    dev.set_tx_pacing(TxPacing::Custom(Box::new(|cycle| cycle > 25_000)));
    let (sent, c) = play(&mut dev, &[(true, good(&frames))]);
    let get = |n| c.iter().find(|(name, _)| *name == n).unwrap().1;
    assert!(get("rx_drop_overflow") > 0, "nothing overflowed");
    assert!(!sent.is_empty(), "nothing got through after the stall");
    assert_eq!(get("rx_frames"), 60);
    assert_eq!(get("tx_frames"), sent.len() as u64);
    assert_eq!(get("rx_frames"), get("tx_frames") + get("rx_drop_overflow"));
    // What did get through is whole, unchanged and in order: a subsequence
    // of what was sent.
    let mut rest = frames.iter();
    for s in &sent {
        assert!(rest.any(|f| f == s), "a frame came out damaged or out of order");
    }
    assert_eq!(dev.rx_stall_cycles(), 0);
}

#[test]
fn an_irregular_transmitter_loses_nothing_it_has_room_for() {
    let mut rng = Rng::new(11);
    // Small frames with wide gaps: the buffer never fills, so a MAC that is
    // ready only some of the time must still get every frame.
    let frames: Vec<Vec<u8>> = (0..80).map(|i| random_frame(&mut rng, 14 + i % 50)).collect();
    let mut dev = RtlDevice::new();
    dev.set_tx_pacing(TxPacing::Custom(Box::new(|c| (c * 2_654_435_761) % 7 < 3)));
    let (sent, _) = play(&mut dev, &[(true, good(&frames))]);
    assert!(sent == frames);
}

#[test]
fn pages_reach_their_own_4k_and_nothing_else() {
    let rtl = RtlDevice::new();
    let model = ModelDevice::default();
    for dev in [&rtl as &dyn Device, &model] {
        let control = dev.map_page(Page::Control).unwrap();
        control.write32(arsenic_hdl::regmap::SCRATCH, 0x5A5A_1234).unwrap();
        assert_eq!(control.read32(arsenic_hdl::regmap::SCRATCH).unwrap(), 0x5A5A_1234);
        // A page handle cannot be walked off its end or misaligned.
        assert!(control.read32(4096).is_err());
        assert!(control.write32(4096 + arsenic_hdl::regmap::SCRATCH, 0).is_err());
        assert!(control.read32(2).is_err());
        // A queue page sees none of the control page's registers.
        let q = dev.map_page(Page::Queue(3)).unwrap();
        assert_eq!(q.read32(arsenic_hdl::regmap::MAGIC).unwrap(), 0);
        assert_eq!(q.read32(arsenic_hdl::regmap::SCRATCH).unwrap(), 0);
        q.write32(arsenic_hdl::regmap::CONTROL, 1).unwrap();
        assert_eq!(control.read32(arsenic_hdl::regmap::CONTROL).unwrap(), 0, "a queue page changed control state");
        // A page outside the register space cannot be mapped at all.
        assert!(dev.map_page(Page::Queue(5000)).is_err());
        assert!(dev.map_page(Page::Queue(u32::MAX)).is_err());
    }
}

#[test]
fn a_device_without_the_magic_is_not_opened() {
    struct Blank;
    struct BlankPage;
    impl arsenic::device::RegisterPage for BlankPage {
        fn read32(&self, _: u32) -> anyhow::Result<u32> {
            Ok(0xFFFF_FFFF)
        }
        fn write32(&self, _: u32, _: u32) -> anyhow::Result<()> {
            Ok(())
        }
    }
    impl Device for Blank {
        fn backend(&self) -> &'static str {
            "blank"
        }
        fn map_page(&self, _: Page) -> anyhow::Result<Box<dyn arsenic::device::RegisterPage>> {
            Ok(Box::new(BlankPage))
        }
        fn dma_alloc(&self, _: usize) -> anyhow::Result<arsenic::dma::DmaBlock> {
            anyhow::bail!("a blank device has no DMA")
        }
        fn waiter(&self) -> Box<dyn arsenic::device::Waiter> {
            unreachable!("Nic::open never waits")
        }
    }
    let err = Nic::open(&Blank).err().expect("opened a device with no magic");
    assert!(format!("{err}").contains("no Arsenic NIC"), "{err}");
}

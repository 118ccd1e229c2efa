//! Protection fuzz: a hostile queue's random descriptors, doorbells and
//! user-page writes never make the NIC touch memory outside that queue's
//! reach, and never disturb another application's traffic.

use arsenic::device::model::ModelDevice;
use arsenic::device::rtl::RtlDevice;
use arsenic::protection::{run_case, Action, Aim};
use proptest::prelude::*;

fn aim() -> impl Strategy<Value = Aim> {
    prop_oneof![
        (0u64..300_000).prop_map(Aim::Own),
        (0u64..300_000).prop_map(Aim::Victim),
        (0u64..300_000).prop_map(Aim::Kernel),
        (0u64..2048).prop_map(Aim::Rings),
        any::<u64>().prop_map(Aim::Raw),
        (0u64..4096).prop_map(Aim::Top),
    ]
}

fn len() -> impl Strategy<Value = u16> {
    prop_oneof![0u16..70, 60u16..2100, any::<u16>()]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (any::<u16>(), aim(), len()).prop_map(|(slot, at, len)| Action::RxDescriptor { slot, at, len }),
        3 => (any::<u16>(), aim(), len()).prop_map(|(slot, at, len)| Action::TxDescriptor { slot, at, len }),
        2 => prop_oneof![9 => 0u16..40, 1 => any::<u16>()].prop_map(Action::RxTail),
        2 => prop_oneof![9 => 0u16..40, 1 => any::<u16>()].prop_map(Action::TxTail),
        2 => (0u16..1024, any::<u32>()).prop_map(|(w, value)| Action::PageWrite { offset: w * 4, value }),
        2 => (1u8..4, 60u16..1514).prop_map(|(frames, len)| Action::Traffic { frames, len }),
        1 => (1u16..3000).prop_map(Action::Run),
    ]
}

fn check(o: arsenic::protection::Outcome) -> Result<(), TestCaseError> {
    prop_assert!(o.violations.is_empty(), "DMA outside the queue's reach: {:?}", &o.violations[..o.violations.len().min(5)]);
    prop_assert!(o.victim_damage.is_empty(), "the victim was disturbed: {:?}", o.victim_damage);
    prop_assert!(o.accesses > 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_hostile_queue_stays_in_its_reach_on_the_model(
        hostile in prop::collection::vec(action(), 1..40),
        mixed in prop::collection::vec(action(), 1..20),
    ) {
        check(run_case(&mut ModelDevice::default(), &hostile, &mixed, 12).unwrap())?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_hostile_queue_stays_in_its_reach_on_the_rtl(
        hostile in prop::collection::vec(action(), 1..30),
        mixed in prop::collection::vec(action(), 1..15),
    ) {
        check(run_case(&mut RtlDevice::new(), &hostile, &mixed, 12).unwrap())?;
    }
}

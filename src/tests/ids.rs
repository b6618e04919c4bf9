//! Task ids: `hub serial | slot generation | slot`, packed and unpacked.

use crate::task::{make_id, split_id, MAX_GEN, MAX_SERIAL, MAX_SLOTS};

#[test]
fn round_trip_at_the_edges() {
    let slot_max = (MAX_SLOTS - 1) as u32;
    for (serial, gen, slot) in [(1, 1, 0), (1, 1, slot_max), (MAX_SERIAL, MAX_GEN, slot_max), (77, 5, 123)] {
        let id = make_id(serial, gen, slot);
        assert!(id > 0, "{serial} {gen} {slot} packs to a positive id");
        assert_eq!(split_id(id), Some((serial, gen, slot)));
    }
}

#[test]
fn the_largest_id_fits_in_63_bits() {
    assert_eq!(make_id(MAX_SERIAL, MAX_GEN, (MAX_SLOTS - 1) as u32), i64::MAX);
}

#[test]
fn ids_that_cannot_be_issued_are_refused() {
    assert_eq!(split_id(0), None);
    assert_eq!(split_id(-1), None);
    assert_eq!(split_id(i64::MIN), None);
    assert_eq!(split_id(make_id(0, 1, 3)), None, "serial 0 is never a hub's");
    assert_eq!(split_id(make_id(1, 0, 3)), None, "generation 0 is a slot never used");
}

#[test]
fn fields_do_not_bleed_into_each_other() {
    let a = make_id(1, 1, 0);
    assert_eq!(make_id(1, 1, 1) - a, 1);
    assert_eq!(make_id(1, 2, 0) - a, 1 << crate::task::SLOT_BITS);
    assert_eq!(make_id(2, 1, 0) - a, 1 << (crate::task::SLOT_BITS + crate::task::GEN_BITS));
}

//! `shipment_update`: a carrier scan worth telling (out for delivery, delayed, failed attempt).

use super::{Spec, shipping_confirmation};

pub(super) const SPEC: Spec = Spec {
    trigger: "ShipmentUpdated with a status worth a message (engine/shipments.rs)",
    timing: "at once",
    exits: shipping_confirmation::exits,
    ..Spec::PLAIN
};

//! Which detail types each step's EventBridge rule delivers to it (besides its own `FollowUpDue`,
//! which every step gets). Defined here once: `infra/functions.json` carries the same lists for
//! the CDK stack to build its rules from, and a test compares the file with this.

use super::feedback::SES_DETAIL_TYPES;
use crate::message::Step;

/// Every step with a rule of its own, in the order of docs/aws.md.
pub const STEPS: [Step; 6] = [
    Step::Customer,
    Step::OrderConfirmed,
    Step::OrderShipped,
    Step::OrderDelivered,
    Step::CartAbandoned,
    Step::SesEvents,
];

/// The detail types the rule of `step` matches (store events from the configured `sources`, or
/// SES's from `aws.ses` for `ses-events`).
pub fn detail_types(step: Step) -> &'static [&'static str] {
    match step {
        Step::Customer => &["CustomerSignedUp", "CustomerUpdated", "CustomerRedacted"],
        Step::OrderConfirmed => &["OrderConfirmed", "OrderCancelled", "ProductUpdated"],
        Step::OrderShipped => &["OrderShipped", "ShipmentUpdated", "TrackingUpdated"],
        Step::OrderDelivered => &["OrderDelivered", "ReviewSubmitted"],
        Step::CartAbandoned => &["CartUpdated", "CartAbandoned"],
        Step::SesEvents => SES_DETAIL_TYPES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Parsed, parse_envelope};
    use std::collections::BTreeSet;

    #[test]
    fn every_routed_detail_type_is_one_the_engine_handles_and_goes_to_one_step() {
        let mut seen = BTreeSet::new();
        for step in STEPS {
            for detail_type in detail_types(step) {
                assert!(seen.insert(*detail_type), "{detail_type} is routed to two steps");
                let source = if step == Step::SesEvents {
                    "aws.ses"
                } else {
                    "shop.example"
                };
                let envelope = serde_json::json!({"version": "0", "id": "e-1", "detail-type": detail_type,
                    "source": source, "time": "2026-11-02T10:00:00Z", "detail": {}});
                // A known type with an empty detail is refused by field; an unknown one is ignored.
                let parsed = parse_envelope(&envelope.to_string());
                assert!(
                    !matches!(parsed, Ok(Parsed::Unknown { .. })),
                    "{detail_type} is not handled"
                );
            }
        }
    }
}

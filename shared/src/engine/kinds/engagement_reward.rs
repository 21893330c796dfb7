//! `engagement_reward`: a thank-you coupon for a reader who keeps clicking.

use super::{Spec, with_coupon};

pub(super) const SPEC: Spec = Spec {
    trigger: "EmailClicked reaching [timing] engagement_clicks within engagement_window_days, \
              at most once per engagement_reward_every_days (engine/feedback.rs, engine/schedule.rs); \
              sent by the customer step",
    timing: "at once (scheduled, so that ses-events needs no permission to send)",
    exits: with_coupon,
    coupon: true,
    ..Spec::PLAIN
};

//! `ses-events`: SES feedback from the configuration sets — hard bounces and complaints suppress the
//! address, soft bounces count toward it, opens and clicks are counted once, deliveries recorded.
//!
//! Settings come from the environment (docs/aws.md); clients and templates are built once at init.

// The engine's futures over the AWS SDK's nest deeper than rustc's default query depth (128)
// allows in some build orders: a clean CI build hit 130 computing order-confirmed's `main`.
#![recursion_limit = "256"]

use tidings_core::message::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tidings_aws::lambda::run_step(Step::SesEvents).await
}

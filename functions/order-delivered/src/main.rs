//! `order-delivered`: delivery confirmations, reviews and review-request follow-ups.
//!
//! Settings come from the environment (docs/aws.md); clients and templates are built once at init.

use tidings_core::message::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tidings_aws::lambda::run_step(Step::OrderDelivered).await
}

//! `cart-abandoned`: cart reminders.
//!
//! Settings come from the environment (docs/aws.md); clients and templates are built once at init.

use tidings_core::message::Step;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tidings_aws::lambda::run_step(Step::CartAbandoned).await
}

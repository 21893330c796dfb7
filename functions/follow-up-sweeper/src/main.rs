//! `follow-up-sweeper`: invoked every minute; emits one `FollowUpDue` per due follow-up, which rules
//! route back to the step that owns it.

// The engine's futures over the AWS SDK's nest deeper than rustc's default query depth (128)
// allows in some build orders: a clean CI build hit 130 computing order-confirmed's `main`.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tidings_aws::lambda::run_sweeper().await
}

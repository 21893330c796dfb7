//! `follow-up-sweeper`: invoked every minute; emits one `FollowUpDue` per due follow-up, which rules
//! route back to the step that owns it.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tidings_aws::lambda::run_sweeper().await
}

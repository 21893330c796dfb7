//! `unsubscribe`: the page behind every marketing email's unsubscribe link (Lambda Function URL).
//! RFC 8058 one-click `POST` unsubscribes at once; `GET` only shows a confirmation page.

// The engine's futures over the AWS SDK's nest deeper than rustc's default query depth (128)
// allows in some build orders: a clean CI build hit 130 computing order-confirmed's `main`.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tidings_aws::lambda::run_unsubscribe().await
}

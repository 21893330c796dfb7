//! `unsubscribe`: the page behind every marketing email's unsubscribe link (Lambda Function URL).
//! RFC 8058 one-click `POST` unsubscribes at once; `GET` only shows a confirmation page.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tidings_aws::lambda::run_unsubscribe().await
}

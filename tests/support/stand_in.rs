//! What the local stand-ins of vendors' APIs share (tests/support/shopify_admin.rs,
//! woocommerce_rest.rs, tracking_apis.rs): a server on a free port answering JSON from one
//! function over the stand-in's state, and header lookup without case.

use serde_json::Value;
use std::sync::{Arc, Mutex};

/// Serves `respond` (over `state`, with the request and its body) on a free port, on a thread of
/// its own; returns the base URL, `http://127.0.0.1:<port>`.
pub fn serve<S, F>(state: Arc<Mutex<S>>, respond: F) -> String
where
    S: Send + 'static,
    F: Fn(&mut S, &tiny_http::Request, &str) -> (u16, Value) + Send + 'static,
{
    let server = tiny_http::Server::http("127.0.0.1:0").expect("stand-in port");
    let url = format!("http://{}", server.server_addr().to_ip().expect("ip address"));
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            let (status, answer) = respond(&mut state.lock().expect("state"), &request, &body);
            let response = tiny_http::Response::from_string(answer.to_string())
                .with_status_code(status)
                .with_header(tiny_http::Header::from_bytes("Content-Type", "application/json").expect("header"));
            let _ = request.respond(response);
        }
    });
    url
}

/// The value of header `name`, whatever its case.
pub fn header<'a>(request: &'a tiny_http::Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

//! tidings core: the lifecycle engine, its domain and contract, rendering, MIME, and the ports that
//! the AWS Lambdas and the local runner implement.

pub mod adapters;
pub mod config;
pub mod coupon;
pub mod domain;
pub mod engine;
pub mod event;
pub use event::feedback;
pub mod carriers;
pub mod guest;
mod mac;
pub mod message;
pub mod mime;
pub mod ports;
pub mod preview;
pub mod render;
pub mod report;
pub mod shadow;
pub mod shopify;
pub mod signing;
pub mod skip;
pub mod unsubscribe;
mod vendor;
pub mod webhook;
pub mod woocommerce;

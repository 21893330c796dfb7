//! Carrier tracking services (AfterShip, EasyPost) report only the parcels registered with them:
//! with a service's API key configured, each parcel shipped with a tracking number is registered
//! (AfterShip's API and EasyPost's in Lambda; nothing locally).

use crate::event::TrackingNumber;
use std::future::Future;
use std::pin::Pin;

/// Why a parcel could not be registered.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegisterError {
    /// Throttled, a network failure, a server error, a key not readable.
    #[error("the tracking service cannot register the parcel now: {0}")]
    Unavailable(String),
    /// The service refused the number for good (a format no carrier it knows uses).
    #[error("the tracking service refused the parcel: {0}")]
    Refused(String),
}

/// The services parcels are registered with.
pub trait Trackers: Send + Sync {
    /// Registers the parcel numbered `number`, by the carrier of code `carrier` (the carrier
    /// table's; empty when unknown: the service detects it). Registering a number again is no
    /// error.
    fn register<'a>(
        &'a self,
        number: &'a TrackingNumber,
        carrier: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), RegisterError>> + Send + 'a>>;
}

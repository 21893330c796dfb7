//! Shopify fulfillments (a parcel): `fulfillments/create` → `OrderShipped`; its status changes
//! (`fulfillments/update`'s `shipment_status`, `fulfillment_events/create`'s `status`) →
//! `ShipmentUpdated` or `OrderDelivered` by the table in docs/shopify.md.

use super::orders::sku;
use super::payload::{Fulfillment, FulfillmentEvent};
use super::{Routed, carriers, error, given};
use crate::event::EventError;
use serde_json::{Value, json};

/// What a Shopify shipment status means for the contract.
#[derive(Debug, PartialEq, Eq)]
enum Status {
    /// A `ShipmentUpdated` status.
    Scan(&'static str),
    /// `OrderDelivered`.
    Delivered,
    /// Nothing the customer is told about (a label printed, or a status Shopify adds later).
    Nothing,
}

fn status(shopify: &str) -> Status {
    match shopify {
        "confirmed" | "carrier_picked_up" | "picked_up" | "in_transit" => Status::Scan("in_transit"),
        "out_for_delivery" => Status::Scan("out_for_delivery"),
        "attempted_delivery" | "failure" => Status::Scan("exception"),
        "ready_for_pickup" => Status::Scan("available_for_pickup"),
        "delayed" => Status::Scan("delayed"),
        "delivered" => Status::Delivered,
        _ => Status::Nothing,
    }
}

/// `fulfillments/create`: the shipping confirmation (and, for a parcel created already on its
/// way or delivered, that status too). A fulfillment a fulfillment service has not shipped yet
/// (`pending`, `open`) waits for the `fulfillments/update` that makes it `success`.
pub(super) fn created(fulfillment: &Fulfillment) -> Result<Routed, EventError> {
    match fulfillment.status.as_deref() {
        Some("cancelled" | "error" | "failure") => Ok(Routed::Ignored("a fulfillment that did not happen")),
        Some("pending" | "open") => Ok(Routed::Ignored("a fulfillment not shipped yet")),
        _ => shipped(fulfillment),
    }
}

/// The parcel as `OrderShipped`, and its status when it has one to tell.
fn shipped(fulfillment: &Fulfillment) -> Result<Routed, EventError> {
    let company = given(&fulfillment.tracking_company);
    let code = company.and_then(carriers::code);
    let number = given(&fulfillment.tracking_number).or(fulfillment.tracking_numbers.iter().find_map(|n| nonblank(n)));
    let url = given(&fulfillment.tracking_url).or(fulfillment.tracking_urls.iter().find_map(|u| nonblank(u)));
    let items = fulfillment
        .line_items
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let path = format!("detail.payload.line_items[{i}]");
            Ok(json!({
                "sku": sku(line).ok_or_else(|| error(&format!("{path}.sku"), "is required"))?,
                "product_id": line.product_id.as_ref().map(|p| &p.0),
                "variant": given(&line.variant_title),
                "quantity": line.quantity.unwrap_or(1),
            }))
        })
        .collect::<Result<Vec<Value>, EventError>>()?;
    let shipment = json!({
        "id": fulfillment.id.0,
        // An unknown carrier is shown by Shopify's name for it, with Shopify's tracking link.
        "carrier": code.or(company).unwrap_or_default(),
        "carrier_name": if code.is_none() { company } else { None },
        "tracking_number": number,
        "tracking_url": url,
        "shipped_at": given(&fulfillment.created_at),
        "items": (!items.is_empty()).then_some(items),
    });
    let mut events = vec![(
        "OrderShipped",
        json!({ "order_id": fulfillment.order_id.0, "shipment": shipment }),
    )];
    if let Some(later) = fulfillment
        .shipment_status
        .as_deref()
        .and_then(|s| progress(fulfillment, s))
    {
        events.push(later);
    }
    Ok(Routed::Events(events))
}

/// `fulfillments/update`: a parcel shipped now (`success`: its confirmation, which the engine
/// sends once however often this comes), or a new `shipment_status`.
pub(super) fn updated(fulfillment: &Fulfillment) -> Result<Routed, EventError> {
    if fulfillment.status.as_deref() == Some("success") {
        return shipped(fulfillment);
    }
    Ok(
        match fulfillment
            .shipment_status
            .as_deref()
            .and_then(|s| progress(fulfillment, s))
        {
            Some(event) => Routed::Events(vec![event]),
            None => Routed::Ignored("a fulfillment update without a status to tell"),
        },
    )
}

fn progress(fulfillment: &Fulfillment, shopify: &str) -> Option<(&'static str, Value)> {
    let (order, parcel) = (&fulfillment.order_id.0, &fulfillment.id.0);
    match status(shopify) {
        Status::Scan(status) => Some((
            "ShipmentUpdated",
            json!({ "order_id": order, "shipment_id": parcel, "status": status }),
        )),
        Status::Delivered => Some((
            "OrderDelivered",
            json!({ "order_id": order, "shipment_id": parcel, "delivered_at": given(&fulfillment.updated_at) }),
        )),
        Status::Nothing => None,
    }
}

/// `fulfillment_events/create`: one carrier scan, with its place and words.
pub(super) fn event(scan: &FulfillmentEvent) -> Routed {
    let (order, parcel) = (&scan.order_id.0, &scan.fulfillment_id.0);
    match scan.status.as_deref().map_or(Status::Nothing, status) {
        Status::Scan(status) => {
            let place: Vec<&str> = [given(&scan.city), given(&scan.province), given(&scan.country)]
                .into_iter()
                .flatten()
                .collect();
            Routed::Events(vec![(
                "ShipmentUpdated",
                json!({
                    "order_id": order,
                    "shipment_id": parcel,
                    "status": status,
                    "description": given(&scan.message),
                    "location": (!place.is_empty()).then(|| place.join(", ")),
                    // The date the carrier expects, as Shopify states it in the shop's zone.
                    "estimated_delivery": given(&scan.estimated_delivery_at).and_then(|t| t.get(..10)),
                }),
            )])
        }
        Status::Delivered => Routed::Events(vec![(
            "OrderDelivered",
            json!({ "order_id": order, "shipment_id": parcel, "delivered_at": given(&scan.happened_at) }),
        )]),
        Status::Nothing => Routed::Ignored("a fulfillment event without a status to tell"),
    }
}

fn nonblank(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{Status, status};

    #[test]
    fn every_documented_status_has_a_meaning() {
        let table = [
            ("label_printed", Status::Nothing),
            ("label_purchased", Status::Nothing),
            ("confirmed", Status::Scan("in_transit")),
            ("carrier_picked_up", Status::Scan("in_transit")),
            ("in_transit", Status::Scan("in_transit")),
            ("out_for_delivery", Status::Scan("out_for_delivery")),
            ("attempted_delivery", Status::Scan("exception")),
            ("ready_for_pickup", Status::Scan("available_for_pickup")),
            ("delayed", Status::Scan("delayed")),
            ("failure", Status::Scan("exception")),
            ("delivered", Status::Delivered),
        ];
        for (shopify, meaning) in table {
            assert_eq!(status(shopify), meaning, "{shopify}");
        }
    }
}

//! Orders shipped in several parcels: which of the order's lines a parcel holds, and whether
//! the parcels announced so far hold the whole order.

use super::{LineItem, Order, Shipment, ShipmentItem};

/// How much of its order a parcel is, as its shipping confirmation says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Share {
    /// The whole order (no item list, or everything in it).
    Whole,
    /// Part of it, more to come.
    Part,
    /// What was left: with the parcels before it, the whole order.
    Rest,
}

impl Share {
    /// The name templates and locale keys use (`None` for the whole order: the usual wording).
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Self::Whole => None,
            Self::Part => Some("part"),
            Self::Rest => Some("rest"),
        }
    }
}

impl ShipmentItem {
    /// Whether this parcel line is `line` of the order: by SKU when it has one, else by product
    /// and variant.
    pub fn is(&self, line: &LineItem) -> bool {
        let same = |a: &super::Text, b: &super::Text| a.as_str().trim() == b.as_str().trim();
        match (&self.sku, &self.product_id) {
            (Some(sku), _) => same(sku, &line.sku),
            (None, Some(product)) => {
                product == &line.product_id
                    && match (&self.variant, &line.variant) {
                        (Some(a), Some(b)) => same(a, b),
                        (None, None) => true,
                        _ => false,
                    }
            }
            (None, None) => false,
        }
    }
}

impl Order {
    /// The order's lines inside `shipment`, with the parcel's quantities; `None` when the
    /// shipment lists no items (it is the whole order).
    pub fn parcel_lines(&self, shipment: &Shipment) -> Option<Vec<LineItem>> {
        let items = shipment.items.as_ref()?;
        let lines = self
            .items
            .iter()
            .filter_map(|line| {
                let quantity = shipped(items, line).min(line.quantity);
                (quantity > 0).then(|| LineItem {
                    quantity,
                    ..line.clone()
                })
            })
            .collect();
        Some(lines)
    }

    /// Whether `shipments` together hold every line of the order in full (any of them without an
    /// item list holds everything).
    pub fn covered_by<'a>(&self, shipments: impl IntoIterator<Item = &'a Shipment> + Clone) -> bool {
        if shipments.clone().into_iter().any(|s| s.items.is_none()) {
            return true;
        }
        self.items.iter().all(|line| {
            let total: u32 = shipments
                .clone()
                .into_iter()
                .filter_map(|s| s.items.as_ref())
                .map(|items| shipped(items, line))
                .fold(0, u32::saturating_add);
            total >= line.quantity
        })
    }

    /// How much of the order the `index`-th of `shipments` (in announcement order) is.
    pub fn share(&self, shipments: &[&Shipment], index: usize) -> Share {
        let Some(parcel) = shipments.get(index) else {
            return Share::Whole;
        };
        if self.covered_by([*parcel]) {
            Share::Whole
        } else if self.covered_by(shipments[..=index].iter().copied()) {
            Share::Rest
        } else {
            Share::Part
        }
    }
}

/// How many of `line` the parcel `items` hold.
fn shipped(items: &[ShipmentItem], line: &LineItem) -> u32 {
    items
        .iter()
        .filter(|item| item.is(line))
        .map(|item| item.quantity)
        .fold(0, u32::saturating_add)
}

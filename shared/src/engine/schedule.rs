//! How the lifecycle schedules its later messages: weekly progress updates, stalled-shipment
//! watches, win-back lapses, yearly occasions and engagement rewards.

use super::{Engine, EngineError, KnownRecords, Outcome, hours, occasion};
use crate::domain::{CustomerId, OrderId};
use crate::message::{MessageKey, MessageKind};
use crate::ports::{Bus, Clock, CustomerRecord, FollowUp, Mailer, OrderRecord, ShipmentRecord, Store, Subject};
use jiff::Timestamp;

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// The next message of a series, stored before this one is tried: the next weekly progress
    /// update while the order waits to ship, next year's birthday or anniversary. Returns the
    /// records it read, for the message being tried not to read them again.
    pub(super) async fn schedule_next(&self, due: &FollowUp) -> Result<(Option<Outcome>, KnownRecords), EngineError> {
        let timing = &self.config.timing;
        let mut known = KnownRecords::default();
        let next = match (&due.subject, due.key.kind()) {
            (Subject::Progress { order_id, nth }, _) if *nth < timing.order_progress_max_updates => {
                known.order = self.ports.store.order(order_id).await?;
                match &known.order {
                    Some(order)
                        if order.cancelled.is_none() && order.shipments.is_empty() && order.delivered_at.is_none() =>
                    {
                        self.schedule_progress(order, nth + 1).await?
                    }
                    _ => None,
                }
            }
            (Subject::Occasion { .. }, kind) => {
                known.customer = self.ports.store.customer(&due.customer_id).await?;
                match &known.customer {
                    // Asked from the end of this occasion's day, the next one is next year's.
                    Some(customer) => {
                        let after = due.expires_at.max(self.ports.clock.now());
                        self.schedule_occasion(customer, kind, after).await?
                    }
                    None => None,
                }
            }
            _ => None,
        };
        Ok((next, known))
    }

    /// Schedules next year's birthday or anniversary message (unless it is waiting already).
    pub(super) async fn schedule_occasion(
        &self,
        customer: &CustomerRecord,
        kind: MessageKind,
        after: Timestamp,
    ) -> Result<Option<Outcome>, EngineError> {
        let Some(follow_up) = self.occasion(customer, kind, after) else {
            return Ok(None);
        };
        if self.ports.store.follow_up(&follow_up.key).await?.as_ref() == Some(&follow_up) {
            return Ok(None);
        }
        self.ports.store.schedule(&follow_up).await?;
        Ok(Some(Outcome::scheduled(&follow_up)))
    }

    /// The next birthday or anniversary message after `after`, if the customer has the occasion.
    pub(super) fn occasion(&self, customer: &CustomerRecord, kind: MessageKind, after: Timestamp) -> Option<FollowUp> {
        let profile = &customer.profile;
        let tz = profile
            .time_zone
            .as_ref()
            .unwrap_or(&self.config.defaults.time_zone)
            .tz();
        let next = occasion::next(kind, profile, tz, self.config.timing.occasion_hour, after)?;
        Some(FollowUp {
            key: MessageKey::new(kind, profile.id.as_str(), &[&next.year.to_string()]),
            customer_id: profile.id.clone(),
            subject: Subject::Occasion { year: next.year },
            due_at: next.due,
            original_due: next.due,
            expires_at: next.expires,
            coupon_waiting_since: None,
        })
    }

    /// Schedules the `nth` weekly progress update of a made-to-order order.
    pub(super) async fn schedule_progress(
        &self,
        order: &OrderRecord,
        nth: u32,
    ) -> Result<Option<Outcome>, EngineError> {
        self.schedule(self.progress_follow_up(order, nth)).await
    }

    /// The `nth` weekly progress update of a made-to-order order, counted from its confirmation.
    pub(super) fn progress_follow_up(&self, order: &OrderRecord, nth: u32) -> FollowUp {
        let every = i64::from(self.config.timing.order_progress_every_days) * i64::from(nth);
        let due = order.confirmed_at + hours(24 * every);
        let subject = Subject::Progress {
            order_id: order.order.id.clone(),
            nth,
        };
        let key = MessageKey::new(MessageKind::OrderProgress, order.order.id.as_str(), &[&nth.to_string()]);
        self.follow_up(key, &order.order.customer.id, subject, due)
    }

    /// Grants the engagement reward when clicks in the window reach the threshold, at most once
    /// per reward period. Only scheduled here (due now): the customer step sends it, so the
    /// SES-events function needs no permission to send mail.
    pub(super) async fn reward_engagement(
        &self,
        customer: &CustomerId,
        at: Timestamp,
    ) -> Result<Option<Outcome>, EngineError> {
        let timing = &self.config.timing;
        let store = &self.ports.store;
        let window = hours(24 * i64::from(timing.engagement_window_days));
        let clicks = store.engagement(customer).await?.click_times;
        let recent = clicks.iter().filter(|t| **t > at - window && **t <= at).count();
        if recent < usize::try_from(timing.engagement_clicks).unwrap_or(usize::MAX) {
            return Ok(None);
        }
        let Some(mut record) = store.customer(customer).await? else {
            return Ok(None);
        };
        let every = hours(24 * i64::from(timing.engagement_reward_every_days));
        if record.engagement_rewarded_at.is_some_and(|last| last + every > at) {
            return Ok(None);
        }
        record.engagement_rewarded_at = Some(at);
        let day = at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date().to_string();
        let key = MessageKey::new(MessageKind::EngagementReward, customer.as_str(), &[&day]);
        let follow_up = self.follow_up(key, customer, Subject::Customer, at);
        // The mark and the reward in one write: a crash between them would leave the customer
        // rewarded without the reward, and the retry would see "rewarded" (found by issue 16's
        // fault run, seed 224 with 40 customers).
        store
            .save_together(&crate::ports::Changes {
                customer: Some(&record),
                follow_ups: std::slice::from_ref(&follow_up),
                ..crate::ports::Changes::default()
            })
            .await?;
        Ok(Some(Outcome::scheduled(&follow_up)))
    }

    /// The "we're checking on it" message for a shipment that gets no scan after its `scans`-th
    /// one, and the older one it replaces: any later scan starts a new wait.
    pub(super) fn stall_watch(
        &self,
        order: &OrderRecord,
        shipment: &ShipmentRecord,
        scans: u32,
        at: Timestamp,
    ) -> (FollowUp, Option<MessageKey>) {
        let order_id = &order.order.id;
        let previous = scans
            .checked_sub(1)
            .map(|previous| shipment.key(MessageKind::ShipmentStalled, order_id, &[&previous.to_string()]));
        let due = at + hours(24 * i64::from(self.config.timing.shipment_stalled_after_days));
        let key = shipment.key(MessageKind::ShipmentStalled, order_id, &[&scans.to_string()]);
        let subject = Subject::Stall {
            order_id: order_id.clone(),
            shipment_id: shipment.shipment.id.clone(),
            scans,
        };
        (self.follow_up(key, &order.order.customer.id, subject, due), previous)
    }

    /// Schedules the win-back for a lapse since `order` (or the signup), once per lapse.
    pub(super) async fn schedule_win_back(
        &self,
        customer: &CustomerRecord,
        order: Option<&OrderId>,
        since: Timestamp,
    ) -> Result<Option<Outcome>, EngineError> {
        self.schedule(self.lapse_from(customer, order, since)).await
    }

    /// The win-back follow-up for a lapse since `order` (or the signup when none).
    pub(super) fn lapse_from(&self, customer: &CustomerRecord, order: Option<&OrderId>, since: Timestamp) -> FollowUp {
        let id = &customer.profile.id;
        let qualifier = order.map_or("signup", OrderId::as_str);
        let key = MessageKey::new(MessageKind::WinBack, id.as_str(), &[qualifier]);
        let subject = Subject::Lapse {
            order_id: order.cloned(),
            since,
            orders: customer.orders_confirmed,
        };
        let due = (since + hours(24 * i64::from(self.config.timing.win_back_after_days))).max(self.ports.clock.now());
        self.follow_up(key, id, subject, due)
    }
}

//! The promises checked on a run's outcome, against a fault-free run of the same history.

use super::history::History;
use super::world::World;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use tidings_core::engine::SkipReason;
use tidings_core::message::{Category, MessageKey};
use tidings_core::ports::Store;

/// A run's figures and whatever broke a promise.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// Store events in the history.
    pub events: usize,
    /// Deliveries of events to functions (SES reports, follow-ups due, duplicates, retries and
    /// redrives included).
    pub deliveries: u64,
    /// Invocations (deliveries, unsubscribe clicks).
    pub invocations: u64,
    /// Faults injected into port calls.
    pub faults: super::FaultCounts,
    /// Messages SES accepted.
    pub sends: usize,
    /// Messages the fault-free run sent.
    pub expected: usize,
    /// Transactional messages sent a second time because SES's answer and report were both
    /// missing when the claim was taken back (`recovered`), counted.
    pub recovered: usize,
    /// Messages of the fault-free run recorded as failed (rejected by SES).
    pub failed: usize,
    /// Messages of the fault-free run whose outcome is unknown (SES's answer lost, not resent).
    pub unknown: usize,
    /// Messages of the fault-free run not sent for a reason the later processing gave (the
    /// reason, how many).
    pub differ: BTreeMap<String, usize>,
    /// Messages of the fault-free run still waiting at the end (deferred past it).
    pub waiting: usize,
    /// Messages of the fault-free run with no trace: sent nowhere, recorded nowhere.
    pub lost: Vec<String>,
    /// Every broken promise.
    pub violations: Vec<String>,
    /// The invocations that touched what was lost or broken, to tell the story.
    pub story: Vec<String>,
    /// The same in the fault-free run.
    pub reference_story: Vec<String>,
    /// Messages SES accepted, by kind.
    pub sent_by_kind: BTreeMap<String, usize>,
    /// From the history's first event to the last order confirmation SES accepted.
    pub confirmations_drained: Option<jiff::SignedDuration>,
    /// The report from the counters the run's store kept.
    pub counted: tidings_core::report::Report,
    /// The same from the fault-free run's store.
    pub counted_reference: tidings_core::report::Report,
}

impl Report {
    /// Whether every promise held.
    pub fn holds(&self) -> bool {
        self.violations.is_empty() && self.lost.is_empty()
    }

    /// Panics unless every promise held, telling the story of what broke.
    pub fn assert_holds(&self) {
        assert!(self.holds(), "{}", self.failure());
    }

    /// The figures, what was lost or broken, and the story.
    pub fn failure(&self) -> String {
        format!(
            "{self}\nlost: {:#?}\nviolations: {:#?}\nstory:\n{}\nthe fault-free run's:\n{}",
            self.lost,
            self.violations,
            self.story.join("\n"),
            self.reference_story.join("\n")
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed {}: {} store events, {} deliveries, {} invocations, {} faults, {} sends \
             (fault-free: {}), duplicates 0 + {} recovered, lost {}, failed {}, unknown {}, waiting {}, \
             later-decided {}, violations {}",
            self.seed,
            self.events,
            self.deliveries,
            self.invocations,
            self.faults.injected(),
            self.sends,
            self.expected,
            self.recovered,
            self.lost.len(),
            self.failed,
            self.unknown,
            self.waiting,
            self.differ.values().sum::<usize>(),
            self.violations.len()
        )
    }
}

/// What a revoking event, once its invocation returned, forbids from then on.
#[derive(Default)]
struct Revocations {
    /// Address (lowercased) → step after which nothing may be claimed for it.
    suppressed: BTreeMap<String, u64>,
    erased: BTreeMap<String, u64>,
    /// Address → step after which no marketing may be claimed for it.
    opted_out: BTreeMap<String, u64>,
    /// Customer id → step after which no marketing may be claimed for them.
    withdrawn: BTreeMap<String, u64>,
}

impl Revocations {
    fn of<S: Store>(world: &World<S>, history: &History) -> Self {
        let mut known = Self::default();
        let first = |map: &mut BTreeMap<String, u64>, key: String, step: u64| {
            map.entry(key).or_insert(step);
        };
        let address_of = |id: &str| history.people.iter().find(|p| p.id == id).map(|p| p.email.clone());
        for done in &world.log.completed {
            if let Some(customer) = &done.unsubscribed
                && let Some(address) = address_of(customer.as_str())
            {
                first(&mut known.opted_out, address, done.step);
            }
            let Some(envelope) = &done.envelope else { continue };
            let detail = &envelope["detail"];
            match envelope["detail-type"].as_str().unwrap_or_default() {
                "CustomerUpdated" if detail["customer"]["marketing_consent"] == false => {
                    let id = detail["customer"]["id"].as_str().unwrap_or_default().to_owned();
                    first(&mut known.withdrawn, id, done.step);
                }
                "CustomerRedacted" => {
                    let address = detail["email"].as_str().unwrap_or_default().to_lowercase();
                    first(&mut known.erased, address, done.step);
                }
                "Email Bounced" | "Email Complaint Received" => {
                    for list in ["bounce", "complaint"] {
                        let field = format!("{}Recipients", if list == "bounce" { "bounced" } else { "complained" });
                        for r in detail[list][field.as_str()].as_array().into_iter().flatten() {
                            let address = r["emailAddress"].as_str().unwrap_or_default().to_lowercase();
                            first(&mut known.suppressed, address, done.step);
                        }
                    }
                }
                _ => {}
            }
        }
        known
    }
}

/// Checks `world` (the run under faults) against `reference` (the same history without faults).
pub(super) async fn check<S: Store + super::Expiring + super::Alarmed, R: Store + super::Expiring + super::Alarmed>(
    seed: u64,
    history: &History,
    world: &World<S>,
    reference: &World<R>,
) -> Report {
    let mut report = Report {
        seed,
        events: history.events.len(),
        deliveries: world.log.deliveries,
        invocations: world.log.invocations,
        faults: world.plan.counts(),
        ..Report::default()
    };
    report.violations.extend(world.log.poisoned.iter().cloned());
    let accepted = world.ses.accepted();
    report.sends = accepted.len();
    for message in &accepted {
        *report.sent_by_kind.entry(message.email.kind.to_string()).or_default() += 1;
    }
    let first = history.events.first().map(|e| e.at);
    let last = accepted
        .iter()
        .filter(|m| m.email.kind == tidings_core::message::MessageKind::OrderConfirmation)
        .map(|m| m.at)
        .max();
    report.confirmations_drained = first.zip(last).map(|(first, last)| last.duration_since(first));
    let recovered = world.engine.store().recovered();

    // No message reaches SES twice, except a transactional one taken back as `recovered`.
    let mut times: BTreeMap<&MessageKey, usize> = BTreeMap::new();
    for message in &accepted {
        *times.entry(&message.email.key).or_default() += 1;
    }
    for (key, n) in &times {
        let transactional = key.kind().category() == Category::Transactional;
        match (*n, recovered.contains(*key) && transactional) {
            (1, _) => {}
            (_, true) => report.recovered += n - 1,
            (n, false) => report.violations.push(format!("{key} reached SES {n} times")),
        }
    }

    // Nothing to an address after its bounce, complaint or erasure; no marketing after an
    // unsubscribe or a withdrawn consent, nor to anyone who never consented. A message claimed
    // before the revoking event returned may still go.
    let revoked = Revocations::of(world, history);
    let claims = world.engine.store().claim_steps();
    for message in &accepted {
        let email = &message.email;
        let address = email.to.as_str().to_lowercase();
        let claimed = claims.get(&email.key).copied().unwrap_or(message.step);
        let after = |map: &BTreeMap<String, u64>, key: &str| map.get(key).is_some_and(|step| *step < claimed);
        let key = &email.key;
        if after(&revoked.suppressed, &address) {
            report.violations.push(format!("{key} sent to a suppressed address"));
        }
        if after(&revoked.erased, &address) {
            report.violations.push(format!("{key} sent to an erased address"));
        }
        if email.category == Category::Marketing {
            let person = history.people.iter().find(|p| p.email == address);
            if person.is_some_and(|p| !p.consented) {
                report
                    .violations
                    .push(format!("{key} is marketing to a customer who never consented"));
            }
            if after(&revoked.opted_out, &address) {
                report
                    .violations
                    .push(format!("{key} is marketing after the address unsubscribed"));
            }
            if after(&revoked.withdrawn, email.customer_id.as_str()) {
                report
                    .violations
                    .push(format!("{key} is marketing after consent was withdrawn"));
            }
        }
    }

    // Erased stays erased: nothing of the customer is left, whatever arrived after.
    let store = world.engine.store().inner();
    for person in history.people.iter().filter(|p| p.erased) {
        if !revoked.erased.contains_key(&person.email) {
            report
                .violations
                .push(format!("the erasure of {} never completed", person.id));
            continue;
        }
        let id = tidings_core::domain::CustomerId::parse(&person.id).expect("id");
        if store.customer(&id).await.expect("store").is_some() {
            report
                .violations
                .push(format!("{} is stored again after the erasure", person.id));
        }
        if store.ledger(&id, None).await.expect("store").version > 0 {
            report
                .violations
                .push(format!("{} has a report ledger after the erasure", person.id));
        }
        if !store.follow_ups_of(&id).await.expect("store").is_empty() {
            report
                .violations
                .push(format!("{} has follow-ups after the erasure", person.id));
        }
        for order in &person.orders {
            let order = tidings_core::domain::OrderId::parse(order).expect("id");
            if store.order(&order).await.expect("store").is_some() {
                report
                    .violations
                    .push(format!("order {order} is stored again after the erasure"));
            }
        }
    }

    // Every message the fault-free run sent was sent, or is recorded with why not.
    let sent: BTreeSet<&MessageKey> = times.keys().copied().collect();
    let waiting: BTreeSet<MessageKey> = world.waiting().await.into_iter().map(|f| f.key).collect();
    let expected: BTreeMap<MessageKey, String> = reference
        .ses
        .accepted()
        .into_iter()
        .map(|m| (m.email.key, m.email.customer_id.as_str().to_owned()))
        .collect();
    report.expected = expected.len();
    let dropped = world.engine.store().dropped();
    let erased: BTreeSet<&str> = history
        .people
        .iter()
        .filter(|p| p.erased)
        .map(|p| p.id.as_str())
        .collect();
    // Clicks come from what each run sent: a reward for clicks may be due in one run only.
    let clicks = |accepted: &[super::Accepted]| {
        let mut per: BTreeMap<String, usize> = BTreeMap::new();
        for message in accepted.iter().filter(|m| super::reaction::clicked(seed, m)) {
            *per.entry(message.email.customer_id.as_str().to_owned()).or_default() += 1;
        }
        per
    };
    let (clicked, clicked_before) = (clicks(&accepted), clicks(&reference.ses.accepted()));
    for (key, customer) in &expected {
        if sent.contains(key) {
            continue;
        }
        let fewer_clicks =
            clicked.get(customer).copied().unwrap_or(0) < clicked_before.get(customer).copied().unwrap_or(0);
        if key.kind() == tidings_core::message::MessageKind::EngagementReward {
            // Keyed by the day of the click that earned it: clicks at other times earn it on
            // another day, or (fewer of them) not at all; and a reward earned on another day
            // than in the fault-free run is called off by an unsubscribe that came before it
            // (seed 1058 of the long run).
            let rewarded = accepted
                .iter()
                .any(|m| m.email.kind == key.kind() && m.email.customer_id.as_str() == customer.as_str());
            let opted_out = history
                .people
                .iter()
                .find(|p| p.id == customer.as_str())
                .is_some_and(|p| revoked.opted_out.contains_key(&p.email));
            if rewarded || fewer_clicks || opted_out {
                let why = match (rewarded, fewer_clicks) {
                    (true, _) => "RewardedAnotherDay",
                    (false, true) => "FewerClicks",
                    (false, false) => "RewardCalledOffByAnUnsubscribe",
                };
                *report.differ.entry(why.into()).or_default() += 1;
                continue;
            }
        }
        let failed = world.log.failed.get(key);
        match (failed, world.log.skipped.get(key)) {
            (Some(reason), _) if reason.starts_with("outcome unknown") => report.unknown += 1,
            (Some(_), _) | (None, Some(SkipReason::AlreadyFailed)) => report.failed += 1,
            (None, Some(SkipReason::OutcomeUnknown)) => report.unknown += 1,
            // Skipped as sent or taken over, yet SES never had it: lost.
            (None, Some(SkipReason::AlreadySent | SkipReason::TakenOver)) => report.lost.push(key.to_string()),
            (None, Some(reason)) => *report.differ.entry(reason_name(reason)).or_default() += 1,
            (None, None) if waiting.contains(key) => report.waiting += 1,
            // Marketing a later event called off (an unsubscribe, an order, a withdrawn consent).
            (None, None) if dropped.contains(key) && key.kind().category() == Category::Marketing => {
                *report.differ.entry("CalledOff".into()).or_default() += 1;
            }
            (None, None) if erased.contains(customer.as_str()) => {
                *report.differ.entry("Erased".into()).or_default() += 1;
            }
            (None, None) => report.lost.push(key.to_string()),
        }
    }

    // The queue at the end: nothing due is left behind, and nothing sent is still waiting.
    let end = world.end();
    for follow_up in world.waiting().await {
        if follow_up.due_at <= end - jiff::SignedDuration::from_hours(1) {
            report.violations.push(format!(
                "{} was due at {} and never fired",
                follow_up.key, follow_up.due_at
            ));
        }
        if sent.contains(&follow_up.key) {
            report
                .violations
                .push(format!("{} is still queued after it was sent", follow_up.key));
        }
    }
    // And a follow-up the fault-free run still has waiting is waiting here too, or was settled.
    for follow_up in reference.waiting().await {
        let key = &follow_up.key;
        let settled = sent.contains(key) || world.log.skipped.contains_key(key) || world.log.failed.contains_key(key);
        if !settled && !waiting.contains(key) {
            report.lost.push(format!("{key} (waiting in the fault-free run)"));
        }
    }
    // The report's counters count a message once however often its report came (a crash can
    // only lose a count), and nothing the run did not send.
    report.counted = counted(world).await;
    report.counted_reference = counted(reference).await;
    let mut distinct: BTreeMap<tidings_core::message::MessageKind, BTreeSet<&MessageKey>> = BTreeMap::new();
    for message in &accepted {
        distinct
            .entry(message.email.kind)
            .or_default()
            .insert(&message.email.key);
    }
    for (kind, counts) in &report.counted.kinds {
        let sent = distinct.get(kind).map_or(0, BTreeSet::len) as u64;
        if counts.sent > sent {
            report.violations.push(format!(
                "{kind}: the report counts {} sent, SES accepted {sent}",
                counts.sent
            ));
        }
    }
    report.story = story(world, &report);
    report.reference_story = story(reference, &report);
    report
}

/// The report a run's store kept.
async fn counted<S: Store>(world: &World<S>) -> tidings_core::report::Report {
    let counters = world.engine.store().inner().counters().await.expect("counters");
    tidings_core::report::Report::from_counters(&counters, tidings_core::report::DEFAULT_WINDOW_DAYS)
}

/// The invocations whose line names a lost or broken message's key (its subject at least).
fn story<T: Store + super::Expiring + super::Alarmed>(world: &World<T>, report: &Report) -> Vec<String> {
    let subjects: BTreeSet<String> = report
        .lost
        .iter()
        .chain(&report.violations)
        .filter_map(|line| line.split([' ', '#']).nth(1).map(str::to_owned))
        .collect();
    world
        .log
        .trail
        .iter()
        .filter(|line| subjects.iter().any(|s| line.contains(s.as_str())))
        .cloned()
        .collect()
}

/// A skip reason's name without its times.
fn reason_name(reason: &SkipReason) -> String {
    let text = format!("{reason:?}");
    text.split([' ', '{', '(']).next().unwrap_or_default().to_owned()
}

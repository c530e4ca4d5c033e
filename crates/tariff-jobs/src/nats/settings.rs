//! The settings of each stream, bucket, object store and the consumer that the
//! services own, made to hold on every start. JetStream keeps what it made as
//! it was made, so without this a flag changed later (`--nats-replicas 3` after
//! NATS grew from one server to three, a new byte limit, TTL or ack wait)
//! would silently not apply to what already exists.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, consumer::pull, stream};

use super::{NatsConfig, Store, limits};
use crate::JobsError;

/// Sets `store` to the configured settings, logging each change at info.
///
/// The replicas (and the records bucket's republish, which watchers rely on)
/// must hold: when NATS refuses them the service does not start, with one line
/// naming the stream, what it has and what is configured. The byte limit,
/// discard policy, TTL and duplicate window are kept as they were on refusal,
/// with a warning: the stores still work, only not as configured.
pub(crate) async fn ensure_settings(
    js: &jetstream::Context,
    config: &NatsConfig,
    store: Store,
) -> Result<(), JobsError> {
    let name = store.stream_name(config);
    let mut stream = js.get_stream(&name).await.map_err(JobsError::unavailable)?;
    let mut current = stream.info().await.map_err(JobsError::unavailable)?.config.clone();
    // The limits first: a replica added reserves the stream's max_bytes on its
    // server, so a limit being lowered should be lowered before that.
    let limited = with_limits(store, config, current.clone());
    let changes = differences(&current, &limited);
    if !changes.is_empty() {
        match js.update_stream(limited.clone()).await {
            Ok(_) => {
                log_changes(&format!("stream {name}"), &changes);
                current = limited;
            }
            Err(e) => kept(&format!("stream {name}"), &changes, &e),
        }
    }
    let wanted = with_required(store, config, current.clone());
    let changes = differences(&current, &wanted);
    if changes.is_empty() {
        return Ok(());
    }
    if let Err(e) = js.update_stream(wanted).await {
        return Err(if current.num_replicas == config.replicas {
            JobsError::Store(format!(
                "stream {name} republishes {}, configured {}, and NATS refused to change it: {}",
                shown(current.republish.as_ref()),
                shown(Some(&republish(config))),
                one_line(&e),
            ))
        } else {
            replicas_refused(&format!("stream {name}"), current.num_replicas, config.replicas, &e)
        });
    }
    log_changes(&format!("stream {name}"), &changes);
    if config.replicas < current.num_replicas {
        tracing::warn!(
            stream = %name,
            from = current.num_replicas,
            to = config.replicas,
            "fewer copies of the stream now: give every service the same --nats-replicas"
        );
    }
    Ok(())
}

/// `current` with the byte limit, discard policy, TTL and duplicate window
/// the services make the store with (`setup`).
fn with_limits(store: Store, config: &NatsConfig, current: stream::Config) -> stream::Config {
    let max_age = match store {
        Store::Jobs => current.max_age,
        Store::Records | Store::Results => config.record_ttl,
        Store::DeadLetters => config.record_ttl * 7,
        // Kept until deleted.
        Store::Datasets => Duration::ZERO,
    };
    let duplicate_window =
        if store == Store::Jobs { config.duplicate_window } else { current.duplicate_window };
    stream::Config {
        max_bytes: store.max_bytes(config),
        discard: limits::discard_policy(store),
        max_age,
        duplicate_window,
        ..current
    }
}

/// `current` with the configured replicas, and the records bucket's republish.
fn with_required(store: Store, config: &NatsConfig, current: stream::Config) -> stream::Config {
    let republish = if store == Store::Records { Some(republish(config)) } else { current.republish.clone() };
    stream::Config { num_replicas: config.replicas, republish, ..current }
}

/// Every stored record goes out on `<updates_subject_prefix>.<job id>`, which
/// is what watchers subscribe to.
pub(crate) fn republish(config: &NatsConfig) -> stream::Republish {
    stream::Republish {
        source: format!("$KV.{}.>", config.bucket),
        destination: format!("{}.>", config.updates_subject_prefix),
        headers_only: false,
    }
}

/// The durable consumer as the services make it.
pub(crate) fn consumer_config(config: &NatsConfig) -> pull::Config {
    pull::Config {
        durable_name: Some(config.consumer.clone()),
        filter_subject: format!("{}.>", config.subject_prefix),
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: config.ack_wait,
        max_deliver: config.max_deliver,
        backoff: backoff(config),
        max_ack_pending: config.max_ack_pending,
        ..Default::default()
    }
}

/// JetStream uses the backoff list as the ack wait of each successive delivery,
/// in place of ack_wait: an entry shorter than ack_wait would redeliver a job
/// whose worker is alive and sending in-progress acks on the ack_wait rhythm.
fn backoff(config: &NatsConfig) -> Vec<Duration> {
    config
        .backoff
        .iter()
        .map(|delay| (*delay).max(config.ack_wait))
        .take(usize::try_from(config.max_deliver).unwrap_or(0))
        .collect()
}

/// Sets the durable consumer to the configured delivery settings and replicas,
/// on the same terms as [`ensure_settings`]. JetStream does not carry a
/// consumer along when its stream gets more replicas, and a consumer left on
/// one server stops every worker when that server goes.
pub(crate) async fn ensure_consumer(js: &jetstream::Context, config: &NatsConfig) -> Result<(), JobsError> {
    let jobs = js.get_stream(&config.stream).await.map_err(JobsError::unavailable)?;
    let info = jobs.consumer_info(&config.consumer).await.map_err(JobsError::unavailable)?;
    let name = format!("consumer {} of stream {}", config.consumer, config.stream);
    let mut current = info.config.clone();
    let delivery = with_delivery(config, current.clone());
    let changes = delivery_differences(&current, &delivery);
    if !changes.is_empty() {
        match jobs.update_consumer(delivery.clone()).await {
            Ok(_) => {
                log_changes(&name, &changes);
                current = delivery;
            }
            Err(e) => kept(&name, &changes, &e),
        }
    }
    // Made with 0 replicas (its stream's count then), so count what it has.
    let replicas = info.cluster.as_ref().map_or(1, |cluster| cluster.replicas.len() + 1);
    if replicas == config.replicas {
        return Ok(());
    }
    let wanted = consumer::Config { num_replicas: config.replicas, ..current };
    if let Err(e) = jobs.update_consumer(wanted).await {
        return Err(replicas_refused(&name, replicas, config.replicas, &e));
    }
    let change =
        Change { setting: "num_replicas", from: replicas.to_string(), to: config.replicas.to_string() };
    log_changes(&name, &[change]);
    Ok(())
}

/// `current` with the delivery settings the services make the consumer with.
fn with_delivery(config: &NatsConfig, current: consumer::Config) -> consumer::Config {
    let made = consumer_config(config);
    consumer::Config {
        ack_wait: made.ack_wait,
        max_deliver: made.max_deliver,
        backoff: made.backoff,
        max_ack_pending: made.max_ack_pending,
        ..current
    }
}

/// One setting that differs, as the log shows it.
#[derive(Debug, PartialEq)]
struct Change {
    setting: &'static str,
    from: String,
    to: String,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} from {} to {}", self.setting, self.from, self.to)
    }
}

fn note(changes: &mut Vec<Change>, setting: &'static str, from: String, to: String) {
    if from != to {
        changes.push(Change { setting, from, to });
    }
}

/// The stream's owned settings in which `to` differs from `from`.
fn differences(from: &stream::Config, to: &stream::Config) -> Vec<Change> {
    let mut changes = Vec::new();
    note(&mut changes, "num_replicas", from.num_replicas.to_string(), to.num_replicas.to_string());
    note(&mut changes, "max_bytes", from.max_bytes.to_string(), to.max_bytes.to_string());
    note(&mut changes, "discard", format!("{:?}", from.discard), format!("{:?}", to.discard));
    note(&mut changes, "max_age", duration(from.max_age), duration(to.max_age));
    note(&mut changes, "duplicate_window", duration(from.duplicate_window), duration(to.duplicate_window));
    note(&mut changes, "republish", shown(from.republish.as_ref()), shown(to.republish.as_ref()));
    changes
}

/// The consumer's owned settings in which `to` differs from `from`.
fn delivery_differences(from: &consumer::Config, to: &consumer::Config) -> Vec<Change> {
    let mut changes = Vec::new();
    note(&mut changes, "ack_wait", duration(from.ack_wait), duration(to.ack_wait));
    note(&mut changes, "max_deliver", from.max_deliver.to_string(), to.max_deliver.to_string());
    note(&mut changes, "backoff", durations(&from.backoff), durations(&to.backoff));
    note(&mut changes, "max_ack_pending", from.max_ack_pending.to_string(), to.max_ack_pending.to_string());
    changes
}

fn duration(d: Duration) -> String {
    if d.is_zero() { "none".to_owned() } else { humantime::format_duration(d).to_string() }
}

fn durations(list: &[Duration]) -> String {
    let shown: Vec<String> = list.iter().map(|d| duration(*d)).collect();
    format!("[{}]", shown.join(", "))
}

fn shown(republish: Option<&stream::Republish>) -> String {
    republish.map_or_else(|| "none".to_owned(), |r| format!("{} -> {}", r.source, r.destination))
}

fn log_changes(what: &str, changes: &[Change]) {
    for change in changes {
        tracing::info!(store = %what, setting = change.setting, from = %change.from, to = %change.to, "setting changed");
    }
}

fn kept(what: &str, changes: &[Change], error: &dyn std::fmt::Display) {
    let wanted: Vec<String> = changes.iter().map(Change::to_string).collect();
    tracing::warn!(store = %what, wanted = %wanted.join(", "), error = %error, "NATS kept the settings as they were");
}

/// The one line a service stops on when NATS will not take the replicas:
/// what it is, what it has, what is configured, and why.
fn replicas_refused(
    what: &str,
    actual: usize,
    configured: usize,
    error: &dyn std::fmt::Display,
) -> JobsError {
    JobsError::Store(format!(
        "{what} has {actual} replicas, configured {configured} (--nats-replicas, TARIFF_NATS_REPLICAS), \
         and NATS refused to change it: {}",
        one_line(error),
    ))
}

fn one_line(error: &dyn std::fmt::Display) -> String {
    error.to_string().replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made_with(replicas: usize) -> stream::Config {
        let config = NatsConfig { replicas, ..NatsConfig::default() };
        let made = stream::Config { name: "KV_TARIFF_JOBS_STATE".into(), ..Default::default() };
        with_required(Store::Records, &config, with_limits(Store::Records, &config, made))
    }

    #[test]
    fn a_store_as_configured_needs_no_change() {
        let config = NatsConfig::default();
        let made = made_with(1);
        assert_eq!(differences(&made, &with_limits(Store::Records, &config, made.clone())), []);
        assert_eq!(differences(&made, &with_required(Store::Records, &config, made.clone())), []);
    }

    #[test]
    fn more_replicas_are_one_change_from_what_to_what() {
        let config = NatsConfig { replicas: 3, ..NatsConfig::default() };
        let made = made_with(1);
        assert_eq!(differences(&made, &with_limits(Store::Records, &config, made.clone())), []);
        let changes = differences(&made, &with_required(Store::Records, &config, made.clone()));
        assert_eq!(changes.iter().map(Change::to_string).collect::<Vec<_>>(), ["num_replicas from 1 to 3"]);
    }

    #[test]
    fn a_new_ack_wait_reaches_the_consumer_and_its_backoff() {
        let config = NatsConfig::default();
        let made = with_delivery(&config, consumer::Config::default());
        assert_eq!(delivery_differences(&made, &with_delivery(&config, made.clone())), []);
        let longer = NatsConfig { ack_wait: Duration::from_secs(45), ..config };
        let changes: Vec<String> = delivery_differences(&made, &with_delivery(&longer, made.clone()))
            .iter()
            .map(Change::to_string)
            .collect();
        assert_eq!(changes, ["ack_wait from 30s to 45s", "backoff from [30s, 1m, 2m] to [45s, 1m, 2m]"]);
    }

    #[test]
    fn a_refusal_is_one_line_with_the_stream_and_both_counts() {
        let message =
            replicas_refused("stream KV_TARIFF_JOBS_STATE", 3, 5, &"insufficient resources\n(10023)")
                .to_string();
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains("stream KV_TARIFF_JOBS_STATE has 3 replicas, configured 5"), "{message}");
        assert!(message.contains("--nats-replicas"), "{message}");
    }
}

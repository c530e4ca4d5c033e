//! Which OpenTelemetry exporters the standard `OTEL_*` variables ask for.
//!
//! Export is off unless asked for: a signal is exported over OTLP when an
//! endpoint is set for it (`OTEL_EXPORTER_OTLP_ENDPOINT` or the signal's own
//! `OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT`) or its exporter variable
//! says `otlp` explicitly; `OTEL_{TRACES,METRICS}_EXPORTER=none` and
//! `OTEL_SDK_DISABLED=true` turn it off whatever else is set. The exporters
//! themselves read the rest (endpoint, headers, timeout, compression,
//! temporality, batch and interval settings).

/// What the environment asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ExportPlan {
    pub(crate) traces: bool,
    pub(crate) metrics: bool,
    /// Settings that were not understood, one sentence each, for a warning at start.
    pub(crate) warnings: Vec<String>,
}

/// One signal's variables.
struct Signal {
    exporter_var: &'static str,
    endpoint_var: &'static str,
    protocol_var: &'static str,
}

const TRACES: Signal = Signal {
    exporter_var: "OTEL_TRACES_EXPORTER",
    endpoint_var: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    protocol_var: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
};

const METRICS: Signal = Signal {
    exporter_var: "OTEL_METRICS_EXPORTER",
    endpoint_var: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    protocol_var: "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
};

impl ExportPlan {
    /// The plan for the process environment.
    pub(crate) fn from_env() -> ExportPlan {
        ExportPlan::from_lookup(|name| std::env::var(name).ok())
    }

    /// The plan for any variable source (tests pass a map).
    pub(crate) fn from_lookup(var: impl Fn(&str) -> Option<String>) -> ExportPlan {
        let set = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut plan = ExportPlan::default();
        if set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return plan;
        }
        let general_endpoint = set("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
        let general_protocol = set("OTEL_EXPORTER_OTLP_PROTOCOL");
        let mut decide = |signal: &Signal| -> bool {
            let exporters: Vec<String> = set(signal.exporter_var)
                .map(|v| v.split(',').map(|e| e.trim().to_ascii_lowercase()).collect())
                .unwrap_or_default();
            if exporters.iter().any(|e| e == "none") {
                return false;
            }
            let explicit_otlp = exporters.iter().any(|e| e == "otlp");
            for other in exporters.iter().filter(|e| *e != "otlp" && !e.is_empty()) {
                plan.warnings.push(format!(
                    "{}={other} is not supported (only `otlp` and `none`); ignoring it",
                    signal.exporter_var
                ));
            }
            let on = explicit_otlp || general_endpoint || set(signal.endpoint_var).is_some();
            if on {
                let protocol = set(signal.protocol_var).or_else(|| general_protocol.clone());
                if let Some(protocol) = protocol.filter(|p| !p.eq_ignore_ascii_case("grpc")) {
                    plan.warnings.push(format!(
                        "OTLP protocol `{protocol}` is not built in; exporting over gRPC (port 4317 by default)"
                    ));
                }
            }
            on
        };
        plan.traces = decide(&TRACES);
        plan.metrics = decide(&METRICS);
        plan.warnings.dedup();
        plan
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn plan(vars: &[(&str, &str)]) -> ExportPlan {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        ExportPlan::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn nothing_set_exports_nothing_and_says_nothing() {
        assert_eq!(plan(&[]), ExportPlan::default());
    }

    #[test]
    fn an_endpoint_turns_both_signals_on() {
        let p = plan(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")]);
        assert!(p.traces && p.metrics && p.warnings.is_empty());
    }

    #[test]
    fn a_signal_endpoint_turns_only_that_signal_on() {
        let p = plan(&[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://collector:4317")]);
        assert!(!p.traces && p.metrics);
    }

    #[test]
    fn none_and_sdk_disabled_win() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317");
        let p = plan(&[endpoint, ("OTEL_TRACES_EXPORTER", "none")]);
        assert!(!p.traces && p.metrics);
        let p = plan(&[endpoint, ("OTEL_SDK_DISABLED", "TRUE")]);
        assert!(!p.traces && !p.metrics);
    }

    #[test]
    fn explicit_otlp_uses_the_default_endpoint() {
        let p = plan(&[("OTEL_TRACES_EXPORTER", "otlp")]);
        assert!(p.traces && !p.metrics);
    }

    #[test]
    fn unknown_exporters_and_protocols_are_warned_about() {
        let p = plan(&[
            ("OTEL_TRACES_EXPORTER", "zipkin"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ]);
        assert!(p.traces && p.metrics);
        assert!(p.warnings.iter().any(|w| w.contains("zipkin")), "{:?}", p.warnings);
        assert!(p.warnings.iter().any(|w| w.contains("http/protobuf")), "{:?}", p.warnings);
    }
}

//! An uploaded dataset through the real stack: tariffctl synthesises a dataset
//! folder and uploads it to a gateway on NATS, two workers compute on it, and
//! the result (SUMMARY view, then every flow, whole and in pages, and
//! filtered) is the one `tariffctl run` gives on the same folder; the same
//! with the job split by sector across the two workers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{path::PathBuf, process::Command};

use tariff_e2e::{Stack, WorkerHandle, every_step, wait_until_done};
use tariff_proto::v1::{
    FlowFilter, GetJobRequest, GetResultFlowsRequest, ResultFlow, ResultOptions, ResultView, ScenarioResult,
    SubmitScenarioRequest, scenario_service_client::ScenarioServiceClient,
};

/// A workspace binary next to this test's own directory (target/<profile>/).
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(|deps| deps.parent()).unwrap().join(name);
    assert!(path.exists(), "{} is missing: build it with `cargo build --workspace --bins`", path.display());
    path
}

fn tariffctl(args: &[&str]) -> String {
    let out = Command::new(binary("tariffctl")).args(args).output().unwrap();
    assert!(out.status.success(), "tariffctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

const SCENARIO: &str = r#"{"id": "e001-plus-20", "dataset": "synth-e2e",
  "measures": [{"id": "m", "authority": "OTHER", "importer": "E001", "exporters": ["*"], "sectors": ["*"], "mode": "ADD", "rate_pct": 20}]}"#;

fn parse(json: &str) -> ScenarioResult {
    tariff_proto::json::from_json(json).unwrap()
}

// tariffctl runs as a blocking child process: the gateway and workers need
// threads of their own meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_uploaded_dataset_gives_what_tariffctl_run_gives_on_its_folder() {
    round_trip(tariff_worker::DEFAULT_SPLIT_FLOWS).await;
}

/// About 7,000 flows in chunks of at most 1,000 flow solves: eight or more
/// chunks, which either worker computes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_split_by_sector_gives_what_tariffctl_run_gives() {
    round_trip(1_000).await;
}

fn flows_of(result: &ScenarioResult) -> Vec<ResultFlow> {
    result
        .impacts
        .iter()
        .flat_map(|i| {
            i.sectors.iter().flat_map(move |s| {
                s.flows.iter().map(move |f| ResultFlow {
                    date: i.date.clone(),
                    sector: s.sector.clone(),
                    flow: Some(f.clone()),
                })
            })
        })
        .collect()
}

async fn all_pages(
    client: &mut ScenarioServiceClient<tonic::transport::Channel>,
    job_id: &str,
    filter: Option<FlowFilter>,
    expected_total: u64,
) -> Vec<ResultFlow> {
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .get_result_flows(GetResultFlowsRequest {
                job_id: job_id.to_owned(),
                page_size: 2_000,
                page_token: token,
                filter: filter.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.total_flows, expected_total);
        paged.extend(page.flows);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    paged
}

async fn round_trip(split_flows: u64) {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let _workers = [
        WorkerHandle::start_splitting(config.clone(), every_step(), split_flows).await,
        WorkerHandle::start_splitting(config, every_step(), split_flows).await,
    ];
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("synth");
    let folder_arg = folder.to_str().unwrap();
    tariffctl(&[
        "dataset",
        "synth",
        "--economies",
        "24",
        "--sectors",
        "60",
        "--density",
        "0.2",
        "--seed",
        "7",
        "--id",
        "synth-e2e",
        "--out",
        folder_arg,
    ]);
    let scenario_file = tmp.path().join("scenario.json");
    std::fs::write(&scenario_file, SCENARIO).unwrap();
    let scenario_arg = scenario_file.to_str().unwrap();
    let remote = format!("http://{}", gateway.address);

    let pinned = tariffctl(&["dataset", "upload", folder_arg, "--remote", &remote]);
    let pinned = pinned.trim();
    assert!(pinned.starts_with("synth-e2e@sha256:"), "{pinned}");
    let listed = tariffctl(&["dataset", "list", "--remote", &remote]);
    assert!(listed.contains(&pinned["synth-e2e@".len()..]), "{listed}");

    // SUMMARY: no flows, every other figure as the local run's.
    let local = parse(&tariffctl(&[
        "run",
        scenario_arg,
        "--dataset",
        folder_arg,
        "--view",
        "summary",
        "--format",
        "json",
    ]));
    let summary = parse(&tariffctl(&[
        "run",
        scenario_arg,
        "--remote",
        &remote,
        "--view",
        "summary",
        "--format",
        "json",
    ]));
    assert_eq!(summary, local);
    assert!(summary.impacts[0].sectors.iter().all(|s| s.flows.is_empty()));
    let flows: u64 = summary.impacts[0].sectors.iter().map(|s| s.flow_count).sum();
    assert!(flows > 5_000, "{flows} flows");

    // The same job's flows, every one, through GetJob with the FULL view.
    let mut client = gateway.client().await;
    let mut scenario =
        tariff_scenario::parse_scenario(SCENARIO, tariff_scenario::ScenarioFormat::Json).unwrap();
    scenario.dataset = pinned.to_owned();
    let summary_view = ResultOptions { view: ResultView::Summary.into(), flows: None };
    let job = client
        .submit_scenario(SubmitScenarioRequest {
            scenario: Some(scenario),
            view: Some(summary_view),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let job_id = job.job_id;
    let done = wait_until_done(&mut client, &job_id).await;
    // Progress counts sector solves whether or not the job was split.
    assert_eq!(done.progress.as_ref().map(|p| (p.done, p.total)), Some((60, 60)));
    assert_eq!(done.flow_chunks.is_some(), split_flows < flows, "stored in parts when split");
    assert!(done.result.unwrap().impacts[0].sectors.iter().all(|s| s.flows.is_empty()), "submitted SUMMARY");
    let full_view = ResultOptions { view: ResultView::Full.into(), flows: None };
    let full = client
        .get_job(GetJobRequest { job_id: job_id.clone(), view: Some(full_view) })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    let local_full = parse(&tariffctl(&[
        "run",
        scenario_arg,
        "--dataset",
        folder_arg,
        "--view",
        "full",
        "--format",
        "json",
    ]));
    assert_eq!(full, local_full);
    assert_eq!(full.impacts[0].sectors.iter().map(|s| s.flows.len() as u64).sum::<u64>(), flows);

    // And page by page through GetResultFlows, in (date, sector, exporter, importer) order.
    let expected = flows_of(&local_full);
    assert_eq!(all_pages(&mut client, &job_id, None, flows).await, expected);
    // The same pages through `tariffctl flows`, as the CSV of a local run.
    let paged_csv = tariffctl(&["flows", &job_id, "--remote", &remote, "--page-size", "1500"]);
    let local_csv = tariffctl(&["run", scenario_arg, "--dataset", folder_arg, "--format", "csv-flows"]);
    assert_eq!(paged_csv.lines().count() as u64, flows + 1);
    assert!(paged_csv == local_csv, "tariffctl flows differs from the local run's csv-flows");

    // Filtered: by sector (read in place), by economy and top (gathered), as
    // a view of GetJob and in pages, as the local run's.
    let filters = [
        FlowFilter { sectors: vec!["S003".into(), "S041".into()], ..Default::default() },
        FlowFilter { economies: vec!["E003".into()], top: 40, ..Default::default() },
    ];
    for filter in filters {
        let mut args = vec!["run", scenario_arg, "--dataset", folder_arg, "--format", "json"];
        for s in &filter.sectors {
            args.extend(["--flows-sector", s]);
        }
        for e in &filter.economies {
            args.extend(["--flows-economy", e]);
        }
        let top = filter.top.to_string();
        if filter.top > 0 {
            args.extend(["--top", &top]);
        }
        let local = parse(&tariffctl(&args));
        let view = ResultOptions { view: ResultView::Full.into(), flows: Some(filter.clone()) };
        let viewed = client
            .get_job(GetJobRequest { job_id: job_id.clone(), view: Some(view) })
            .await
            .unwrap()
            .into_inner()
            .result
            .unwrap();
        assert_eq!(viewed, local, "{filter:?}");
        let expected = flows_of(&local);
        assert!(!expected.is_empty(), "{filter:?}");
        let total = expected.len() as u64;
        assert_eq!(
            all_pages(&mut client, &job_id, Some(filter.clone()), total).await,
            expected,
            "{filter:?}"
        );
    }
    let bad = client
        .get_result_flows(GetResultFlowsRequest {
            job_id: job_id.clone(),
            page_token: "x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert!(bad.message().starts_with("page_token"), "{}", bad.message());

    // Deleted once no job uses it; then a run by id is refused.
    assert!(tariffctl(&["dataset", "delete", pinned, "--remote", &remote]).contains(pinned));
    let refused =
        Command::new(binary("tariffctl")).args(["run", scenario_arg, "--remote", &remote]).output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown dataset `synth-e2e`"));
}

/// An uploaded dataset's `inputs.csv` travels in its bundle: with `input_costs`
/// the workers' coupled solve (one chunk, though the worker splits) is the
/// local one on the folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_uploaded_datasets_input_shares_couple_the_sectors_as_tariffctl_run_does() {
    let Stack { nats: _nats, config, gateway } = Stack::start().await;
    let _worker = WorkerHandle::start_splitting(config, every_step(), 200).await;
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("synth");
    let folder_arg = folder.to_str().unwrap();
    let synth = [
        "dataset",
        "synth",
        "--economies",
        "12",
        "--sectors",
        "20",
        "--density",
        "0.3",
        "--seed",
        "11",
        "--input-sectors",
        "3",
        "--id",
        "synth-e2e",
        "--out",
        folder_arg,
    ];
    tariffctl(&synth);
    assert!(folder.join("inputs.csv").exists());
    let scenario_file = tmp.path().join("scenario.json");
    std::fs::write(
        &scenario_file,
        SCENARIO.replacen("\"measures\"", "\"input_costs\": true, \"measures\"", 1),
    )
    .unwrap();
    let scenario_arg = scenario_file.to_str().unwrap();
    let remote = format!("http://{}", gateway.address);
    tariffctl(&["dataset", "upload", folder_arg, "--remote", &remote]);

    let local = parse(&tariffctl(&["run", scenario_arg, "--dataset", folder_arg, "--format", "json"]));
    let remote = parse(&tariffctl(&["run", scenario_arg, "--remote", &remote, "--format", "json"]));
    assert_eq!(remote, local);
    for sector in &remote.impacts[0].sectors {
        let d = sector.diagnostics.unwrap();
        assert!(d.coupling_passes > 1 && d.coupling_change <= 1e-12, "{}: {d:?}", sector.sector);
    }
    let e001 = &remote.impacts[0].sectors[0].economies[0];
    assert!(e001.effective_protection_pct.is_some(), "{e001:?}");
}

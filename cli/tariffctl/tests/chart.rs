//! `--chart` and `compare` end to end: the binary writes SVG files that are
//! checked as XML against figures computed here from its own JSON output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{collections::BTreeMap, path::PathBuf};

use common::{scenario, stdout, tariffctl};
use tariff_proto::{json::from_json, v1::ScenarioResult};

/// A timeline on the built-in dataset: measures that start and end between
/// the evaluation dates.
const TIMELINE: &str = r#"{
  "id": "timeline",
  "name": "Surcharges over time",
  "dataset": "jpus-2023",
  "measures": [
    {"id": "cars", "authority": "SECTION_232", "importer": "USA", "exporters": ["*"], "sectors": ["CARS"],
     "mode": "ADD", "rate_pct": 25, "excludes": ["IEEPA_RECIPROCAL"], "effective_from": "2025-04-03"},
    {"id": "all", "authority": "IEEPA_RECIPROCAL", "importer": "USA", "exporters": ["*"], "sectors": ["*"],
     "mode": "ADD", "rate_pct": 10, "effective_from": "2025-04-05", "effective_to": "2025-08-07"}
  ],
  "evaluate_at": ["2025-03-01", "2025-04-10", "2025-09-16", "2027-06-01"]
}
"#;

fn temp_file(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path: PathBuf = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The top `count` flows between different economies by absolute value change
/// summed over sectors, the largest move at any date counting; as `X→Y`.
fn expected_flows(result: &ScenarioResult, count: usize) -> Vec<String> {
    let mut largest: BTreeMap<(String, String), f64> = BTreeMap::new();
    for impact in &result.impacts {
        let mut sums: BTreeMap<(String, String), f64> = BTreeMap::new();
        for sector in &impact.sectors {
            for f in sector.flows.iter().filter(|f| f.exporter != f.importer) {
                *sums.entry((f.exporter.clone(), f.importer.clone())).or_default() += f.value.unwrap().change;
            }
        }
        for (pair, sum) in sums {
            let e = largest.entry(pair).or_default();
            *e = e.max(sum.abs());
        }
    }
    let mut ranked: Vec<_> = largest.into_iter().filter(|(_, v)| *v > 0.0).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.into_iter().take(count).map(|((x, m), _)| format!("{x}→{m}")).collect()
}

/// The SVG's text, each `<text>` trimmed, in document order.
fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_owned())
        .collect()
}

fn parse(svg: &str) -> roxmltree::Document<'_> {
    let doc = roxmltree::Document::parse(svg).expect("the chart is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc
}

/// The fill of the legend swatch drawn just before the legend entry `label`.
fn swatch_fill(doc: &roxmltree::Document, label: &str) -> String {
    let text = doc
        .descendants()
        .find(|n| n.has_tag_name("text") && n.text().is_some_and(|t| t.trim() == label))
        .unwrap_or_else(|| panic!("no legend entry {label}"));
    let swatch = text.prev_sibling_element().unwrap();
    assert!(swatch.has_tag_name("rect"), "{label}: no swatch");
    swatch.attribute("fill").unwrap().to_owned()
}

/// Sector codes in dataset order, as `tariffctl list sectors` prints them.
fn listed_sectors() -> Vec<String> {
    let listed = stdout(&tariffctl(&["list", "sectors"]));
    listed.lines().skip(1).filter_map(|l| l.split_whitespace().next()).map(str::to_owned).collect()
}

#[test]
fn one_date_chart_has_the_headline_flows_per_sector() {
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("autos.svg");
    let out = tariffctl(&[
        "run",
        &scenario("section-232-autos-2025.json"),
        "--format",
        "json",
        "--chart",
        svg_path.to_str().unwrap(),
    ]);
    let result: ScenarioResult = from_json(&stdout(&out)).unwrap();
    assert_eq!(result.impacts.len(), 1);
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let doc = parse(&svg);
    let texts = texts(&doc);

    let impact = &result.impacts[0];
    assert!(texts.iter().any(|t| t.contains(&result.scenario_name) && t.contains(&impact.date)), "{texts:?}");
    assert!(texts.iter().any(|t| t == "change in value, %"), "{texts:?}");

    let flows = expected_flows(&result, 5);
    assert_eq!(flows.len(), 5);
    for label in &flows {
        assert!(texts.contains(label), "legend lacks {label}: {texts:?}");
        // One bar per sector that has the flow, in the legend's colour (the
        // swatch is one more rect of it).
        let with_flow = impact
            .sectors
            .iter()
            .filter(|s| s.flows.iter().any(|f| format!("{}→{}", f.exporter, f.importer) == *label))
            .count();
        let fill = swatch_fill(&doc, label);
        let rects = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some(&fill))
            .count();
        assert_eq!(rects, 1 + with_flow, "{label}: bars");
    }
    let arrows: Vec<&String> = texts.iter().filter(|t| t.contains('→')).collect();
    assert_eq!(arrows.len(), 5, "exactly the headline flows: {arrows:?}");

    // Every sector on the x axis, in the dataset's order.
    let sectors = listed_sectors();
    assert!(!sectors.is_empty());
    let result_sectors: Vec<&str> = impact.sectors.iter().map(|s| s.sector.as_str()).collect();
    assert_eq!(result_sectors, sectors);
    let on_axis: Vec<&String> = texts.iter().filter(|t| sectors.contains(t)).collect();
    assert_eq!(on_axis, sectors.iter().collect::<Vec<_>>());
}

#[test]
fn chart_flows_sets_how_many() {
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("two.svg");
    let file = scenario("section-232-autos-2025.json");
    let out = tariffctl(&[
        "run",
        &file,
        "--format",
        "json",
        "--chart",
        svg_path.to_str().unwrap(),
        "--chart-flows",
        "2",
    ]);
    let result: ScenarioResult = from_json(&stdout(&out)).unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let texts = texts(&parse(&svg));
    let shown: Vec<String> = texts.into_iter().filter(|t| t.contains('→')).collect();
    assert_eq!(shown, expected_flows(&result, 2));
}

#[test]
fn timeline_chart_has_a_line_per_flow_and_importer_over_the_dates() {
    let dir = tempfile::tempdir().unwrap();
    let file = temp_file(&dir, "timeline.json", TIMELINE);
    let svg_path = dir.path().join("timeline.svg");
    let out = tariffctl(&["run", &file, "--format", "json", "--chart", svg_path.to_str().unwrap()]);
    let result: ScenarioResult = from_json(&stdout(&out)).unwrap();
    let dates: Vec<&str> = result.impacts.iter().map(|i| i.date.as_str()).collect();
    assert_eq!(dates.len(), 4);

    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let doc = parse(&svg);
    let texts = texts(&doc);
    let flows = expected_flows(&result, 5);
    assert_eq!(flows.len(), 5);
    let mut importers: Vec<String> = Vec::new();
    for flow in &flows {
        let importer = flow.split('→').nth(1).unwrap().to_owned();
        if !importers.contains(&importer) {
            importers.push(importer);
        }
    }
    let mut series: Vec<String> = flows.clone();
    series.extend(importers.iter().map(|m| format!("{m} tariff after")));
    for name in &series {
        assert!(texts.contains(name), "legend lacks {name}: {texts:?}");
    }
    for date in &dates {
        // Once under each of the two panels.
        assert_eq!(texts.iter().filter(|t| t == date).count(), 2, "date label {date}: {texts:?}");
    }

    // Axes and ticks are black; each series is one coloured line through every date.
    let lines: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") != Some("#000000"))
        .collect();
    assert_eq!(lines.len(), series.len(), "one line per series");
    for (line, name) in lines.iter().zip(&series) {
        let points = line.attribute("points").unwrap().split_whitespace().count();
        assert_eq!(points, dates.len(), "{name}: a point per date");
        assert_eq!(line.attribute("stroke"), Some(swatch_fill(&doc, name).as_str()), "{name}: colour");
    }
}

fn scenario_name(path: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json["name"].as_str().unwrap().to_owned()
}

#[test]
fn compare_prints_both_scenarios_and_the_difference() {
    let (a, b) = (scenario("section-232-autos-2025.json"), scenario("universal-20.json"));
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("welfare.svg");
    let table = stdout(&tariffctl(&["compare", &a, &b, "--chart", svg_path.to_str().unwrap()]));
    for needle in [scenario_name(&a), scenario_name(&b), "B-A".to_owned(), "welfare change".to_owned()] {
        assert!(table.contains(&needle), "table lacks `{needle}`:\n{table}");
    }
    let sectors = listed_sectors();
    for code in &sectors {
        assert!(table.contains(&format!("Sector {code},")), "table lacks sector {code}:\n{table}");
    }
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let texts = texts(&parse(&svg));
    assert!(texts.iter().any(|t| t.starts_with("A: ") && t.contains(&scenario_name(&a))), "{texts:?}");

    let out = tariffctl(&["compare", &a, &b, "--format", "csv"]);
    let csv_text = stdout(&out);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header, ["date_a", "date_b", "sector", "subject", "measure", "a", "b", "b_minus_a"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let welfare: Vec<&csv::StringRecord> =
        rows.iter().filter(|r| &r[2] == "*" && &r[4] == "welfare_change").collect();
    assert!(!welfare.is_empty());
    for row in welfare {
        let (x, y, d): (f64, f64, f64) =
            (row[5].parse().unwrap(), row[6].parse().unwrap(), row[7].parse().unwrap());
        assert!((y - x - d).abs() < 1e-6, "{row:?}");
    }
    assert!(rows.iter().any(|r| sectors.contains(&r[2].to_owned()) && &r[4] == "value_change"));
}

#[test]
fn compare_matches_dates_and_says_when_they_differ() {
    let dir = tempfile::tempdir().unwrap();
    let a = temp_file(&dir, "a.json", TIMELINE);
    let b = temp_file(&dir, "b.json", &TIMELINE.replace("\"rate_pct\": 25", "\"rate_pct\": 50"));
    let table = stdout(&tariffctl(&["compare", &a, &b]));
    assert!(!table.contains("note:"), "{table}");
    for date in ["2025-03-01", "2025-04-10", "2025-09-16", "2027-06-01"] {
        assert!(table.contains(&format!("== {date} ==")), "{table}");
    }
    let other = scenario("section-232-autos-2025.json");
    let table = stdout(&tariffctl(&["compare", &a, &other]));
    assert!(table.contains("note: the dates differ"), "{table}");
    assert!(table.contains("== A 2025-03-01 | B "), "{table}");
}

#[test]
fn a_chart_in_a_missing_folder_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no-such-folder/out.svg");
    let target = target.to_str().unwrap();
    let file = scenario("section-232-autos-2025.json");
    for args in [vec!["run", &file, "--chart", target], vec!["compare", &file, &file, "--chart", target]] {
        let out = tariffctl(&args);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line expected: {stderr}");
        assert!(stderr.starts_with("error: ") && stderr.contains(target), "{stderr}");
        assert!(!stderr.contains("panicked"));
        assert!(out.stdout.is_empty(), "nothing computed or printed");
    }
}

/// `run --chart FILE --chart-kind erp` plus `extra`, on the supply-chains
/// scenario: its JSON result and the chart's document text.
fn erp_chart(dir: &tempfile::TempDir, extra: &[&str]) -> (ScenarioResult, String) {
    let svg_path = dir.path().join("erp.svg");
    let file = scenario("section-232-supply-chains.json");
    let mut args = vec!["run", &file, "--format", "json", "--chart", svg_path.to_str().unwrap()];
    args.extend(["--chart-kind", "erp"]);
    args.extend(extra);
    let result: ScenarioResult = from_json(&stdout(&tariffctl(&args))).unwrap();
    (result, std::fs::read_to_string(&svg_path).unwrap())
}

#[test]
fn erp_chart_has_before_and_after_bars_per_economy_of_a_sector() {
    let dir = tempfile::tempdir().unwrap();
    let (result, svg) = erp_chart(&dir, &["--chart-sector", "CARS"]);
    let doc = parse(&svg);
    let texts = texts(&doc);
    let cars = result.impacts[0].sectors.iter().find(|s| s.sector == "CARS").unwrap();
    let economies: Vec<&str> = cars.economies.iter().map(|e| e.economy.as_str()).collect();
    assert!(economies.contains(&"USA") && economies.contains(&"JPN"), "{economies:?}");
    // Each economy once on the x axis, in the result's order.
    let on_axis: Vec<&str> = texts.iter().map(String::as_str).filter(|t| economies.contains(t)).collect();
    assert_eq!(on_axis, economies);
    assert!(
        texts.iter().any(|t| t.contains("effective rate of protection, CARS by economy")
            && t.contains(&result.impacts[0].date)),
        "{texts:?}"
    );
    // One bar per economy in each legend colour (and the swatch), each with its value.
    for (label, pick) in [("before", 0), ("after", 1)] {
        let fill = swatch_fill(&doc, label);
        let rects = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some(&fill))
            .count();
        assert_eq!(rects, 1 + economies.len(), "{label} bars");
        for e in &cars.economies {
            let erp = e.effective_protection_pct.unwrap();
            let value = format!("{:.1}", if pick == 0 { erp.before } else { erp.after });
            assert!(texts.contains(&value), "{} {label} {value} not labelled: {texts:?}", e.economy);
        }
    }
}

#[test]
fn erp_chart_for_an_economy_has_its_sectors_with_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let (result, svg) = erp_chart(&dir, &["--chart-economy", "USA"]);
    let texts = texts(&parse(&svg));
    let with_inputs: Vec<&str> = result.impacts[0]
        .sectors
        .iter()
        .filter(|s| s.economies.iter().any(|e| e.economy == "USA" && e.effective_protection_pct.is_some()))
        .map(|s| s.sector.as_str())
        .collect();
    assert_eq!(with_inputs, ["CARS", "TRUCKS", "PARTS", "MACH"]);
    let sectors = listed_sectors();
    let on_axis: Vec<&str> =
        texts.iter().map(String::as_str).filter(|t| sectors.iter().any(|s| s == t)).collect();
    assert_eq!(on_axis, with_inputs);
    assert!(texts.iter().any(|t| t.contains("effective rate of protection, USA by sector")), "{texts:?}");

    // Without a focus: the sector where an ERP moved most, across its economies.
    let (_, svg) = erp_chart(&dir, &[]);
    let texts = self::texts(&parse(&svg));
    assert!(texts.iter().any(|t| t.contains(" by economy")), "{texts:?}");
    assert!(texts.iter().any(|t| t == "USA") && texts.iter().any(|t| t == "JPN"), "{texts:?}");
}

#[test]
fn erp_chart_is_refused_without_input_costs_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("erp.svg");
    let target = svg_path.to_str().unwrap();
    let off = scenario("section-232-autos-2025.json");
    let out = tariffctl(&["run", &off, "--chart", target, "--chart-kind", "erp"]);
    common::assert_one_line_error(&out, &["--chart-kind erp", "input_costs: true"]);
    assert!(out.stdout.is_empty(), "nothing computed or printed");
    assert!(!svg_path.exists());

    // The flags that pick what the ERP chart shows mean nothing to the flows chart.
    let on = scenario("section-232-supply-chains.json");
    let out = tariffctl(&["run", &on, "--chart", target, "--chart-sector", "CARS"]);
    common::assert_one_line_error(&out, &["--chart-sector", "only with --chart-kind erp"]);
    // A sector the dataset has no input shares for: which sectors have them.
    let out = tariffctl(&["run", &on, "--chart", target, "--chart-kind", "erp", "--chart-sector", "ELEC"]);
    common::assert_one_line_error(
        &out,
        &["--chart-sector ELEC", "sectors with one: CARS, TRUCKS, PARTS, MACH"],
    );
    assert!(!svg_path.exists());
}

//! METHOD.md of an imported dataset: how it was made, in words and counts.

use std::fmt::Write as _;

use crate::{report::ImportReport, write::DatasetMeta};

pub(crate) fn method_md(meta: &DatasetMeta, report: &ImportReport) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", meta.title);
    let _ = writeln!(md, "{}\n", meta.description);
    let _ = writeln!(md, "## Inputs\n");
    let _ = writeln!(md, "| file | format | bytes | sha256 | rows read | rows used | source id |");
    let _ = writeln!(md, "| --- | --- | --- | --- | --- | --- | --- |");
    for f in report.flow_files.iter().chain(&report.tariff_files) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | `{}` | {} | {} | `{}` |",
            f.facts.name, f.format, f.facts.bytes, f.facts.sha256, f.rows_read, f.rows_used, f.source_id
        );
    }
    let _ = writeln!(md, "\n## Rows left out\n");
    let mut any = false;
    for f in report.flow_files.iter().chain(&report.tariff_files) {
        for (reason, s) in &f.skipped {
            any = true;
            let _ = writeln!(
                md,
                "- {}: {} rows ({reason}), value {} (USD {})",
                f.facts.name, s.rows, s.value, report.unit
            );
        }
    }
    if !any {
        let _ = writeln!(md, "None.");
    }
    let _ = writeln!(md, "\n## Codes the concordance does not map\n");
    if report.unmapped.is_empty() {
        let _ = writeln!(md, "None.");
    }
    for u in &report.unmapped {
        let _ = writeln!(
            md,
            "- {:?} `{}`{}: {} rows, value {} (USD {}), first at {}, sent to {}",
            u.kind,
            u.code,
            if u.description.is_empty() { String::new() } else { format!(" ({})", u.description) },
            u.rows,
            u.value,
            report.unit,
            u.first_seen,
            u.sent_to.as_deref().unwrap_or("nothing")
        );
    }
    let d = &report.domestic;
    let _ = writeln!(md, "\n## Domestic shipments\n");
    let _ = writeln!(
        md,
        "Method: {}. {} rows; estimated part {}; trade between countries of one economy {} (USD {}). \
         Where both exist they are added in one row, marked with the quality of the estimate.",
        d.method, d.rows, d.estimated_value, d.within_economy_value, report.unit
    );
    let t = &report.tariffs;
    let _ = writeln!(md, "\n## Tariffs\n");
    let _ = writeln!(
        md,
        "Partner-wide MFN rows: {} ({} trade-weighted by the importer's imports of each product, the others \
         simple means of the HS 6-digit rates). Bilateral preference rows: {} ({} trade-weighted by the pair's \
         imports of each product; a product without a preference counts at its MFN rate). Rows at the default \
         rate (basis DEFAULT): {}. Preference rows within one economy left out: {}. Where an economy groups \
         several reporters, their rates for one product are averaged simply.",
        t.mfn_rows,
        t.mfn_weighted,
        t.preference_rows,
        t.preference_weighted,
        t.default_rows,
        t.within_economy_rows
    );
    let _ = writeln!(
        md,
        "\n## Output\n\n{} flow rows (total {} USD {}), {} tariff rows; {} cells that added up to zero not written.",
        report.flow_rows, report.total_value, report.unit, report.tariff_rows, report.zero_cells
    );
    md
}

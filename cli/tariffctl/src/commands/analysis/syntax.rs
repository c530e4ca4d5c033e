//! The command-line spelling of levers, figures, objectives and constraints,
//! parsed by clap (so a bad value is refused naming its flag) into the proto
//! messages the library checks against the dataset.

use tariff_proto::v1::{
    AgreementStageLever, ElasticityLever, ElasticityParameter, Figure, FigureBound, FigureRef, Lever,
    WeightedFigure, lever::Target,
};

/// The lever and figure syntax, for `--help`.
pub const SYNTAX_HELP: &str = "\
LEVER is one of:
  measure:ID
      the rate_pct of the scenario's measure with that id (or measure:measures[2], by position)
  agreement:CODE:IMPORTER:SECTOR[:YYYY-MM-DD]
      a stage rate of an agreement's schedule (the date: the stage's first day; left out, every
      stage of the row), such as agreement:USJTA:JPN:AGRI
  fx:ECONOMY
      the change_pct of that economy's currency against the dataset's
  elasticity:SECTOR[:ECONOMY]:supply|substitution|import_demand
      an elasticity of the sector (without ECONOMY: sector-wide), such as elasticity:CARS:JPN:supply

FIGURE is ECONOMY:NAME (the economy's total), ECONOMY:SECTOR:NAME (one sector) or
ECONOMY:SECTOR:IMPORTER:NAME (the flow ECONOMY->IMPORTER in SECTOR), optionally followed by
@YYYY-MM-DD (one of the scenario's dates; default the last). NAME is a tariff.v1.Figure
name such as WELFARE_CHANGE, EXPORTS_CHANGE_PCT or EFFECTIVE_TARIFF_AFTER_PCT (any case).";

/// A `tariff.v1.Figure` by its proto name, in any case, `-` for `_`.
pub fn figure_name(text: &str) -> Result<Figure, String> {
    let name = text.trim().to_ascii_uppercase().replace('-', "_");
    match Figure::from_str_name(&name) {
        Some(Figure::Unspecified) | None => {
            let known: Vec<&str> = tariff_scenario::FIGURES.iter().map(|f| f.as_str_name()).collect();
            Err(format!("unknown figure `{text}` (one of {})", known.join(", ")))
        }
        Some(f) => Ok(f),
    }
}

/// `measure:ID`, `agreement:CODE:IMPORTER:SECTOR[:DATE]`, `fx:ECONOMY` or
/// `elasticity:SECTOR[:ECONOMY]:PARAM`.
pub fn lever_target(text: &str) -> Result<Target, String> {
    let (kind, rest) = text.split_once(':').ok_or_else(|| {
        format!("`{text}`: expected KIND:WHAT, KIND one of measure, agreement, fx, elasticity")
    })?;
    let parts: Vec<&str> = rest.split(':').collect();
    let blank = parts.iter().any(|p| p.trim().is_empty());
    let target = match (kind, parts.as_slice()) {
        // A measure id may hold colons; only the kind is split off.
        ("measure", _) if !rest.trim().is_empty() => Target::MeasureRate(rest.trim().to_owned()),
        ("agreement", [agreement, importer, sector, date @ ..]) if date.len() <= 1 && !blank => {
            Target::AgreementStage(AgreementStageLever {
                agreement: agreement.to_string(),
                importer: importer.to_string(),
                sector: sector.to_string(),
                stage_from: date.first().map(|d| d.to_string()).unwrap_or_default(),
            })
        }
        ("fx", [economy]) if !blank => Target::ExchangeRate(economy.to_string()),
        ("elasticity", [sector, middle @ .., parameter]) if middle.len() <= 1 && !blank => {
            Target::Elasticity(ElasticityLever {
                sector: sector.to_string(),
                economy: middle.first().map(|e| e.to_string()).unwrap_or_default(),
                parameter: elasticity_parameter(parameter)?.into(),
            })
        }
        ("measure" | "agreement" | "fx" | "elasticity", _) => {
            let form = match kind {
                "measure" => "measure:ID",
                "agreement" => "agreement:CODE:IMPORTER:SECTOR[:YYYY-MM-DD]",
                "fx" => "fx:ECONOMY",
                _ => "elasticity:SECTOR[:ECONOMY]:supply|substitution|import_demand",
            };
            return Err(format!("`{text}`: expected {form}"));
        }
        _ => {
            return Err(format!(
                "`{text}`: unknown lever kind `{kind}` (measure, agreement, fx, elasticity)"
            ));
        }
    };
    Ok(target)
}

fn elasticity_parameter(text: &str) -> Result<ElasticityParameter, String> {
    match text.to_ascii_lowercase().replace('-', "_").as_str() {
        "supply" => Ok(ElasticityParameter::Supply),
        "substitution" => Ok(ElasticityParameter::Substitution),
        "import_demand" => Ok(ElasticityParameter::ImportDemand),
        _ => Err(format!("unknown elasticity `{text}` (supply, substitution, import_demand)")),
    }
}

/// `LEVER=LOW..HIGH[/STEP]`, the optimiser's lever with its range (and grid).
pub fn ranged_lever(text: &str) -> Result<Lever, String> {
    let (target, range) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("`{text}`: expected LEVER=LOW..HIGH[/STEP], such as measure:cars=0..50/1"))?;
    let (range, step) = match range.split_once('/') {
        Some((range, step)) => (range, number("STEP", step)?),
        None => (range, 0.0),
    };
    let (low, high) =
        range.split_once("..").ok_or_else(|| format!("`{text}`: the range is LOW..HIGH, such as 0..50"))?;
    Ok(Lever {
        target: Some(lever_target(target)?),
        low: number("LOW", low)?,
        high: number("HIGH", high)?,
        step,
    })
}

/// A tolerance: a positive number.
pub fn positive(text: &str) -> Result<f64, String> {
    match number("the value", text)? {
        v if v > 0.0 => Ok(v),
        _ => Err(format!("`{text}` is not above 0")),
    }
}

fn number(what: &str, text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{what} `{text}` is not a number")),
    }
}

/// `ECONOMY[:SECTOR[:IMPORTER]]:NAME[@DATE]`.
pub fn figure_ref(text: &str) -> Result<FigureRef, String> {
    let (body, date) = match text.split_once('@') {
        Some((body, date)) if !date.trim().is_empty() => (body, date.trim().to_owned()),
        Some(_) => return Err(format!("`{text}`: a date after @, as YYYY-MM-DD")),
        None => (text, String::new()),
    };
    let parts: Vec<&str> = body.split(':').map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) || !(2..=4).contains(&parts.len()) {
        return Err(format!(
            "`{text}`: expected ECONOMY:FIGURE, ECONOMY:SECTOR:FIGURE or ECONOMY:SECTOR:IMPORTER:FIGURE, \
             such as JPN:WELFARE_CHANGE"
        ));
    }
    let (places, name) = parts.split_at(parts.len() - 1);
    let at = |i: usize| places.get(i).map(|s| s.to_string()).unwrap_or_default();
    Ok(FigureRef {
        figure: figure_name(name[0])?.as_str_name().to_owned(),
        economy: at(0),
        sector: at(1),
        importer: at(2),
        date,
    })
}

/// How people read a figure reference: `JPN:CARS:WELFARE_CHANGE@2026-01-01`.
pub fn show_figure(f: &FigureRef) -> String {
    let mut text = [&f.economy, &f.sector, &f.importer, &f.figure]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(":");
    if !f.date.is_empty() {
        text.push('@');
        text.push_str(&f.date);
    }
    text
}

/// `FIGURE[*WEIGHT]`, a term of the objective.
pub fn weighted_figure(text: &str) -> Result<WeightedFigure, String> {
    let (figure, weight) = match text.rsplit_once('*') {
        Some((figure, weight)) => (figure, number("WEIGHT", weight)?),
        None => (text, 1.0),
    };
    if weight == 0.0 {
        // The proto reads 0 as 1: a zero weight would silently count fully.
        return Err(format!("`{text}`: a weight of 0 drops the term; leave the term out instead"));
    }
    Ok(WeightedFigure { figure: Some(figure_ref(figure)?), weight })
}

/// `FIGURE>=VALUE` or `FIGURE<=VALUE`.
pub fn constraint(text: &str) -> Result<FigureBound, String> {
    let bound = |op: &str| text.split_once(op);
    let (figure, min, max) = match (bound(">="), bound("<=")) {
        (Some((figure, v)), None) => (figure, Some(number("VALUE", v)?), None),
        (None, Some((figure, v))) => (figure, None, Some(number("VALUE", v)?)),
        _ => {
            return Err(format!(
                "`{text}`: expected FIGURE>=VALUE or FIGURE<=VALUE, such as JPN:IMPORTS_CHANGE_PCT>=-5"
            ));
        }
    };
    Ok(FigureBound { figure: Some(figure_ref(figure)?), min, max })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn levers_of_every_kind() {
        assert_eq!(lever_target("measure:measures[2]").unwrap(), Target::MeasureRate("measures[2]".into()));
        let Target::AgreementStage(s) = lever_target("agreement:USJTA:JPN:AGRI:2026-01-01").unwrap() else {
            panic!()
        };
        assert_eq!((s.agreement.as_str(), s.stage_from.as_str()), ("USJTA", "2026-01-01"));
        assert_eq!(lever_target("fx:JPN").unwrap(), Target::ExchangeRate("JPN".into()));
        let Target::Elasticity(e) = lever_target("elasticity:CARS:supply").unwrap() else { panic!() };
        assert_eq!((e.economy.as_str(), e.parameter()), ("", ElasticityParameter::Supply));
        let Target::Elasticity(e) = lever_target("elasticity:CARS:JPN:import-demand").unwrap() else {
            panic!()
        };
        assert_eq!((e.economy.as_str(), e.parameter()), ("JPN", ElasticityParameter::ImportDemand));
        for bad in
            ["cars", "tariff:x", "fx:", "fx:JPN:USA", "agreement:USJTA:JPN", "elasticity:CARS:JPN:bulk"]
        {
            assert!(lever_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranged_levers_take_negative_bounds_and_a_step() {
        let l = ranged_lever("fx:JPN=-10..-2.5/0.5").unwrap();
        assert_eq!((l.low, l.high, l.step), (-10.0, -2.5, 0.5));
        assert!(ranged_lever("measure:cars").unwrap_err().contains("LOW..HIGH"));
        assert!(ranged_lever("measure:cars=0-50").unwrap_err().contains("LOW..HIGH"));
        assert!(ranged_lever("measure:cars=0..x").unwrap_err().contains("HIGH"));
    }

    #[test]
    fn figures_totals_sectors_flows_and_dates() {
        let f = figure_ref("JPN:CARS:USA:exports-change@2026-01-01").unwrap();
        assert_eq!(
            (f.economy.as_str(), f.sector.as_str(), f.importer.as_str(), f.figure.as_str(), f.date.as_str()),
            ("JPN", "CARS", "USA", "EXPORTS_CHANGE", "2026-01-01")
        );
        assert_eq!(show_figure(&f), "JPN:CARS:USA:EXPORTS_CHANGE@2026-01-01");
        assert_eq!(figure_ref("JPN:WELFARE_CHANGE").unwrap().sector, "");
        assert!(figure_ref("WELFARE_CHANGE").is_err());
        assert!(figure_ref("JPN:WELFARE").unwrap_err().contains("unknown figure"));
        assert!(figure_ref("JPN:WELFARE_CHANGE@").is_err());
    }

    #[test]
    fn objectives_and_constraints() {
        let w = weighted_figure("USA:WELFARE_CHANGE*-0.5").unwrap();
        assert_eq!(w.weight, -0.5);
        assert_eq!(weighted_figure("USA:WELFARE_CHANGE").unwrap().weight, 1.0);
        assert!(weighted_figure("USA:WELFARE_CHANGE*0").is_err());
        let c = constraint("JPN:IMPORTS_CHANGE_PCT>=-5").unwrap();
        assert_eq!((c.min, c.max), (Some(-5.0), None));
        assert_eq!(constraint("JPN:WELFARE_CHANGE<=10").unwrap().max, Some(10.0));
        assert!(constraint("JPN:WELFARE_CHANGE=10").is_err());
    }
}

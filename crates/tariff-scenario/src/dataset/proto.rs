//! The dataset as reference data in `tariff.v1` messages.

use tariff_proto::v1 as pb;

use super::{Dataset, Quality};
use crate::pricing::structure_proto;

impl Dataset {
    /// `ListEconomies`.
    pub fn economies_proto(&self) -> Vec<pb::Economy> {
        self.economies
            .iter()
            .map(|e| pb::Economy {
                code: e.code.clone(),
                name: e.name.clone(),
                groups: e.groups.clone(),
                gdp: e.gdp,
                currency: e.currency.clone(),
            })
            .collect()
    }

    /// `ListSectors`.
    pub fn sectors_proto(&self) -> Vec<pb::Sector> {
        self.sectors
            .iter()
            .map(|s| pb::Sector {
                code: s.code.clone(),
                name: s.name.clone(),
                hs: s.hs.clone(),
                import_demand_elasticity: s.elasticities.import_demand,
                substitution_elasticity: s.elasticities.substitution,
                supply_elasticity: s.elasticities.supply,
                elasticity_source: s.elasticity_source.clone(),
                import_demand_elasticity_low: s.ranges.import_demand.low,
                import_demand_elasticity_high: s.ranges.import_demand.high,
                substitution_elasticity_low: s.ranges.substitution.low,
                substitution_elasticity_high: s.ranges.substitution.high,
                supply_elasticity_low: s.ranges.supply.low,
                supply_elasticity_high: s.ranges.supply.high,
                import_demand_range_published: s.ranges.import_demand.published,
                substitution_range_published: s.ranges.substitution.published,
                supply_range_published: s.ranges.supply.published,
                market_structure: structure_proto(s.structure).into(),
            })
            .collect()
    }

    /// The elasticity sets of `GetDataset`.
    pub fn horizons_proto(&self) -> Vec<pb::Horizon> {
        let quality = |q: Option<Quality>| match q {
            Some(Quality::Reported) => "reported",
            Some(Quality::Derived) => "derived",
            Some(Quality::Estimated) => "estimated",
            None => "",
        };
        self.horizons
            .iter()
            .map(|h| pb::Horizon {
                name: h.name.clone(),
                sectors: h
                    .sectors
                    .iter()
                    .zip(&self.sectors)
                    .map(|(set, s)| pb::HorizonSector {
                        sector: s.code.clone(),
                        import_demand_elasticity: set.elasticities.import_demand,
                        substitution_elasticity: set.elasticities.substitution,
                        supply_elasticity: set.elasticities.supply,
                        import_demand_elasticity_low: set.ranges.import_demand.low,
                        import_demand_elasticity_high: set.ranges.import_demand.high,
                        substitution_elasticity_low: set.ranges.substitution.low,
                        substitution_elasticity_high: set.ranges.substitution.high,
                        supply_elasticity_low: set.ranges.supply.low,
                        supply_elasticity_high: set.ranges.supply.high,
                        market_structure: structure_proto(set.structure).into(),
                        source: set.source.clone(),
                        quality: quality(set.quality).to_owned(),
                    })
                    .collect(),
            })
            .collect()
    }

    /// `ListAgreements`.
    pub fn agreements_proto(&self) -> Vec<pb::Agreement> {
        let code = |i: usize| self.economies.get(i).map(|e| e.code.clone()).unwrap_or_default();
        self.agreements
            .iter()
            .map(|a| pb::Agreement {
                code: a.code.clone(),
                name: a.name.clone(),
                parties: a.parties.iter().map(|&p| code(p)).collect(),
                in_force: a.in_force.map(|d| d.to_string()).unwrap_or_default(),
                rates: a
                    .rates
                    .iter()
                    .map(|r| pb::AgreementRate {
                        importer: code(r.importer),
                        exporters: r.exporters.iter().map(|&x| code(x)).collect(),
                        sector: self.sectors.get(r.sector).map(|s| s.code.clone()).unwrap_or_default(),
                        stages: r
                            .stages
                            .iter()
                            .map(|(from, rate_pct)| pb::AgreementStage {
                                from: from.to_string(),
                                rate_pct: *rate_pct,
                            })
                            .collect(),
                    })
                    .collect(),
                note: a.note.clone(),
                source: a.source.clone(),
            })
            .collect()
    }

    /// `GetDataset`.
    pub fn info_proto(&self) -> pb::DatasetInfo {
        let (rows, estimated) = self.flow_row_counts();
        pb::DatasetInfo {
            id: self.id.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            base_year: self.base_year,
            currency: self.currency.clone(),
            unit: self.unit.clone(),
            sources: self
                .sources
                .iter()
                .map(|s| pb::Source {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    url: s.url.clone(),
                    note: s.note.clone(),
                })
                .collect(),
            economies: self.economies_proto(),
            sectors: self.sectors_proto(),
            agreements: self.agreements_proto(),
            flow_rows: u32::try_from(rows).unwrap_or(u32::MAX),
            estimated_flow_rows: u32::try_from(estimated).unwrap_or(u32::MAX),
            horizons: self.horizons_proto(),
            digest: String::new(),
            input_rows: u32::try_from(self.inputs.rows().len()).unwrap_or(u32::MAX),
        }
    }
}

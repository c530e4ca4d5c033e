//! Country and product codes of the input files mapped through the
//! concordance, each code looked up once, the rows of codes it lacks counted.

use std::collections::HashMap;

use crate::{
    concordance::Concordance,
    flows::CountryRef,
    input::hs_code,
    report::{CodeKind, UnmappedCode},
};

/// A cached mapping of one code.
#[derive(Debug, Clone, Copy)]
struct Resolution {
    target: Option<usize>,
    /// Its entry in the unmapped list, when the concordance lacks it.
    unmapped: Option<usize>,
}

/// Maps codes through the concordance, remembering each code once and
/// counting the rows of codes it lacks.
pub(crate) struct Resolver<'c> {
    concordance: &'c Concordance,
    catch_economy: Option<usize>,
    catch_sector: Option<usize>,
    countries: HashMap<String, Resolution>,
    products: HashMap<String, Resolution>,
    pub(crate) unmapped: Vec<UnmappedCode>,
}

impl<'c> Resolver<'c> {
    /// A resolver that sends codes the concordance lacks to the catch-alls, when given.
    pub(crate) fn new(
        concordance: &'c Concordance,
        catch_economy: Option<usize>,
        catch_sector: Option<usize>,
    ) -> Resolver<'c> {
        Resolver {
            concordance,
            catch_economy,
            catch_sector,
            countries: HashMap::new(),
            products: HashMap::new(),
            unmapped: Vec::new(),
        }
    }

    fn note(&mut self, r: Resolution, value: f64) -> Option<usize> {
        if let Some(entry) = r.unmapped.and_then(|i| self.unmapped.get_mut(i)) {
            entry.rows += 1;
            entry.value += value;
        }
        r.target
    }

    pub(crate) fn country(&mut self, c: &CountryRef<'_>, file: &str, line: u64, value: f64) -> Option<usize> {
        if let Some(&r) = self.countries.get(c.key()) {
            return self.note(r, value);
        }
        let found = self.concordance.economy_of_country(c.numeric, c.iso3);
        let unmapped = found.is_none().then(|| {
            let iso = if c.iso3.is_empty() { self.concordance.iso3(c.numeric).unwrap_or("") } else { c.iso3 };
            let code = if c.numeric.is_empty() || iso.is_empty() {
                c.key().to_owned()
            } else {
                format!("{} ({iso})", c.numeric)
            };
            self.unmapped.push(UnmappedCode {
                kind: CodeKind::Country,
                code,
                description: String::new(),
                rows: 0,
                value: 0.0,
                first_seen: format!("{file}:{line}"),
                sent_to: self.catch_economy.and_then(|e| self.concordance.economies.get(e).cloned()),
            });
            self.unmapped.len() - 1
        });
        let r = Resolution { target: found.or(self.catch_economy), unmapped };
        self.countries.insert(c.key().to_owned(), r);
        self.note(r, value)
    }

    pub(crate) fn product(&mut self, text: &str, file: &str, line: u64, value: f64) -> Option<usize> {
        if let Some(&r) = self.products.get(text) {
            return self.note(r, value);
        }
        let code = hs_code(text);
        let found = code.as_deref().and_then(|c| self.concordance.sector_of_product(c));
        let unmapped = found.is_none().then(|| {
            let shown = code.clone().unwrap_or_else(|| text.to_owned());
            self.unmapped.push(UnmappedCode {
                kind: CodeKind::Product,
                description: self.concordance.description(&shown).to_owned(),
                code: shown,
                rows: 0,
                value: 0.0,
                first_seen: format!("{file}:{line}"),
                sent_to: self.catch_sector.and_then(|s| self.concordance.sectors.get(s).cloned()),
            });
            self.unmapped.len() - 1
        });
        let r = Resolution { target: found.or(self.catch_sector), unmapped };
        self.products.insert(text.to_owned(), r);
        self.note(r, value)
    }

    /// Whether some code had no mapping and no catch-all.
    pub(crate) fn refused(&self) -> bool {
        self.unmapped.iter().any(|u| u.sent_to.is_none())
    }
}

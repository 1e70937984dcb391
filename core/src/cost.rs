//! What a destination costs a month: the bytes it holds times its storage class's price.
//!
//! Prices start from the providers' published ones (in the provider table) and config.yaml's
//! `prices:` overrides or adds to them, per provider type and storage class.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::DestinationConfig;
use crate::storage::providers::PROVIDERS;

/// Providers bill per "GB" of 2^30 bytes.
const BYTES_PER_GB: f64 = 1_073_741_824.0;

/// One storage class's price.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Price {
    pub per_gb_month: f64,
    pub download_per_gb: f64,
    pub currency: String,
    /// When the price was read (a date), or "config.yaml" for a price the user gave.
    pub as_of: String,
}

/// Prices by provider type and storage class.
#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    prices: BTreeMap<(String, String), Price>,
}

/// An estimate of a month's storage at one destination.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlyCost {
    pub amount: f64,
    pub currency: String,
    pub storage_class: String,
    pub per_gb_month: f64,
    pub as_of: String,
}

impl PriceTable {
    /// The providers' published prices.
    pub fn published() -> Self {
        let mut table = Self::default();
        for provider in PROVIDERS {
            for p in provider.prices {
                let price = Price {
                    per_gb_month: p.per_gb_month,
                    download_per_gb: p.download_per_gb,
                    currency: p.currency.to_string(),
                    as_of: p.as_of.to_string(),
                };
                table.set(provider.type_name, p.storage_class, price);
            }
        }
        table
    }

    pub fn set(&mut self, type_name: &str, storage_class: &str, price: Price) {
        self.prices.insert((type_name.to_string(), storage_class.to_ascii_uppercase()), price);
    }

    pub fn get(&self, type_name: &str, storage_class: &str) -> Option<&Price> {
        self.prices.get(&(type_name.to_string(), storage_class.to_ascii_uppercase()))
    }

    /// The storage class a destination writes with: the config's, else its provider's first
    /// published one, else `STANDARD` (what a user's own price for any S3 service is given as).
    fn storage_class_of(dest: &DestinationConfig) -> String {
        match &dest.storage_class {
            Some(class) => class.to_ascii_uppercase(),
            None => dest.provider.prices.first().map_or("STANDARD", |p| p.storage_class).to_string(),
        }
    }

    /// What holding `bytes` at `dest` costs a month; `None` when no price is known for it.
    pub fn monthly(&self, dest: &DestinationConfig, bytes: u64) -> Option<MonthlyCost> {
        let storage_class = Self::storage_class_of(dest);
        let price = self.get(dest.provider.type_name, &storage_class)?;
        let amount = bytes as f64 / BYTES_PER_GB * price.per_gb_month;
        Some(MonthlyCost {
            // Millionths: enough for any sum of money, and 10 GiB × 0.023 reads 0.23.
            amount: (amount * 1e6).round() / 1e6,
            currency: price.currency.clone(),
            storage_class,
            per_gb_month: price.per_gb_month,
            as_of: price.as_of.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(yaml: &str) -> Config {
        Config::parse(yaml, "test").unwrap()
    }

    #[test]
    fn ten_gib_at_s3_standard_cost_ten_times_the_published_price() {
        let c = config("destinations:\n  aws_s3:\n    enabled: true\n    bucket: b\n");
        let cost = c.prices.monthly(c.destination("aws_s3").unwrap(), 10 << 30).unwrap();
        assert_eq!((cost.amount, cost.currency.as_str(), cost.storage_class.as_str()), (0.23, "USD", "STANDARD"));
    }

    #[test]
    fn the_configured_storage_class_is_priced_and_config_prices_win() {
        let yaml = "destinations:\n  aws_s3:\n    enabled: true\n    bucket: b\n    storage_class: DEEP_ARCHIVE\n  \
                    nas:\n    type: s3_compatible\n    enabled: true\n    bucket: b\n    endpoint: http://nas:9000\n\
                    prices:\n  s3_compatible:\n    STANDARD: { per_gb_month: 0.005 }\n  aws_s3:\n    DEEP_ARCHIVE: { per_gb_month: 0.001, as_of: '2026-11-01' }\n";
        let c = config(yaml);
        let deep = c.prices.monthly(c.destination("aws_s3").unwrap(), 1000 << 30).unwrap();
        assert_eq!((deep.amount, deep.as_of.as_str()), (1.0, "2026-11-01"));
        let nas = c.prices.monthly(c.destination("nas").unwrap(), 2 << 30).unwrap();
        assert_eq!((nas.amount, nas.currency.as_str(), nas.as_of.as_str()), (0.01, "USD", "config.yaml"));
    }

    #[test]
    fn a_disk_and_an_unpriced_class_have_no_estimate() {
        let c = config(
            "destinations:\n  local:\n    enabled: true\n    path: /tmp/x\n  scaleway:\n    enabled: true\n    bucket: b\n    storage_class: MYSTERY\n",
        );
        assert_eq!(c.prices.monthly(c.destination("local").unwrap(), 1 << 30), None);
        assert_eq!(c.prices.monthly(c.destination("scaleway").unwrap(), 1 << 30), None);
    }

    #[test]
    fn every_published_class_has_a_date_and_a_currency() {
        for provider in PROVIDERS {
            for p in provider.prices {
                assert!(p.per_gb_month > 0.0 && p.download_per_gb >= 0.0, "{}", provider.type_name);
                assert!(!p.as_of.is_empty() && p.currency.len() == 3, "{}", provider.type_name);
            }
        }
    }
}

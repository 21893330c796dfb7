//! Shopify's `tracking_company` names (its list of supported carriers, as the admin offers them)
//! onto the carrier table's codes (templates/carriers.toml). Matched without case, spaces,
//! punctuation or a parenthesised language tag (`Japan Post (JA)`).

/// Names by normalised form; several of Shopify's names may lead to one code.
const NAMES: &[(&str, &str)] = &[
    ("ups", "ups"),
    ("upsmailinnovations", "ups"),
    ("usps", "usps"),
    ("fedex", "fedex"),
    ("dhl", "dhl"),
    ("dhlexpress", "dhl"),
    ("dhlecommerce", "dhl"),
    ("dhlecommerceasia", "dhl"),
    ("dpd", "dpd"),
    ("dpduk", "dpd"),
    ("dpdlocal", "dpd"),
    ("gls", "gls"),
    ("colissimo", "colissimo"),
    ("correos", "correos"),
    ("royalmail", "royalmail"),
    ("evri", "evri"),
    ("hermes", "evri"),
    ("hermesuk", "evri"),
    ("japanpost", "japanpost"),
    ("sagawa", "sagawa"),
    ("yamato", "yamato"),
    ("yamatotransport", "yamato"),
    ("sfexpress", "sf"),
    ("sf", "sf"),
    ("ztoexpress", "zto"),
    ("ytoexpress", "yto"),
    ("jdlogistics", "jd"),
    ("cjlogistics", "cj"),
    ("cjkoreaexpress", "cj"),
    ("koreapost", "epost"),
    ("hanjin", "hanjin"),
    ("hanjinshipping", "hanjin"),
    ("lottegloballogistics", "lotte"),
    ("yurticikargo", "yurtici"),
    ("araskargo", "aras"),
    ("mngkargo", "mng"),
    ("pttkargo", "ptt"),
    ("ptt", "ptt"),
];

/// The carrier table's code for a Shopify carrier name (or another platform's name or slug for
/// it: WooCommerce's tracking plugins', AfterShip's, EasyPost's), if it has one.
pub(crate) fn code(tracking_company: &str) -> Option<&'static str> {
    let name = tracking_company.split('(').next().unwrap_or_default();
    let normal: String = name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'ç' => 'c',
            'ı' | 'i' => 'i',
            'ş' => 's',
            'ğ' => 'g',
            'ü' => 'u',
            'ö' => 'o',
            c => c,
        })
        .collect();
    NAMES.iter().find(|(n, _)| *n == normal).map(|(_, code)| *code)
}

#[cfg(test)]
mod tests {
    use super::code;

    #[test]
    fn shopify_names_find_the_table_codes() {
        assert_eq!(code("UPS"), Some("ups"));
        assert_eq!(code("DHL Express"), Some("dhl"));
        assert_eq!(code("Japan Post (JA)"), Some("japanpost"));
        assert_eq!(code("Yurtiçi Kargo"), Some("yurtici"));
        assert_eq!(code("Canada Post"), None);
        assert_eq!(code(""), None);
    }

    #[test]
    fn every_code_is_in_the_carrier_table() {
        let table: toml::Table = toml::from_str(include_str!("../../../templates/carriers.toml")).expect("table");
        for (_, code) in super::NAMES {
            assert!(table.contains_key(*code), "{code}");
        }
    }
}

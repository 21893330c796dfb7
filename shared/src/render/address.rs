//! Postal addresses written the way each country's post expects them.

use crate::domain::Address;

/// The lines of an address: big-to-small in East Asia, postal code before the city in most of
/// Europe, after it in North America, on its own line in the UK.
pub fn lines(a: &Address) -> Vec<String> {
    let text = |t: &crate::domain::Text| t.as_str().trim().to_owned();
    let (name, line1, city, postal, country) = (
        text(&a.name),
        text(&a.line1),
        text(&a.city),
        text(&a.postal_code),
        text(&a.country).to_ascii_uppercase(),
    );
    let line2 = a.line2.as_ref().map(text).filter(|l| !l.is_empty());
    let region = a.region.as_ref().map(text).filter(|r| !r.is_empty());
    let mut out = vec![name];
    match country.as_str() {
        "JP" => {
            out.push(format!("〒{postal}"));
            out.push(format!("{}{city}", region.unwrap_or_default()));
            out.push(line1);
            out.extend(line2);
        }
        "KR" | "CN" | "TW" => {
            out.push(
                [region.as_deref(), Some(&city)]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            out.push(line1);
            out.extend(line2);
            out.push(postal);
        }
        "US" | "CA" | "AU" => {
            out.push(line1);
            out.extend(line2);
            out.push(match region {
                Some(region) => format!("{city}, {region} {postal}"),
                None => format!("{city} {postal}"),
            });
        }
        "GB" | "IE" => {
            out.push(line1);
            out.extend(line2);
            out.push(city);
            out.extend(region);
            out.push(postal);
        }
        _ => {
            out.push(line1);
            out.extend(line2);
            out.push(format!("{postal} {city}"));
            out.extend(region);
        }
    }
    out.push(country);
    out.retain(|l| !l.trim().is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Text;

    fn address(country: &str, region: Option<&str>) -> Address {
        Address {
            name: Text::new("A Person"),
            line1: Text::new("Line 1"),
            line2: None,
            city: Text::new("City"),
            region: region.map(Text::new),
            postal_code: Text::new("12345"),
            country: Text::new(country),
        }
    }

    #[test]
    fn each_country_orders_its_address_lines_its_own_way() {
        assert_eq!(
            lines(&address("US", Some("IL"))),
            ["A Person", "Line 1", "City, IL 12345", "US"]
        );
        assert_eq!(lines(&address("DE", None)), ["A Person", "Line 1", "12345 City", "DE"]);
        assert_eq!(
            lines(&address("JP", Some("東京都"))),
            ["A Person", "〒12345", "東京都City", "Line 1", "JP"]
        );
        assert_eq!(
            lines(&address("KR", Some("서울특별시"))),
            ["A Person", "서울특별시 City", "Line 1", "12345", "KR"]
        );
        assert_eq!(
            lines(&address("GB", None)),
            ["A Person", "Line 1", "City", "12345", "GB"]
        );
    }
}

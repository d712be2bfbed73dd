//! SODA 1.0 synchronous cutouts (IVOA SODA 1.0, section 3).
//!
//! A [`SodaQuery`] holds the filtering parameters: `ID`, `POS` (`CIRCLE`, `RANGE`,
//! `POLYGON`), `CIRCLE`, `POLYGON`, `BAND`, `TIME` and `POL`.
//! It becomes a GET request either at a plain endpoint ([`sync_request`], e.g. ESO's
//! `{dataportal}/dataPortal/soda`), or through a `#cutout`/`#proc` service descriptor
//! ([`request_from_descriptor`]), which supplies the fixed `ID` and checks values
//! against the declared bounds (a circle outside the declared `CIRCLE` `MAX` is refused
//! before any request is sent).
//! GET is used because DaCHS answers POST with a 500.
//! [`check_response`] turns the statuses of SODA services into typed errors:
//! 204 (nothing to cut out), 404 (unknown ID), 400/422 (bad parameters).

use url::Url;

use crate::descriptor::{Cap, NoRow, ServiceDescriptor};
use crate::query::{get_request, join_f64};
use crate::{Error, Result};

/// A `POS` shape (DALI 1.1 section 3.3.5 shapes written as SODA strings).
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// `CIRCLE ra dec radius` (degrees).
    Circle {
        /// Right ascension of the centre.
        ra: f64,
        /// Declination of the centre.
        dec: f64,
        /// Radius.
        radius: f64,
    },
    /// `RANGE ra1 ra2 dec1 dec2` (degrees; infinite bounds allowed).
    Range {
        /// RA interval.
        ra: (f64, f64),
        /// Dec interval.
        dec: (f64, f64),
    },
    /// `POLYGON ra1 dec1 ra2 dec2 ...` (degrees, at least three vertices).
    Polygon(Vec<(f64, f64)>),
}

impl Shape {
    /// The `POS` string.
    pub fn to_pos(&self) -> String {
        match self {
            Shape::Circle { ra, dec, radius } => {
                format!("CIRCLE {}", join_f64(&[*ra, *dec, *radius]))
            }
            Shape::Range { ra, dec } => format!("RANGE {}", join_f64(&[ra.0, ra.1, dec.0, dec.1])),
            Shape::Polygon(v) => format!("POLYGON {}", polygon_text(v)),
        }
    }

    /// Parses a `POS` string such as `CIRCLE 10 20 0.5`.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] naming `POS`.
    pub fn parse_pos(text: &str) -> Result<Shape> {
        let invalid = |reason: &str| Error::InvalidValue {
            param: "POS".into(),
            value: text.to_owned(),
            reason: reason.to_owned(),
        };
        let mut words = text.split_whitespace();
        let kind = words
            .next()
            .ok_or_else(|| invalid("empty"))?
            .to_ascii_uppercase();
        let numbers: Vec<f64> = words
            .map(|w| w.parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| invalid("not a number"))?;
        let shape = match (kind.as_str(), numbers.as_slice()) {
            ("CIRCLE", [ra, dec, radius]) => Shape::Circle {
                ra: *ra,
                dec: *dec,
                radius: *radius,
            },
            ("RANGE", [a, b, c, d]) => Shape::Range {
                ra: (*a, *b),
                dec: (*c, *d),
            },
            ("POLYGON", n) if n.len() >= 6 && n.len() % 2 == 0 => {
                Shape::Polygon(n.chunks_exact(2).map(|p| (p[0], p[1])).collect())
            }
            _ => {
                return Err(invalid(
                    "expected CIRCLE ra dec r, RANGE ra1 ra2 dec1 dec2 or POLYGON ra dec ...",
                ));
            }
        };
        shape.validate()?;
        Ok(shape)
    }

    fn validate(&self) -> Result<()> {
        self.cap()
            .map(|_| ())
            .map_err(|reason| Error::InvalidValue {
                param: "POS".into(),
                value: self.to_pos(),
                reason,
            })
    }

    fn cap(&self) -> std::result::Result<Cap, String> {
        match self {
            Shape::Circle { ra, dec, radius } => Cap::circle(&[*ra, *dec, *radius]),
            Shape::Range { ra, dec } => {
                let clamp_ra = |v: f64| {
                    if v.is_finite() {
                        v
                    } else if v < 0.0 {
                        0.0
                    } else {
                        360.0
                    }
                };
                let clamp_dec = |v: f64| v.clamp(-90.0, 90.0);
                if ra.0 > ra.1 || dec.0 > dec.1 {
                    return Err("a range needs lower <= upper".into());
                }
                if !(ra.0.is_finite() && ra.1.is_finite()) || ra.1 - ra.0 >= 180.0 {
                    // Wide ranges: no useful bounding cap, accept.
                    return Cap::circle(&[0.0, 0.0, 180.0]);
                }
                Cap::range(
                    (clamp_ra(ra.0), clamp_ra(ra.1)),
                    (clamp_dec(dec.0), clamp_dec(dec.1)),
                )
            }
            Shape::Polygon(v) => {
                let flat: Vec<f64> = v.iter().flat_map(|(a, b)| [*a, *b]).collect();
                Cap::polygon(&flat)
            }
        }
    }
}

fn polygon_text(vertices: &[(f64, f64)]) -> String {
    let flat: Vec<f64> = vertices.iter().flat_map(|(a, b)| [*a, *b]).collect();
    join_f64(&flat)
}

/// The filtering parameters of a SODA sync request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SodaQuery {
    /// `ID`s (one per dataset; a descriptor's fixed `ID` is used when empty).
    pub ids: Vec<String>,
    /// `POS` shapes.
    pub pos: Vec<Shape>,
    /// `CIRCLE ra dec radius` in degrees.
    pub circle: Option<(f64, f64, f64)>,
    /// `POLYGON` vertices in degrees.
    pub polygon: Option<Vec<(f64, f64)>>,
    /// `BAND lo hi`: vacuum wavelength in metres.
    pub band: Option<(f64, f64)>,
    /// `TIME lo hi`: MJD.
    pub time: Option<(f64, f64)>,
    /// `POL` states (`I`, `Q`, `U`, `V` ...).
    pub pol: Vec<String>,
    /// Any other parameter, sent as given.
    pub extra: Vec<(String, String)>,
}

impl SodaQuery {
    /// The query parameters (without `ID`), checked for shape.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for a malformed shape or interval.
    pub fn filter_params(&self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for shape in &self.pos {
            shape.validate()?;
            out.push(("POS".to_owned(), shape.to_pos()));
        }
        if let Some((ra, dec, r)) = self.circle {
            Cap::circle(&[ra, dec, r]).map_err(|reason| Error::InvalidValue {
                param: "CIRCLE".into(),
                value: join_f64(&[ra, dec, r]),
                reason,
            })?;
            out.push(("CIRCLE".to_owned(), join_f64(&[ra, dec, r])));
        }
        if let Some(vertices) = &self.polygon {
            let text = polygon_text(vertices);
            Shape::Polygon(vertices.clone())
                .cap()
                .map_err(|reason| Error::InvalidValue {
                    param: "POLYGON".into(),
                    value: text.clone(),
                    reason,
                })?;
            out.push(("POLYGON".to_owned(), text));
        }
        for (name, interval) in [("BAND", self.band), ("TIME", self.time)] {
            if let Some((lo, hi)) = interval {
                if lo.is_nan() || hi.is_nan() || lo > hi {
                    return Err(Error::InvalidValue {
                        param: name.into(),
                        value: join_f64(&[lo, hi]),
                        reason: "an interval needs lower <= upper".into(),
                    });
                }
                out.push((name.to_owned(), join_f64(&[lo, hi])));
            }
        }
        for pol in &self.pol {
            out.push(("POL".to_owned(), pol.clone()));
        }
        out.extend(self.extra.iter().cloned());
        Ok(out)
    }
}

/// A GET request at a plain SODA sync endpoint (e.g. ESO's `{dataportal}/dataPortal/soda`).
///
/// # Errors
/// [`Error::MissingParam`] without an `ID`; those of [`SodaQuery::filter_params`].
pub fn sync_request(endpoint: &Url, query: &SodaQuery) -> Result<http::Request<Vec<u8>>> {
    if query.ids.is_empty() {
        return Err(Error::MissingParam {
            param: "ID".into(),
            descriptor: endpoint.to_string(),
        });
    }
    let mut params: Vec<(String, String)> = query
        .ids
        .iter()
        .map(|id| ("ID".to_owned(), id.clone()))
        .collect();
    params.extend(query.filter_params()?);
    get_request(endpoint, &params)
}

/// A GET request through a SODA service descriptor: the descriptor's fixed values
/// (its `ID`) are used, user values are checked against its options and bounds, and
/// parameters it does not declare are refused.
///
/// # Errors
/// [`Error::NotSoda`] if the descriptor is not a SODA service, and those of
/// [`ServiceDescriptor::params_for`].
pub fn request_from_descriptor(
    descriptor: &ServiceDescriptor,
    query: &SodaQuery,
) -> Result<http::Request<Vec<u8>>> {
    if !descriptor.is_soda() {
        return Err(Error::NotSoda {
            descriptor: descriptor.label(),
            standard_id: descriptor.standard_id.clone(),
        });
    }
    let mut user: Vec<(String, String)> = query
        .ids
        .iter()
        .map(|id| ("ID".to_owned(), id.clone()))
        .collect();
    user.extend(query.filter_params()?);
    // POS is free text; its shape was checked above. Check its position against a
    // declared CIRCLE or POLYGON footprint, which describe the same coverage.
    for shape in &query.pos {
        if let (Ok(cap), Some(footprint)) = (
            shape.cap(),
            descriptor
                .param("CIRCLE")
                .or_else(|| descriptor.param("POLYGON")),
        ) {
            if let Some(max) = &footprint.max {
                let numbers: Vec<f64> = max
                    .value
                    .split_whitespace()
                    .filter_map(|t| t.parse().ok())
                    .collect();
                let declared = if numbers.len() == 3 {
                    Cap::circle(&numbers)
                } else {
                    Cap::polygon(&numbers)
                };
                if let Ok(declared) = declared {
                    if !declared.overlaps(&cap) {
                        return Err(Error::OutOfBounds {
                            param: "POS".into(),
                            value: shape.to_pos(),
                            min: None,
                            max: Some(max.value.clone()),
                        });
                    }
                }
            }
        }
    }
    let params = descriptor.params_for(&NoRow, &user)?;
    if !params.iter().any(|(n, _)| n.eq_ignore_ascii_case("ID")) {
        return Err(Error::MissingParam {
            param: "ID".into(),
            descriptor: descriptor.label(),
        });
    }
    get_request(&descriptor.access_url()?, &params)
}

/// Classifies the status of a SODA response.
///
/// # Errors
/// [`Error::SodaNoData`] for 204, [`Error::SodaNotFound`] for 404,
/// [`Error::SodaUsage`] for 400 and 422 (with the server's text, e.g. DaCHS's
/// `UsageError: ...`), [`Error::Status`] for any other non-2xx status.
pub fn check_response(url: &str, status: u16, body_excerpt: &str) -> Result<()> {
    let excerpt = body_excerpt.trim().to_owned();
    match status {
        204 => Err(Error::SodaNoData {
            url: url.to_owned(),
        }),
        200..=299 => Ok(()),
        404 => Err(Error::SodaNotFound {
            url: url.to_owned(),
        }),
        400 | 422 => Err(Error::SodaUsage {
            url: url.to_owned(),
            message: excerpt,
        }),
        _ => Err(Error::Status {
            url: url.to_owned(),
            status,
            body_excerpt: excerpt,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pos_strings_round_trip() {
        for text in [
            "CIRCLE 10 20 0.5",
            "RANGE 10 11 -1 1",
            "POLYGON 10 0 11 0 11 1",
        ] {
            assert_eq!(Shape::parse_pos(text).unwrap().to_pos(), text);
        }
        assert!(Shape::parse_pos("CIRCLE 10 95 1").is_err());
        assert!(Shape::parse_pos("BOX 1 2 3 4").is_err());
        assert!(Shape::parse_pos("POLYGON 1 2 3 4").is_err());
    }

    #[test]
    fn plain_endpoint_request() {
        let endpoint = Url::parse("https://dataportal.eso.org/dataPortal/soda").unwrap();
        let query = SodaQuery {
            ids: vec!["ivo://eso.org/ID?ADP.2026-08-19T13:19:07.647".into()],
            circle: Some((88.79, 7.407, 0.001)),
            band: Some((5e-7, 5.1e-7)),
            pol: vec!["I".into()],
            ..SodaQuery::default()
        };
        let req = sync_request(&endpoint, &query).unwrap();
        assert_eq!(req.method(), http::Method::GET);
        assert_eq!(
            req.uri().to_string(),
            "https://dataportal.eso.org/dataPortal/soda?ID=ivo://eso.org/ID?ADP.2026-08-19T13:19:07.647&CIRCLE=88.79%207.407%200.001&BAND=5e-7%205.1e-7&POL=I"
        );
        assert!(matches!(
            sync_request(&endpoint, &SodaQuery::default()),
            Err(Error::MissingParam { .. })
        ));
    }

    #[test]
    fn statuses_become_typed_errors() {
        assert!(check_response("u", 200, "").is_ok());
        assert!(matches!(
            check_response("u", 204, ""),
            Err(Error::SodaNoData { .. })
        ));
        assert!(matches!(
            check_response("u", 404, "<html>"),
            Err(Error::SodaNotFound { .. })
        ));
        assert!(matches!(
            check_response("u", 422, "UsageError: Field CIRCLE: 'abc' is not a valid literal for CIRCLE"),
            Err(Error::SodaUsage { ref message, .. }) if message.starts_with("UsageError")
        ));
        assert!(matches!(
            check_response("u", 500, "x"),
            Err(Error::Status { status: 500, .. })
        ));
    }
}

//! Simple DAL queries: SIA 1.0, SIA 2.0 and SSA 1.1 request builders and their results.
//!
//! They live in this crate because the point of their results is the service
//! descriptors they carry (DataLink, SODA): [`DalResults`] keeps the table and its
//! descriptors together, so a row can be followed with
//! [`ServiceDescriptor::request_for_row`](crate::ServiceDescriptor::request_for_row).
//!
//! - SIA 1.0 (IVOA SIA 1.0, section 4): `POS=ra,dec`, `SIZE=w[,h]`, `FORMAT`.
//! - SIA 2.0 (IVOA SIA 2.0, section 2): `POS` shapes, `BAND`, `TIME`, `POL`,
//!   `COLLECTION`, `MAXREC`, `RESPONSEFORMAT`.
//! - SSA 1.1 (IVOA SSA 1.1, section 8): `REQUEST=queryData`, `POS`, `SIZE`, `BAND`,
//!   `TIME`, `FORMAT`, `MAXREC`; ESO's service is `{archive}/ssap`.

use url::Url;
use votable::{QueryStatus, VoTable};

use crate::descriptor::{self, ServiceDescriptor};
use crate::query::{fmt_f64, get_request, join_f64};
use crate::soda::Shape;
use crate::{Error, Result, Warning};

/// An SIA 1.0 query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sia1Query {
    /// `POS=ra,dec` in degrees (ICRS).
    pub pos: (f64, f64),
    /// `SIZE=width[,height]` in degrees (`None`: the service default).
    pub size: Option<(f64, Option<f64>)>,
    /// `FORMAT` (e.g. `image/fits`, `ALL`).
    pub format: Option<String>,
    /// `INTERSECT` (`COVERS`, `ENCLOSED`, `CENTER`, `OVERLAPS`).
    pub intersect: Option<String>,
    /// Other parameters, as given.
    pub extra: Vec<(String, String)>,
}

/// An SIA 2.0 query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sia2Query {
    /// `POS` shapes (ORed).
    pub pos: Vec<Shape>,
    /// `BAND lo hi` in metres.
    pub band: Option<(f64, f64)>,
    /// `TIME lo hi` in MJD.
    pub time: Option<(f64, f64)>,
    /// `POL` states.
    pub pol: Vec<String>,
    /// `COLLECTION` names.
    pub collection: Vec<String>,
    /// `MAXREC`.
    pub maxrec: Option<u64>,
    /// `RESPONSEFORMAT`.
    pub response_format: Option<String>,
    /// Other parameters, as given.
    pub extra: Vec<(String, String)>,
}

/// An SSA 1.1 `queryData` query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SsaQuery {
    /// `POS=ra,dec` in degrees.
    pub pos: Option<(f64, f64)>,
    /// `SIZE` diameter in degrees.
    pub size: Option<f64>,
    /// `BAND`: a wavelength range in metres as `lo/hi` (either side may be open).
    pub band: Option<(Option<f64>, Option<f64>)>,
    /// `TIME`: an ISO 8601 range `start/end` (either side may be open).
    pub time: Option<(Option<String>, Option<String>)>,
    /// `FORMAT` (`votable`, `fits`, `all`, a MIME type ...).
    pub format: Option<String>,
    /// `MAXREC`.
    pub maxrec: Option<u64>,
    /// Other parameters, as given.
    pub extra: Vec<(String, String)>,
}

fn check_position(ra: f64, dec: f64) -> Result<()> {
    if !ra.is_finite() || !dec.is_finite() || !(-90.0..=90.0).contains(&dec) {
        return Err(Error::InvalidValue {
            param: "POS".into(),
            value: format!("{ra},{dec}"),
            reason: "expected finite ra and a declination in [-90, 90]".into(),
        });
    }
    Ok(())
}

fn check_positive(name: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        return Err(Error::InvalidValue {
            param: name.into(),
            value: fmt_f64(v),
            reason: "must be a positive number".into(),
        });
    }
    Ok(())
}

/// The GET request of an SIA 1.0 query at `base` (which may carry its own query,
/// e.g. HEASARC's `sia?table=chanmaster`).
///
/// # Errors
/// [`Error::InvalidValue`] for a bad position or size; [`Error::Request`].
pub fn sia1_request(base: &Url, query: &Sia1Query) -> Result<http::Request<Vec<u8>>> {
    let (ra, dec) = query.pos;
    check_position(ra, dec)?;
    let mut params = vec![(
        "POS".to_owned(),
        format!("{},{}", fmt_f64(ra), fmt_f64(dec)),
    )];
    if let Some((w, h)) = query.size {
        check_positive("SIZE", w)?;
        let size = match h {
            Some(h) => {
                check_positive("SIZE", h)?;
                format!("{},{}", fmt_f64(w), fmt_f64(h))
            }
            None => fmt_f64(w),
        };
        params.push(("SIZE".to_owned(), size));
    }
    if let Some(f) = &query.format {
        params.push(("FORMAT".to_owned(), f.clone()));
    }
    if let Some(i) = &query.intersect {
        params.push(("INTERSECT".to_owned(), i.clone()));
    }
    params.extend(query.extra.iter().cloned());
    get_request(base, &params)
}

/// The GET request of an SIA 2.0 query.
///
/// # Errors
/// [`Error::InvalidValue`] for malformed shapes or intervals; [`Error::Request`].
pub fn sia2_request(base: &Url, query: &Sia2Query) -> Result<http::Request<Vec<u8>>> {
    let soda_like = crate::soda::SodaQuery {
        pos: query.pos.clone(),
        band: query.band,
        time: query.time,
        pol: query.pol.clone(),
        ..Default::default()
    };
    let mut params = soda_like.filter_params()?;
    for c in &query.collection {
        params.push(("COLLECTION".to_owned(), c.clone()));
    }
    if let Some(m) = query.maxrec {
        params.push(("MAXREC".to_owned(), m.to_string()));
    }
    if let Some(f) = &query.response_format {
        params.push(("RESPONSEFORMAT".to_owned(), f.clone()));
    }
    params.extend(query.extra.iter().cloned());
    get_request(base, &params)
}

/// The GET request of an SSA `queryData` query (e.g. at ESO's `{archive}/ssap`).
///
/// # Errors
/// [`Error::InvalidValue`] for a bad position, size or range; [`Error::Request`].
pub fn ssa_request(base: &Url, query: &SsaQuery) -> Result<http::Request<Vec<u8>>> {
    let mut params = vec![("REQUEST".to_owned(), "queryData".to_owned())];
    if let Some((ra, dec)) = query.pos {
        check_position(ra, dec)?;
        params.push((
            "POS".to_owned(),
            format!("{},{}", fmt_f64(ra), fmt_f64(dec)),
        ));
    }
    if let Some(size) = query.size {
        check_positive("SIZE", size)?;
        params.push(("SIZE".to_owned(), fmt_f64(size)));
    }
    if let Some((lo, hi)) = query.band {
        if let (Some(l), Some(h)) = (lo, hi) {
            if l > h || l.is_nan() || h.is_nan() {
                return Err(Error::InvalidValue {
                    param: "BAND".into(),
                    value: join_f64(&[l, h]),
                    reason: "an interval needs lower <= upper".into(),
                });
            }
        }
        let side = |v: Option<f64>| v.map(fmt_f64).unwrap_or_default();
        params.push(("BAND".to_owned(), format!("{}/{}", side(lo), side(hi))));
    }
    if let Some((start, end)) = &query.time {
        params.push((
            "TIME".to_owned(),
            format!(
                "{}/{}",
                start.as_deref().unwrap_or(""),
                end.as_deref().unwrap_or("")
            ),
        ));
    }
    if let Some(f) = &query.format {
        params.push(("FORMAT".to_owned(), f.clone()));
    }
    if let Some(m) = query.maxrec {
        params.push(("MAXREC".to_owned(), m.to_string()));
    }
    params.extend(query.extra.iter().cloned());
    get_request(base, &params)
}

/// The results of a DAL query: the VOTable and the service descriptors it carries.
#[derive(Debug, Clone)]
pub struct DalResults {
    /// The parsed document.
    pub votable: VoTable,
    /// Its service descriptors (DataLink, SODA ...), in document order.
    pub descriptors: Vec<ServiceDescriptor>,
    /// Whether the service truncated the result (`QUERY_STATUS` = `OVERFLOW`).
    pub overflow: bool,
}

impl DalResults {
    /// The results table (the first table of the document).
    pub fn table(&self) -> Option<&votable::Table> {
        self.votable.first_table()
    }

    /// The DataLink descriptor, if the service declared one (pyvo's `getdatalink`).
    pub fn datalink(&self) -> Option<&ServiceDescriptor> {
        descriptor::find_datalink(&self.descriptors)
    }
}

/// Parses the response of an SIA, SSA (or TAP) query.
///
/// # Errors
/// [`Error::VoTable`] for a malformed document; [`Error::QueryFailed`] when the
/// service reports `QUERY_STATUS` = `ERROR` (DAL services answer errors with 200).
pub fn parse_results(bytes: &[u8]) -> Result<(DalResults, Vec<Warning>)> {
    let votable = votable::parse(bytes).map_err(|source| Error::VoTable {
        context: "query response".to_owned(),
        source: Box::new(source),
    })?;
    from_votable(votable)
}

/// Like [`parse_results`] for an already parsed document.
///
/// # Errors
/// [`Error::QueryFailed`] when `QUERY_STATUS` is `ERROR`.
pub fn from_votable(votable: VoTable) -> Result<(DalResults, Vec<Warning>)> {
    let status = votable.query_status();
    if let Some(QueryStatus::Error(message)) = status {
        return Err(Error::QueryFailed { message });
    }
    let (descriptors, mut warnings) = descriptor::descriptors(&votable.document);
    let overflow = matches!(status, Some(QueryStatus::Overflow));
    if overflow {
        warnings.push(Warning::Overflow);
    }
    Ok((
        DalResults {
            votable,
            descriptors,
            overflow,
        },
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sia1_keeps_the_base_query() {
        let base =
            Url::parse("https://heasarc.gsfc.nasa.gov/xamin_aws/vo/sia?table=chanmaster").unwrap();
        let q = Sia1Query {
            pos: (182.635755, 39.405849),
            size: Some((0.1, None)),
            ..Sia1Query::default()
        };
        assert_eq!(
            sia1_request(&base, &q).unwrap().uri().to_string(),
            "https://heasarc.gsfc.nasa.gov/xamin_aws/vo/sia?table=chanmaster&POS=182.635755,39.405849&SIZE=0.1"
        );
        let bad = Sia1Query {
            pos: (1.0, 91.0),
            ..Sia1Query::default()
        };
        assert!(sia1_request(&base, &bad).is_err());
    }

    #[test]
    fn sia2_and_ssa_parameters() {
        let base =
            Url::parse("http://127.0.0.1:18080/__system__/siap2/sitewide/siap2.xml").unwrap();
        let q = Sia2Query {
            pos: vec![Shape::Circle {
                ra: 155.0,
                dec: -1.0,
                radius: 1.0,
            }],
            band: Some((4e-7, 6e-7)),
            maxrec: Some(10),
            ..Sia2Query::default()
        };
        assert_eq!(
            sia2_request(&base, &q).unwrap().uri().query(),
            Some("POS=CIRCLE%20155%20-1%201&BAND=4e-7%206e-7&MAXREC=10")
        );
        let base = Url::parse("https://archive.eso.org/ssap").unwrap();
        let q = SsaQuery {
            pos: Some((123.26956, -34.57804)),
            size: Some(0.2),
            band: Some((Some(5e-7), None)),
            time: Some((Some("2010-01-01".into()), None)),
            format: Some("votable".into()),
            maxrec: Some(100),
            ..SsaQuery::default()
        };
        assert_eq!(
            ssa_request(&base, &q).unwrap().uri().to_string(),
            "https://archive.eso.org/ssap?REQUEST=queryData&POS=123.26956,-34.57804&SIZE=0.2&BAND=5e-7/&TIME=2010-01-01/&FORMAT=votable&MAXREC=100"
        );
    }
}

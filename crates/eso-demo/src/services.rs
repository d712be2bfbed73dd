//! DataLink, calSelector, file downloads (with ranges) and SODA cutouts.

use http::header::{self, HeaderValue};
use http::{Method, StatusCode};

use crate::auth::Auth;
use crate::catalog::{Mode, is_protected};
use crate::http::{
    RangeAsk, Req, Resp, auth_required, body, parse_range, text, votable_error, xml,
};
use crate::server::State;
use crate::synthetic;
use crate::vot::{TableDoc, escape};

const IVO_PREFIX: &str = "ivo://eso.org/ID?";
const VOTABLE: &str = "application/x-votable+xml";

/// The `dp_id` in a DataLink/SODA `ID` (`ivo://eso.org/ID?<dp_id>` or a bare `dp_id`).
fn dp_id_of(id: &str) -> &str {
    let id = id.trim();
    id.strip_prefix(IVO_PREFIX).unwrap_or(id)
}

/// A DataLink response made of one error row (DataLink 1.1 section 3.4).
fn links_error_document(id: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <VOTABLE version=\"1.3\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\n\
         <RESOURCE type=\"results\">\n<INFO name=\"QUERY_STATUS\" value=\"OK\"/>\n<TABLE>\n\
         <FIELD name=\"ID\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.id;meta.main\"/>\n\
         <FIELD name=\"access_url\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.ref.url\"/>\n\
         <FIELD name=\"service_def\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.ref\"/>\n\
         <FIELD name=\"error_message\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.code.error\"/>\n\
         <FIELD name=\"semantics\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.code\"/>\n\
         <FIELD name=\"description\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.note\"/>\n\
         <FIELD name=\"content_type\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.code.mime\"/>\n\
         <FIELD name=\"content_length\" datatype=\"long\" unit=\"byte\" ucd=\"phys.size;meta.file\"/>\n\
         <DATA><TABLEDATA>\n<TR><TD>{}</TD><TD/><TD/><TD>{}</TD><TD>#this</TD><TD/><TD/><TD/></TR>\n\
         </TABLEDATA></DATA>\n</TABLE>\n</RESOURCE>\n</VOTABLE>\n",
        escape(id),
        escape(message)
    )
}

/// `GET /datalink/links?ID=...` (several `ID`s allowed: their rows are concatenated).
pub(crate) fn datalink(state: &State, req: &Req) -> Resp {
    if req.method != Method::GET && req.method != Method::HEAD && req.method != Method::POST {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "DataLink {links} takes GET or POST",
        );
    }
    let ids = req.params_named("ID");
    if ids.is_empty() {
        return votable_error(
            StatusCode::BAD_REQUEST,
            "missing parameter ID (ivo://eso.org/ID?<dp_id>)",
        );
    }
    if let Auth::Invalid(_) = req.auth {
        return auth_required(&req.auth, "DataLink");
    }
    // Filtered or special views (progenitors, documentation) were not recorded.
    let options: Vec<&str> = ["INCLUDE", "EXCLUDE", "eso_download"]
        .into_iter()
        .filter(|name| req.param(name).is_some())
        .collect();
    let mut merged: Option<TableDoc> = None;
    for id in ids {
        let dp_id = dp_id_of(id);
        let full_id = format!("{IVO_PREFIX}{dp_id}");
        let document = match state.catalog.links.get(dp_id) {
            Some(_) if !options.is_empty() => links_error_document(
                &full_id,
                &format!(
                    "NotFoundFault: the offline demo archive has no recorded answer for {} on {dp_id}",
                    options.join(", ")
                ),
            ),
            Some(_) if is_protected(dp_id) && req.auth.user().is_none() => links_error_document(
                &full_id,
                &format!(
                    "NotAuthorizedFault: {dp_id} has protected metadata: log in and send your token \
                     (demo user \"demo\", password \"demo\")"
                ),
            ),
            Some(document) => document.clone(),
            None => links_error_document(
                &full_id,
                &format!("NotFoundFault: {dp_id} is not in the offline demo archive"),
            ),
        };
        match (&mut merged, TableDoc::parse(&document)) {
            (None, Some(table)) => merged = Some(table),
            (Some(all), Some(table)) => all.append_rows(&table),
            (_, None) => return xml(StatusCode::OK, VOTABLE, document),
        }
    }
    match merged {
        Some(table) => xml(StatusCode::OK, VOTABLE, table.to_xml()),
        None => votable_error(StatusCode::BAD_REQUEST, "no ID"),
    }
}

/// `GET|POST /calselector/v1/associations`.
pub(crate) fn calselector(state: &State, req: &Req) -> Resp {
    if req.method != Method::GET && req.method != Method::HEAD && req.method != Method::POST {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "calSelector takes GET (one dp_id) or POST (several)",
        );
    }
    let dp_ids: Vec<&str> = req
        .params_named("dp_id")
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .collect();
    if dp_ids.is_empty() {
        return text(StatusCode::BAD_REQUEST, "missing parameter dp_id");
    }
    let Some(mode_text) = req.param("mode") else {
        return text(
            StatusCode::BAD_REQUEST,
            "missing parameter mode (Raw2Raw or Raw2Master)",
        );
    };
    let Some(mode) = Mode::parse(mode_text) else {
        return text(
            StatusCode::BAD_REQUEST,
            format!("mode must be Raw2Raw or Raw2Master, got {mode_text:?}"),
        );
    };
    let votable = match req.param("responseformat") {
        None => false,
        Some(format) if format.eq_ignore_ascii_case("votable") => true,
        Some(format) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("responseformat must be votable (or absent), got {format:?}"),
            );
        }
    };
    if let Auth::Invalid(_) = req.auth {
        return auth_required(&req.auth, "calSelector");
    }
    if let Some(protected) = dp_ids.iter().find(|dp_id| is_protected(dp_id)) {
        if req.auth.user().is_none() {
            return auth_required(
                &req.auth,
                &format!("the calibration cascade of {protected}"),
            );
        }
    }
    let known = |votable: bool| -> String {
        let keys: Vec<String> = if votable {
            state
                .catalog
                .calsel_votables
                .keys()
                .map(|(id, mode)| format!("{id} {}", mode.as_str()))
                .collect()
        } else {
            state
                .catalog
                .calsel_trees
                .keys()
                .map(|(id, mode)| format!("{id} {}", mode.as_str()))
                .collect()
        };
        keys.join(", ")
    };
    if votable {
        let mut merged: Option<TableDoc> = None;
        for dp_id in &dp_ids {
            let Some(document) = state
                .catalog
                .calsel_votables
                .get(&((*dp_id).to_owned(), mode))
            else {
                return text(
                    StatusCode::NOT_FOUND,
                    format!(
                        "the offline demo archive has no {} cascade in VOTable form for {dp_id}; it has: {}",
                        mode.as_str(),
                        known(true)
                    ),
                );
            };
            let Some(table) = TableDoc::parse(document) else {
                return xml(StatusCode::OK, VOTABLE, document.clone());
            };
            match &mut merged {
                None => merged = Some(table),
                Some(all) => {
                    // One cascade for all frames: each frame's #this, shared rows once.
                    let keys: Vec<usize> = ["semantics", "access_url"]
                        .iter()
                        .filter_map(|name| all.field_index(name))
                        .collect();
                    let semantics = all.field_index("semantics");
                    all.append_distinct_rows(&table, &keys, |row| {
                        semantics
                            .and_then(|col| row.get(col))
                            .is_some_and(|cell| cell == "#this")
                    });
                }
            }
        }
        return match merged {
            Some(table) => xml(StatusCode::OK, VOTABLE, table.to_xml()),
            None => text(StatusCode::BAD_REQUEST, "no dp_id"),
        };
    }
    let mut trees = Vec::new();
    for dp_id in &dp_ids {
        let Some(tree) = state.catalog.calsel_trees.get(&((*dp_id).to_owned(), mode)) else {
            return text(
                StatusCode::NOT_FOUND,
                format!(
                    "the offline demo archive has no {} association tree for {dp_id}; it has: {}",
                    mode.as_str(),
                    known(false)
                ),
            );
        };
        trees.push((*dp_id, tree));
    }
    let suffix = mode.as_str().to_ascii_lowercase();
    if let [(dp_id, tree)] = trees.as_slice() {
        let mut response = body(
            StatusCode::OK,
            "application/xml;content=calselector",
            (*tree).clone(),
        );
        insert_header(
            &mut response,
            header::CONTENT_DISPOSITION,
            &format!("attachment; filename=\"{dp_id}_{suffix}.xml\""),
        );
        return response;
    }
    // Several frames: one part per frame, as ESO's calSelector answers a POST.
    let boundary = format!("eso-demo-{}", uuid::Uuid::new_v4().simple());
    let mut out = Vec::new();
    for (dp_id, tree) in &trees {
        out.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: attachment; filename=\"{dp_id}_{suffix}.xml\"\r\n\
                 Content-Type: application/xml;content=calselector\r\nContent-Length: {}\r\n\r\n",
                tree.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(tree.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body(
        StatusCode::OK,
        &format!("multipart/form-data; boundary={boundary};charset=UTF-8"),
        out,
    )
}

fn insert_header(response: &mut Resp, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// The fixed modification time of every file (the release date of the seed 000 frames).
fn last_modified() -> String {
    let time = crate::clock::parse_iso("2017-09-26T03:15:57").unwrap_or(std::time::UNIX_EPOCH);
    httpdate::fmt_http_date(time)
}

/// `GET|HEAD /dataPortal/file/<dp_id>` with `Range`/`If-Range`.
pub(crate) fn file(state: &State, dp_id: &str, req: &Req) -> Resp {
    if req.method != Method::GET && req.method != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "files are read with GET or HEAD",
        );
    }
    let Some(file) = state.catalog.files.get(dp_id) else {
        return text(
            StatusCode::NOT_FOUND,
            format!("{dp_id} is not in the offline demo archive"),
        );
    };
    if matches!(req.auth, Auth::Invalid(_)) || (file.protected && req.auth.user().is_none()) {
        return auth_required(&req.auth, &format!("file {dp_id}"));
    }
    let total = file.bytes.len() as u64;
    let last_modified = last_modified();
    let range_applies = match req.header(header::IF_RANGE) {
        None => true,
        // A strong comparison with the entity tag, or an exact date (RFC 9110 section 13.1.5).
        Some(validator) => validator.trim() == file.etag || validator.trim() == last_modified,
    };
    let ask = match req.header(header::RANGE) {
        Some(range) if range_applies => parse_range(range, total),
        _ => RangeAsk::Whole,
    };
    let mut response = match ask {
        RangeAsk::Whole => body(StatusCode::OK, file.content_type, file.bytes.clone()),
        RangeAsk::Part(first, last) => {
            let (start, end) = (first as usize, last as usize + 1);
            let mut response = body(
                StatusCode::PARTIAL_CONTENT,
                file.content_type,
                file.bytes.slice(start..end),
            );
            insert_header(
                &mut response,
                header::CONTENT_RANGE,
                &format!("bytes {first}-{last}/{total}"),
            );
            response
        }
        RangeAsk::Unsatisfiable => {
            let mut response = text(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!("range not satisfiable for {total} bytes"),
            );
            insert_header(
                &mut response,
                header::CONTENT_RANGE,
                &format!("bytes */{total}"),
            );
            response
        }
    };
    insert_header(&mut response, header::ETAG, &file.etag);
    insert_header(&mut response, header::LAST_MODIFIED, &last_modified);
    insert_header(&mut response, header::ACCEPT_RANGES, "bytes");
    insert_header(
        &mut response,
        header::CONTENT_DISPOSITION,
        &format!("attachment; filename=\"{}\"", file.filename),
    );
    response
}

/// Parses SODA `CIRCLE` (`ra dec radius`) or `POS=CIRCLE ra dec radius` (SODA 1.0 section 3.3).
fn parse_circle(req: &Req) -> Result<(f64, f64, f64), String> {
    let text = if let Some(circle) = req.param("CIRCLE") {
        circle.to_owned()
    } else if let Some(pos) = req.param("POS") {
        let pos = pos.trim();
        let Some(rest) = pos
            .get(..6)
            .filter(|shape| shape.eq_ignore_ascii_case("CIRCLE"))
            .and(pos.get(6..))
        else {
            return Err(format!(
                "POS must be CIRCLE ra dec radius in the offline demo archive, got {pos:?}"
            ));
        };
        rest.to_owned()
    } else {
        return Err(
            "give a cutout region: CIRCLE=ra dec radius or POS=CIRCLE ra dec radius (degrees)"
                .to_owned(),
        );
    };
    let numbers: Vec<f64> = text
        .split_whitespace()
        .map(|word| word.parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("CIRCLE needs three numbers (ra dec radius), got {text:?}"))?;
    let [ra, dec, radius] = numbers.as_slice() else {
        return Err(format!(
            "CIRCLE needs three numbers (ra dec radius), got {text:?}"
        ));
    };
    let in_range = (0.0..=360.0).contains(ra)
        && (-90.0..=90.0).contains(dec)
        && *radius > 0.0
        && *radius <= 1.0;
    if !in_range {
        return Err(format!(
            "CIRCLE out of range: ra in [0, 360], dec in [-90, 90], 0 < radius <= 1 degree, got {text:?}"
        ));
    }
    Ok((*ra, *dec, *radius))
}

/// `GET /dataPortal/soda?ID=...&CIRCLE=...`: a small FITS cutout.
pub(crate) fn soda(state: &State, req: &Req) -> Resp {
    if req.method != Method::GET && req.method != Method::HEAD && req.method != Method::POST {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "SODA sync takes GET or POST",
        );
    }
    let Some(id) = req.param("ID") else {
        return text(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UsageFault: missing parameter ID",
        );
    };
    let dp_id = dp_id_of(id);
    let known = state.catalog.files.contains_key(dp_id) || state.catalog.links.contains_key(dp_id);
    if !known {
        return text(
            StatusCode::NOT_FOUND,
            format!("NotFoundFault: {dp_id} is not in the offline demo archive"),
        );
    }
    if matches!(req.auth, Auth::Invalid(_)) || (is_protected(dp_id) && req.auth.user().is_none()) {
        return auth_required(&req.auth, &format!("cutouts of {dp_id}"));
    }
    let (ra, dec, radius) = match parse_circle(req) {
        Ok(circle) => circle,
        Err(message) => {
            return text(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("UsageFault: {message}"),
            );
        }
    };
    let mut response = body(
        StatusCode::OK,
        "application/fits",
        synthetic::cutout_fits(dp_id, ra, dec, radius),
    );
    insert_header(
        &mut response,
        header::CONTENT_DISPOSITION,
        &format!("attachment; filename=\"{dp_id}_cutout.fits\""),
    );
    response
}

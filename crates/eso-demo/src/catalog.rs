//! What the offline archive holds: the recorded documents (embedded at compile time, with their
//! URLs rewritten to the demo base URL) and the files they point to.
//!
//! Sources (all under `fixtures/`, each with its `.meta.json`):
//! - `eso/tap/seed000_dbo_raw_2rows.vot`: the authorised `dbo.raw` result of seed 000;
//! - `eso/tap/obscore_1row.vot`: a real `tap_obs` ObsCore answer;
//! - `eso/datalink/seed000_links.vot` and `eso/datalink/adp_links_pyvo.vot`: DataLink `{links}`;
//! - `eso/calselector/seed000_sphere_raw2master.vot`, `eso/calselector/seed000_sphere_raw2master_tree.xml`:
//!   calSelector Raw2Master for the first SPHERE frame, in both response formats;
//! - `eso/calselector/no_association.vot`: calSelector's answer for an acquisition frame (no cascade);
//! - `eso/calselector/fors2_raw2raw_{tree.xml,multipart.txt}`: real calSelector Raw2Raw trees of FORS2;
//! - `eso/files/*.fits.Z`, `eso/files/M.*.fits`: the synthetic files of seed 000.
//!
//! The second SPHERE frame has no recorded DataLink or calSelector answer of its own: it gets
//! the first frame's, with the identifier substituted.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use crate::synthetic::{self, MASTER_CALIBRATIONS, SCIENCE_FRAMES};
use crate::vot::{TableDoc, rewrite_urls};

macro_rules! fixture_str {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/",
            $path
        ))
    };
}

macro_rules! fixture_bytes {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/",
            $path
        ))
    };
}

const DBO_RAW: &str = fixture_str!("eso/tap/seed000_dbo_raw_2rows.vot");
const OBSCORE: &str = fixture_str!("eso/tap/obscore_1row.vot");
const LINKS_SEED000: &str = fixture_str!("eso/datalink/seed000_links.vot");
const LINKS_ADP: &str = fixture_str!("eso/datalink/adp_links_pyvo.vot");
const CALSEL_RAW2MASTER_VOT: &str = fixture_str!("eso/calselector/seed000_sphere_raw2master.vot");
const CALSEL_RAW2MASTER_TREE: &str =
    fixture_str!("eso/calselector/seed000_sphere_raw2master_tree.xml");
const CALSEL_NO_ASSOCIATION_VOT: &str = fixture_str!("eso/calselector/no_association.vot");
/// The acquisition frame of `no_association.vot` (calSelector finds no cascade for it).
pub(crate) const ACQUISITION_FRAME: &str = "SPHER.2016-09-26T02:58:40.001";
const FORS2_TREE: &str = fixture_str!("eso/calselector/fors2_raw2raw_tree.xml");
const FORS2_MULTIPART: &str = fixture_str!("eso/calselector/fors2_raw2raw_multipart.txt");
const FORS2_MULTIPART_BOUNDARY: &str = "uFQlfs9nBIDEAIoz0_ZM-O2SXKsZ2iSd4h7H";

/// The committed synthetic files, by `dp_id`: raw frames compressed, masters plain.
const COMMITTED_FILES: [(&str, &[u8]); 13] = [
    (
        "SPHER.2016-09-26T03:04:09.308",
        fixture_bytes!("eso/files/SPHER.2016-09-26T03_04_09.308.fits.Z"),
    ),
    (
        "SPHER.2016-09-26T03:04:09.496",
        fixture_bytes!("eso/files/SPHER.2016-09-26T03_04_09.496.fits.Z"),
    ),
    (
        "SPHER.2016-09-26T03:05:51.768",
        fixture_bytes!("eso/files/SPHER.2016-09-26T03_05_51.768.fits.Z"),
    ),
    (
        "SPHER.2016-09-26T04:06:44.796",
        fixture_bytes!("eso/files/SPHER.2016-09-26T04_06_44.796.fits.Z"),
    ),
    (
        "SPHER.2016-09-26T04:08:27.017",
        fixture_bytes!("eso/files/SPHER.2016-09-26T04_08_27.017.fits.Z"),
    ),
    (
        "M.SPHERE.2016-09-27T08:14:14.686",
        fixture_bytes!("eso/files/M.SPHERE.2016-09-27T08_14_14.686.fits"),
    ),
    (
        "M.SPHERE.2016-09-27T08:15:18.126",
        fixture_bytes!("eso/files/M.SPHERE.2016-09-27T08_15_18.126.fits"),
    ),
    (
        "M.SPHERE.2016-09-27T08:17:07.116",
        fixture_bytes!("eso/files/M.SPHERE.2016-09-27T08_17_07.116.fits"),
    ),
    (
        "M.SPHERE.2016-09-27T08:17:20.893",
        fixture_bytes!("eso/files/M.SPHERE.2016-09-27T08_17_20.893.fits"),
    ),
    (
        "M.SPHERE.2016-09-27T08:17:33.533",
        fixture_bytes!("eso/files/M.SPHERE.2016-09-27T08_17_33.533.fits"),
    ),
    (
        "M.SPHERE.2016-09-27T08:17:52.300",
        fixture_bytes!("eso/files/M.SPHERE.2016-09-27T08_17_52.300.fits"),
    ),
    (
        "M.SPHERE.2016-09-27T08:18:06.383",
        fixture_bytes!("eso/files/M.SPHERE.2016-09-27T08_18_06.383.fits"),
    ),
    (
        "M.SPHERE.2016-09-27T08:18:40.706",
        fixture_bytes!("eso/files/M.SPHERE.2016-09-27T08_18_40.706.fits"),
    ),
];

/// The first SPHERE frame, whose DataLink and calSelector answers are recorded.
pub(crate) const FIRST_FRAME: &str = "SPHER.2016-09-26T03:04:09.308";
/// The second SPHERE frame, served with the first frame's documents, identifier substituted.
pub(crate) const SECOND_FRAME: &str = "SPHER.2016-09-26T03:04:09.496";

/// The seed 000 query (compared after [`normalize_adql`]).
pub(crate) const SEED000_QUERY: &str =
    "select top 2 * from dbo.raw where dp_cat='SCIENCE' and prog_id = '098.C-0739(C)'";
/// The query of the recorded ObsCore answer.
pub(crate) const OBSCORE_QUERY: &str = "SELECT TOP 1 * FROM ivoa.ObsCore WHERE dataproduct_type='image' \
     AND s_ra BETWEEN 88.78 AND 88.81 AND s_dec BETWEEN 7.39 AND 7.42";

/// calSelector modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Mode {
    Raw2Raw,
    Raw2Master,
}

impl Mode {
    pub(crate) fn parse(text: &str) -> Option<Mode> {
        if text.eq_ignore_ascii_case("raw2raw") {
            Some(Mode::Raw2Raw)
        } else if text.eq_ignore_ascii_case("raw2master") {
            Some(Mode::Raw2Master)
        } else {
            None
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mode::Raw2Raw => "Raw2Raw",
            Mode::Raw2Master => "Raw2Master",
        }
    }
}

/// A file the archive serves under `/dataPortal/file/<dp_id>`.
#[derive(Debug, Clone)]
pub(crate) struct ServedFile {
    pub(crate) bytes: Bytes,
    pub(crate) content_type: &'static str,
    pub(crate) filename: String,
    /// A strong entity tag (quoted).
    pub(crate) etag: String,
    /// Needs a token or Basic credentials of the demo user.
    pub(crate) protected: bool,
}

impl ServedFile {
    fn new(
        bytes: Vec<u8>,
        content_type: &'static str,
        filename: String,
        protected: bool,
    ) -> ServedFile {
        let digest = Sha256::digest(&bytes);
        let etag = format!(
            "\"{}\"",
            digest
                .iter()
                .take(12)
                .map(|byte| format!("{byte:02x}"))
                .collect::<String>()
        );
        ServedFile {
            bytes: Bytes::from(bytes),
            content_type,
            filename,
            etag,
            protected,
        }
    }
}

/// Everything the archive serves, prepared for one base URL.
#[derive(Debug)]
pub(crate) struct Catalog {
    /// `dbo.raw` answer to the seed 000 query (authorised view).
    pub(crate) dbo_raw: TableDoc,
    pub(crate) obscore: TableDoc,
    /// DataLink documents by `dp_id`.
    pub(crate) links: BTreeMap<String, String>,
    /// calSelector VOTables by (`dp_id`, mode).
    pub(crate) calsel_votables: BTreeMap<(String, Mode), String>,
    /// calSelector association trees by (`dp_id`, mode).
    pub(crate) calsel_trees: BTreeMap<(String, Mode), String>,
    /// Files by `dp_id` (night logs as `<dp_id>.NL`).
    pub(crate) files: BTreeMap<String, ServedFile>,
}

/// Whether a `dp_id` is one of the "pretend-protected" SPHERE science frames.
pub(crate) fn is_protected(dp_id: &str) -> bool {
    let base = dp_id.strip_suffix(".NL").unwrap_or(dp_id);
    SCIENCE_FRAMES.iter().any(|frame| frame.dp_id == base)
}

/// Lower-cases ADQL outside string literals and removes whitespace outside them, and a final `;`,
/// so that queries differing only in layout or keyword case compare equal.
pub(crate) fn normalize_adql(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut in_string = false;
    for ch in query.trim().trim_end_matches(';').chars() {
        if ch == '\'' {
            in_string = !in_string;
            out.push(ch);
        } else if in_string {
            out.push(ch);
        } else if !ch.is_whitespace() {
            out.extend(ch.to_lowercase());
        }
    }
    out
}

/// The association trees of the FORS2 multipart sample, by `dp_id` (from the part file names).
fn fors2_multipart_trees() -> Vec<(String, String)> {
    let delimiter = format!("--{FORS2_MULTIPART_BOUNDARY}");
    let mut trees = Vec::new();
    for part in FORS2_MULTIPART.split(delimiter.as_str()) {
        let Some((headers, body)) = part.split_once("\n\n") else {
            continue;
        };
        let Some(name) = headers.lines().find_map(|line| {
            let value = line.strip_prefix("Content-Disposition:")?;
            crate::http::disposition_param(value, "filename")
        }) else {
            continue;
        };
        let Some(dp_id) = name.strip_suffix("_raw2raw.xml") else {
            continue;
        };
        trees.push((
            dp_id.to_owned(),
            body.trim_end_matches('\n').to_owned() + "\n",
        ));
    }
    trees
}

/// Every `dp_id` a document points to through `/dataPortal/file/<dp_id>` or names in a tree.
fn mentioned_ids(document: &str, out: &mut BTreeSet<String>) {
    for (pos, _) in document.match_indices("/dataPortal/file/") {
        let rest = &document[pos + "/dataPortal/file/".len()..];
        let end = rest
            .find(|ch: char| {
                ch == '<' || ch == '"' || ch == '&' || ch == '\'' || ch.is_whitespace()
            })
            .unwrap_or(rest.len());
        if end > 0 {
            out.insert(rest[..end].to_owned());
        }
    }
    for (pos, _) in document.match_indices("<file ") {
        let rest = &document[pos..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        if let Some(name) = crate::vot::attribute(tag, "name") {
            out.insert(name);
        }
    }
}

impl Catalog {
    /// Builds the catalogue for `base` (scheme, host and port, no trailing slash).
    pub(crate) fn build(base: &str) -> Catalog {
        let mut links = BTreeMap::new();
        let first_links = rewrite_urls(LINKS_SEED000, base);
        links.insert(
            SECOND_FRAME.to_owned(),
            first_links.replace(FIRST_FRAME, SECOND_FRAME),
        );
        links.insert(FIRST_FRAME.to_owned(), first_links);
        links.insert(
            "ADP.2026-08-19T13:19:07.647".to_owned(),
            rewrite_urls(LINKS_ADP, base),
        );

        let mut calsel_votables = BTreeMap::new();
        let first_votable = rewrite_urls(CALSEL_RAW2MASTER_VOT, base);
        calsel_votables.insert(
            (SECOND_FRAME.to_owned(), Mode::Raw2Master),
            first_votable.replace(FIRST_FRAME, SECOND_FRAME),
        );
        calsel_votables.insert((FIRST_FRAME.to_owned(), Mode::Raw2Master), first_votable);
        calsel_votables.insert(
            (ACQUISITION_FRAME.to_owned(), Mode::Raw2Master),
            rewrite_urls(CALSEL_NO_ASSOCIATION_VOT, base),
        );

        let mut calsel_trees = BTreeMap::new();
        calsel_trees.insert(
            (SECOND_FRAME.to_owned(), Mode::Raw2Master),
            CALSEL_RAW2MASTER_TREE.replace(FIRST_FRAME, SECOND_FRAME),
        );
        calsel_trees.insert(
            (FIRST_FRAME.to_owned(), Mode::Raw2Master),
            CALSEL_RAW2MASTER_TREE.to_owned(),
        );
        calsel_trees.insert(
            ("FORS2.2021-01-02T00:59:12.533".to_owned(), Mode::Raw2Raw),
            FORS2_TREE.to_owned(),
        );
        for (dp_id, tree) in fors2_multipart_trees() {
            calsel_trees.entry((dp_id, Mode::Raw2Raw)).or_insert(tree);
        }

        let dbo_raw_text = rewrite_urls(DBO_RAW, base);
        let obscore_text = rewrite_urls(OBSCORE, base);

        // Files: committed ones, night logs, then anything else the documents mention.
        let mut files = BTreeMap::new();
        for (dp_id, bytes) in COMMITTED_FILES {
            let compressed = bytes.starts_with(&[0x1f, 0x9d]);
            let (content_type, suffix) = if compressed {
                ("application/octet-stream", ".fits.Z")
            } else {
                ("application/fits", ".fits")
            };
            files.insert(
                dp_id.to_owned(),
                ServedFile::new(
                    bytes.to_vec(),
                    content_type,
                    format!("{dp_id}{suffix}"),
                    is_protected(dp_id),
                ),
            );
        }
        let mut mentioned = BTreeSet::new();
        for document in links
            .values()
            .chain(calsel_votables.values())
            .chain(calsel_trees.values())
            .chain([&dbo_raw_text, &obscore_text])
        {
            mentioned_ids(document, &mut mentioned);
        }
        for frame in &SCIENCE_FRAMES {
            mentioned.insert(format!("{}.NL", frame.dp_id));
        }
        for dp_id in mentioned {
            if files.contains_key(&dp_id) || dp_id.is_empty() {
                continue;
            }
            let file = if let Some(frame_id) = dp_id.strip_suffix(".NL") {
                ServedFile::new(
                    synthetic::night_log(frame_id).into_bytes(),
                    "text/plain; charset=utf-8",
                    format!("{dp_id}.txt"),
                    is_protected(frame_id),
                )
            } else {
                ServedFile::new(
                    synthetic::generic_fits(&dp_id),
                    "application/fits",
                    format!("{dp_id}.fits"),
                    is_protected(&dp_id),
                )
            };
            files.insert(dp_id, file);
        }
        debug_assert!(
            MASTER_CALIBRATIONS
                .iter()
                .all(|(dp_id, _)| files.contains_key(*dp_id))
        );

        // Files without a recorded DataLink answer get a `#this` row in the recorded shape.
        if let Some(template) = links
            .get(FIRST_FRAME)
            .and_then(|text| TableDoc::parse(text))
        {
            for (dp_id, file) in &files {
                if links.contains_key(dp_id) || dp_id.ends_with(".NL") {
                    continue;
                }
                links.insert(dp_id.clone(), this_only_links(&template, base, dp_id, file));
            }
        }

        // Sizes in the documents describe the synthetic files actually served.
        let mut dbo_raw = TableDoc::parse(&dbo_raw_text).unwrap_or_else(|| empty_table("dbo.raw"));
        patch_sizes(&mut dbo_raw, &files, base);
        let obscore = TableDoc::parse(&obscore_text).unwrap_or_else(|| empty_table("ivoa.ObsCore"));
        for document in links.values_mut().chain(calsel_votables.values_mut()) {
            if let Some(mut table) = TableDoc::parse(document) {
                patch_sizes(&mut table, &files, base);
                *document = table.to_xml();
            }
        }

        Catalog {
            dbo_raw,
            obscore,
            links,
            calsel_votables,
            calsel_trees,
            files,
        }
    }
}

/// A DataLink answer with only the `#this` row of `dp_id`, in the columns of `template`.
fn this_only_links(template: &TableDoc, base: &str, dp_id: &str, file: &ServedFile) -> String {
    let mut table = template.clone();
    let mut first = true;
    table.retain_rows(|_| std::mem::take(&mut first));
    let cells = [
        ("ID", format!("ivo://eso.org/ID?{dp_id}")),
        ("access_url", format!("{base}/dataPortal/file/{dp_id}")),
        ("service_def", String::new()),
        ("error_message", String::new()),
        ("semantics", "#this".to_owned()),
        ("description", "Requested file".to_owned()),
        ("content_type", "application/fits".to_owned()),
        ("content_length", file.bytes.len().to_string()),
        ("eso_origfile", file.filename.clone()),
        ("eso_category", String::new()),
        (
            "eso_datalink",
            format!("{base}/datalink/links?ID=ivo://eso.org/ID?{dp_id}"),
        ),
    ];
    for (name, value) in cells {
        if let Some(col) = table.field_index(name) {
            table.set_cell(0, col, &value);
        }
    }
    table.to_xml()
}

/// A table with no field and no row (used only if an embedded fixture lost its `TABLEDATA`).
fn empty_table(name: &str) -> TableDoc {
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VOTABLE version=\"1.3\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\n\
         <RESOURCE type=\"results\"><INFO name=\"QUERY_STATUS\" value=\"OK\"/><TABLE name=\"{name}\"><DATA><TABLEDATA></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>\n"
    );
    TableDoc::parse(&text).unwrap_or_else(TableDoc::empty)
}

/// Sets `content_length` (bytes) and `access_estsize` (kbyte) of rows whose `access_url` is a
/// file of this archive to the size of the file served.
fn patch_sizes(table: &mut TableDoc, files: &BTreeMap<String, ServedFile>, base: &str) {
    let Some(url_col) = table.field_index("access_url") else {
        return;
    };
    let length_col = table.field_index("content_length");
    let estsize_col = table.field_index("access_estsize");
    let prefix = format!("{base}/dataPortal/file/");
    for row in 0..table.nrows() {
        let Some(url) = table.cell(row, url_col) else {
            continue;
        };
        let Some(file) = url.strip_prefix(&prefix).and_then(|dp_id| files.get(dp_id)) else {
            continue;
        };
        let size = file.bytes.len() as u64;
        if let Some(col) = length_col {
            table.set_cell(row, col, &size.to_string());
        }
        if let Some(col) = estsize_col {
            table.set_cell(row, col, &size.div_ceil(1000).to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_layout_and_keyword_case_only() {
        assert_eq!(
            normalize_adql(
                "SELECT  TOP 2 *\n FROM dbo.raw WHERE dp_cat = 'SCIENCE' and prog_id='098.C-0739(C)' ;"
            ),
            normalize_adql(SEED000_QUERY)
        );
        assert_ne!(
            normalize_adql(
                "select top 2 * from dbo.raw where dp_cat='science' and prog_id = '098.C-0739(C)'"
            ),
            normalize_adql(SEED000_QUERY)
        );
    }

    #[test]
    fn catalogue_is_complete_and_rewritten() {
        let catalog = Catalog::build("http://127.0.0.1:9");
        assert_eq!(catalog.dbo_raw.nrows(), 2);
        assert_eq!(catalog.obscore.nrows(), 1);
        for document in catalog
            .links
            .values()
            .chain(catalog.calsel_votables.values())
        {
            assert!(!document.contains("https://archive.eso.org"));
            assert!(!document.contains("https://dataportal.eso.org"));
        }
        for frame in &SCIENCE_FRAMES {
            assert!(catalog.files[frame.dp_id].protected);
            assert!(catalog.files[frame.dp_id].filename.ends_with(".fits.Z"));
        }
        for (dp_id, _) in MASTER_CALIBRATIONS {
            assert!(!catalog.files[dp_id].protected);
            assert!(catalog.files[dp_id].filename.ends_with(".fits"));
        }
        // Raw calibrations of the FORS2 tree are generated.
        assert!(catalog.files.contains_key("FORS2.2020-12-26T08:54:31.688"));
        assert!(
            catalog
                .calsel_trees
                .contains_key(&("FORS2.2021-01-02T00:59:12.534".to_owned(), Mode::Raw2Raw))
        );
        assert!(catalog.links[SECOND_FRAME].contains(SECOND_FRAME));
        assert!(!catalog.links[SECOND_FRAME].contains(FIRST_FRAME));
        // Sizes match the files served.
        let size = catalog.files[FIRST_FRAME].bytes.len();
        let table = TableDoc::parse(&catalog.links[FIRST_FRAME]).unwrap();
        let col = table.field_index("content_length").unwrap();
        assert_eq!(table.cell(0, col), Some(size.to_string()));
        let col = catalog.dbo_raw.field_index("access_estsize").unwrap();
        assert_eq!(
            catalog.dbo_raw.cell(0, col),
            Some(size.div_ceil(1000).to_string())
        );
    }
}

//! One plan for many frames.
//!
//! Each science frame gets its own calSelector VOTable; many frames share calibrations (the same
//! biases, flats and masters serve a whole night). [`CalibrationPlan`] merges the per-frame
//! replies: the per-frame cascade summaries and quality warnings, a deduplicated list of
//! calibration files with the frames that need each, the sibling raws, and the association
//! trees. It is what the CLI downloads, each file once.

use std::collections::HashMap;

use serde::Serialize;

use crate::Result;
use crate::description::{CascadeSummary, parse_description};
use crate::links::{CalSelectorLinks, LinkRow, Role};
use crate::multipart::{TreeDocument, tree_file_name};
use crate::request::Mode;
use crate::tree::AssociationTree;
use crate::warnings::{ParseWarning, QualityWarning, quality_warnings};

/// A file to download, with the frames that need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedFile {
    /// Archive id (`dp_id`), e.g. `M.SPHERE.2016-09-27T08:14:14.686`.
    pub dp_id: String,
    /// `eso_category`, e.g. `IFS_MASTER_DFF_LONG1`.
    pub category: Option<String>,
    /// `content_length` in bytes.
    pub size: Option<u64>,
    /// Where to download it (http or https).
    pub access_url: String,
    /// `content_type`.
    pub content_type: Option<String>,
    /// The requested frames whose replies list this file, in request order.
    pub needed_by: Vec<String>,
}

/// Where to fetch the association tree of a frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeLink {
    /// The frame.
    pub frame: String,
    /// The tree's mode.
    pub mode: Mode,
    /// The tree URL (calSelector without `responseformat`); needs the user's token for
    /// protected frames.
    pub url: String,
    /// The local file name, `<dp_id>_<mode>.xml`, built from the requested `dp_id`.
    pub file_name: Option<String>,
}

/// What calSelector said about one frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameReport {
    /// The requested frame.
    pub dp_id: String,
    /// The mode asked for.
    pub requested_mode: Mode,
    /// The science file itself (the `#this` row), if present.
    pub science: Option<PlannedFile>,
    /// The parsed cascade description of the `#this` row.
    pub summary: Option<CascadeSummary>,
    /// Quality warnings, to show before downloading.
    pub warnings: Vec<QualityWarning>,
    /// What was odd in the reply.
    pub parse_warnings: Vec<ParseWarning>,
    /// The reply's rows.
    #[serde(skip)]
    pub links: CalSelectorLinks,
    /// The association tree, once fetched ([`CalibrationPlan::attach_trees`]).
    pub tree: Option<AssociationTree>,
    /// The association tree's XML as received, to save as [`TreeLink::file_name`]
    /// (see [`crate::multipart::tree_file_name`]).
    #[serde(skip)]
    pub tree_xml: Option<Vec<u8>>,
}

impl FrameReport {
    /// Analyses one frame's rows: summary, quality warnings.
    pub fn from_links(
        dp_id: &str,
        requested_mode: Mode,
        links: CalSelectorLinks,
        mut parse_warnings: Vec<ParseWarning>,
    ) -> FrameReport {
        let this = links.this();
        let summary = this.and_then(|row| row.description.as_deref()).map(|text| {
            let (summary, warnings) = parse_description(text);
            parse_warnings.extend(warnings);
            summary
        });
        let warnings = quality_warnings(
            summary.as_ref(),
            requested_mode,
            this.and_then(|row| row.error_message.as_deref()),
        );
        let science = this.and_then(|row| planned(row, dp_id));
        FrameReport {
            dp_id: dp_id.trim().to_owned(),
            requested_mode,
            science,
            summary,
            warnings,
            parse_warnings,
            links,
            tree: None,
            tree_xml: None,
        }
    }

    /// Parses one frame's calSelector VOTable and analyses it.
    ///
    /// # Errors
    /// As [`CalSelectorLinks::parse`].
    pub fn from_votable(dp_id: &str, requested_mode: Mode, bytes: &[u8]) -> Result<FrameReport> {
        let (links, warnings) = CalSelectorLinks::parse(bytes)?;
        Ok(FrameReport::from_links(
            dp_id,
            requested_mode,
            links,
            warnings,
        ))
    }

    /// The mode calSelector executed, if the description says.
    pub fn executed_mode(&self) -> Option<Mode> {
        self.summary.as_ref().and_then(|s| s.mode)
    }
}

fn planned(row: &LinkRow, frame: &str) -> Option<PlannedFile> {
    let url = row.url()?;
    Some(PlannedFile {
        dp_id: row.dp_id().unwrap_or_else(|| url.to_string()),
        category: row.eso_category.clone(),
        size: row.content_length,
        access_url: url.to_string(),
        content_type: row.content_type.clone(),
        needed_by: vec![frame.trim().to_owned()],
    })
}

/// The merged plan for many frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalibrationPlan {
    /// The mode asked for.
    pub mode: Mode,
    /// One report per requested frame, in request order.
    pub frames: Vec<FrameReport>,
    /// Calibration files, deduplicated by `dp_id`, in order of first appearance.
    pub calibrations: Vec<PlannedFile>,
    /// Sibling raw science frames that were not themselves requested, deduplicated.
    pub siblings: Vec<PlannedFile>,
    /// Association tree links, one per frame and mode.
    pub trees: Vec<TreeLink>,
}

impl CalibrationPlan {
    /// Merges the per-frame reports.
    pub fn new(mode: Mode, frames: Vec<FrameReport>) -> CalibrationPlan {
        let requested: std::collections::HashSet<&str> =
            frames.iter().map(|f| f.dp_id.as_str()).collect();
        let mut calibrations = Merge::default();
        let mut siblings = Merge::default();
        let mut trees = Vec::new();
        for frame in &frames {
            for row in frame.links.calibrations() {
                if let Some(file) = planned(row, &frame.dp_id) {
                    calibrations.add(file);
                }
            }
            for row in frame.links.siblings() {
                if let Some(file) = planned(row, &frame.dp_id) {
                    if !requested.contains(file.dp_id.as_str()) {
                        siblings.add(file);
                    }
                }
            }
            for row in frame.links.association_trees() {
                let (Role::AssociationTree(tree_mode), Some(url)) = (row.role, row.url()) else {
                    continue;
                };
                if trees
                    .iter()
                    .any(|t: &TreeLink| t.frame == frame.dp_id && t.mode == tree_mode)
                {
                    continue;
                }
                trees.push(TreeLink {
                    frame: frame.dp_id.clone(),
                    mode: tree_mode,
                    url: url.to_string(),
                    file_name: tree_file_name(&frame.dp_id, tree_mode).ok(),
                });
            }
        }
        CalibrationPlan {
            mode,
            frames,
            calibrations: calibrations.files,
            siblings: siblings.files,
            trees,
        }
    }

    /// Attaches fetched association trees to their frames (matched by the tree's science
    /// frame). Returns the documents that matched no frame, or failed to parse.
    pub fn attach_trees(&mut self, documents: Vec<TreeDocument>) -> Vec<TreeDocument> {
        let mut left = Vec::new();
        for document in documents {
            let frame = self
                .frames
                .iter_mut()
                .find(|frame| frame.tree.is_none() && document.is_for(&frame.dp_id));
            match (frame, document.tree) {
                (Some(frame), Ok(tree)) => {
                    frame.parse_warnings.extend(document.warnings);
                    frame.tree = Some(tree);
                    frame.tree_xml = Some(document.xml);
                }
                (_, tree) => left.push(TreeDocument { tree, ..document }),
            }
        }
        left
    }

    /// The sum of the known calibration sizes, in bytes.
    pub fn calibration_bytes(&self) -> u64 {
        self.calibrations.iter().filter_map(|f| f.size).sum()
    }

    /// True if any frame has a quality warning.
    pub fn has_quality_warnings(&self) -> bool {
        self.frames.iter().any(|f| !f.warnings.is_empty())
    }

    /// Every quality warning with its frame, in frame order.
    pub fn quality_warnings(&self) -> impl Iterator<Item = (&str, &QualityWarning)> {
        self.frames
            .iter()
            .flat_map(|f| f.warnings.iter().map(move |w| (f.dp_id.as_str(), w)))
    }

    /// The frame report for `dp_id`.
    pub fn frame(&self, dp_id: &str) -> Option<&FrameReport> {
        self.frames.iter().find(|f| f.dp_id == dp_id)
    }

    /// The plan as pretty JSON (row lists omitted; trees included once attached).
    pub fn to_json(&self) -> String {
        // Serialising plain structs of strings, numbers and vectors cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[derive(Default)]
struct Merge {
    files: Vec<PlannedFile>,
    index: HashMap<String, usize>,
}

impl Merge {
    fn add(&mut self, file: PlannedFile) {
        match self.index.get(&file.dp_id) {
            Some(&slot) => {
                let known = &mut self.files[slot];
                for frame in file.needed_by {
                    if !known.needed_by.contains(&frame) {
                        known.needed_by.push(frame);
                    }
                }
                if known.size.is_none() {
                    known.size = file.size;
                }
                if known.category.is_none() {
                    known.category = file.category;
                }
            }
            None => {
                self.index.insert(file.dp_id.clone(), self.files.len());
                self.files.push(file);
            }
        }
    }
}

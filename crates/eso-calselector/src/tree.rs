//! The association tree (`application/xml; content=calselector`).
//!
//! calSelector describes a calibration cascade as nested `association` elements:
//!
//! ```text
//! association category certified complete mode type match
//! ├── mainFiles
//! │   └── file category name
//! ├── messages
//! └── associatedFiles
//!     └── association ... (recursively)
//! ```
//!
//! The parser builds the typed tree with an explicit stack (no recursion proportional to input
//! depth), caps the input size and nesting depth, refuses `<!DOCTYPE` and unknown entities, keeps
//! unknown attributes in `extra_attrs` and reports unknown elements as [`ParseWarning`]s.
//! The same flat set of files appears under several branches (a bias set needed by the flat and
//! by the standard star): [`AssociationTree::files`] deduplicates them and lists the branches
//! that need each.

use std::collections::HashMap;
use std::fmt::Write as _;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use serde::Serialize;

use crate::request::Mode;
use crate::warnings::ParseWarning;
use crate::{Error, Result};

const WHAT: &str = "association tree";

/// Caps applied while parsing an association tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeLimits {
    /// Largest document accepted, in bytes (default 64 MiB).
    pub max_bytes: usize,
    /// Deepest element nesting accepted (default 256, i.e. about 127 nested associations).
    pub max_depth: usize,
    /// Most unknown attributes kept per element (default 64); more are dropped with a warning.
    pub max_extra_attrs: usize,
}

impl Default for TreeLimits {
    fn default() -> Self {
        TreeLimits {
            max_bytes: 64 << 20,
            max_depth: 256,
            max_extra_attrs: 64,
        }
    }
}

/// A file named in a `mainFiles` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct File {
    /// The file's category, e.g. `BIAS`.
    pub category: Option<String>,
    /// The file's name: the archive `dp_id`, e.g. `FORS2.2020-12-26T08:54:31.688`.
    pub name: String,
    /// Attributes this crate does not know, in document order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_attrs: Vec<(String, String)>,
}

/// One node of the cascade: a category with its main files and the associations it needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Association {
    /// Category of the node, e.g. `FLAT_SKY`.
    pub category: Option<String>,
    /// `certified` attribute.
    pub certified: Option<bool>,
    /// `complete` attribute.
    pub complete: Option<bool>,
    /// `mode` attribute (on the root).
    pub mode: Option<Mode>,
    /// `type` attribute, e.g. `main`.
    #[serde(rename = "type")]
    pub assoc_type: Option<String>,
    /// `match` attribute, e.g. `calib_plan` or `N/A`.
    #[serde(rename = "match")]
    pub match_: Option<String>,
    /// The files of this node.
    pub main_files: Vec<File>,
    /// calSelector's messages for this node.
    pub messages: Vec<String>,
    /// The associations this node needs.
    pub associated: Vec<Association>,
    /// Attributes this crate does not know, in document order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_attrs: Vec<(String, String)>,
}

/// A parsed association tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AssociationTree {
    /// The root association (the science frame(s) in its `main_files`).
    pub root: Association,
}

/// A file of the tree, deduplicated, with the branches that need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileUse {
    /// The file's name (`dp_id`).
    pub name: String,
    /// Its category (the first one seen if the tree disagrees with itself).
    pub category: Option<String>,
    /// True for the root's main files: the science frames themselves.
    pub science: bool,
    /// Each branch that needs the file: the categories from the root to the node listing it.
    pub branches: Vec<Vec<String>>,
}

/// How [`AssociationTree::to_text_with`] lists files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextStyle {
    /// One line per file.
    #[default]
    Full,
    /// One line per category of files: count, first and last name.
    Compact,
}

impl AssociationTree {
    /// Parses an association tree with the default [`TreeLimits`].
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Xml`] (malformed XML, unknown entity, bad UTF-8),
    /// [`Error::Doctype`], [`Error::TooDeep`], [`Error::NotAnAssociationTree`].
    pub fn parse(bytes: &[u8]) -> Result<(AssociationTree, Vec<ParseWarning>)> {
        Self::parse_with(bytes, &TreeLimits::default())
    }

    /// Parses an association tree with explicit limits.
    ///
    /// # Errors
    /// As [`AssociationTree::parse`].
    pub fn parse_with(
        bytes: &[u8],
        limits: &TreeLimits,
    ) -> Result<(AssociationTree, Vec<ParseWarning>)> {
        parse_tree(bytes, limits)
    }

    /// The root's main files: the science frame(s) the cascade is for.
    pub fn science_files(&self) -> &[File] {
        &self.root.main_files
    }

    /// Every association, depth first in document order, with its depth (root = 0).
    pub fn nodes(&self) -> Vec<(usize, &Association)> {
        let mut out = Vec::new();
        let mut stack = vec![(0usize, &self.root)];
        while let Some((depth, node)) = stack.pop() {
            out.push((depth, node));
            for child in node.associated.iter().rev() {
                stack.push((depth + 1, child));
            }
        }
        out
    }

    /// The deduplicated files of the tree in order of first appearance, each with the branches
    /// (paths of categories from the root) that need it.
    pub fn files(&self) -> Vec<FileUse> {
        let mut uses: Vec<FileUse> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut stack: Vec<(&Association, Vec<String>)> =
            vec![(&self.root, vec![category_label(&self.root)])];
        let mut is_root = true;
        while let Some((node, path)) = stack.pop() {
            for file in &node.main_files {
                let slot = *index.entry(file.name.as_str()).or_insert_with(|| {
                    uses.push(FileUse {
                        name: file.name.clone(),
                        category: file.category.clone(),
                        science: false,
                        branches: Vec::new(),
                    });
                    uses.len() - 1
                });
                let entry = &mut uses[slot];
                entry.science |= is_root;
                if !entry.branches.contains(&path) {
                    entry.branches.push(path.clone());
                }
            }
            is_root = false;
            for child in node.associated.iter().rev() {
                let mut child_path = path.clone();
                child_path.push(category_label(child));
                stack.push((child, child_path));
            }
        }
        uses
    }

    /// The deduplicated calibration files: [`AssociationTree::files`] without the science frames.
    pub fn calibration_files(&self) -> Vec<FileUse> {
        self.files().into_iter().filter(|f| !f.science).collect()
    }

    /// True if every node is certified and complete (absent flags count as unknown, not false).
    pub fn all_certified_and_complete(&self) -> bool {
        self.nodes()
            .iter()
            .all(|(_, n)| n.certified != Some(false) && n.complete != Some(false))
    }

    /// The tree as terminal text, one line per file.
    pub fn to_text(&self) -> String {
        self.to_text_with(TextStyle::Full)
    }

    /// The tree as terminal text. Server strings have control characters escaped.
    pub fn to_text_with(&self, style: TextStyle) -> String {
        render_text(&self.root, style)
    }

    /// The tree as pretty JSON (the [`Association`] structure).
    pub fn to_json(&self) -> String {
        // Serialising plain structs of strings, booleans and vectors cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The tree as a Graphviz DOT digraph: one box per association, one note per file
    /// (shared files appear once, with an edge from every association that needs them).
    /// Uncertified or incomplete associations are drawn red and dashed.
    pub fn to_dot(&self) -> String {
        render_dot(&self.root)
    }
}

fn category_label(node: &Association) -> String {
    node.category.clone().unwrap_or_else(|| "?".to_owned())
}

// ---------------------------------------------------------------------------------------------
// Parsing

enum Frame {
    Association(Association),
    MainFiles,
    File(File),
    Messages(String),
    Message(String),
    AssociatedFiles,
    /// An element this crate does not know, skipped with its content.
    Unknown(String),
}

impl Frame {
    fn name(&self) -> &str {
        match self {
            Frame::Association(_) => "association",
            Frame::MainFiles => "mainFiles",
            Frame::File(_) => "file",
            Frame::Messages(_) => "messages",
            Frame::Message(_) => "message",
            Frame::AssociatedFiles => "associatedFiles",
            Frame::Unknown(name) => name,
        }
    }
}

struct Parser<'l> {
    limits: &'l TreeLimits,
    stack: Vec<Frame>,
    root: Option<Association>,
    root_name: Option<String>,
    warnings: Vec<ParseWarning>,
}

fn parse_tree(bytes: &[u8], limits: &TreeLimits) -> Result<(AssociationTree, Vec<ParseWarning>)> {
    if bytes.len() > limits.max_bytes {
        return Err(Error::TooLarge {
            what: WHAT,
            limit: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|err| Error::Xml {
        what: WHAT,
        position: err.valid_up_to() as u64,
        message: "invalid UTF-8".to_owned(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut parser = Parser {
        limits,
        stack: Vec::new(),
        root: None,
        root_name: None,
        warnings: Vec::new(),
    };
    loop {
        let position = reader.buffer_position();
        let event = reader.read_event().map_err(|err| Error::Xml {
            what: WHAT,
            position: reader.error_position(),
            message: err.to_string(),
        })?;
        match event {
            Event::Eof => break,
            Event::DocType(_) => {
                return Err(Error::Doctype {
                    what: WHAT,
                    position,
                });
            }
            Event::Start(start) => {
                parser.open(&start, position)?;
            }
            Event::Empty(start) => {
                parser.open(&start, position)?;
                parser.close();
            }
            Event::End(_) => parser.close(),
            Event::Text(text) => parser.text(&text.xml_content(XmlVersion::Implicit1_0)),
            Event::CData(data) => parser.text(&data.xml_content(XmlVersion::Implicit1_0)),
            Event::GeneralRef(reference) => {
                let resolved = if reference.is_char_ref() {
                    match reference.resolve_char_ref() {
                        Ok(Some(ch)) => ch.to_string(),
                        _ => {
                            return Err(Error::Xml {
                                what: WHAT,
                                position,
                                message: format!(
                                    "invalid character reference &{};",
                                    reference.as_ref() as &str
                                ),
                            });
                        }
                    }
                } else {
                    let name: &str = reference.as_ref();
                    match quick_xml::escape::resolve_predefined_entity(name) {
                        Some(value) => value.to_owned(),
                        None => {
                            return Err(Error::Xml {
                                what: WHAT,
                                position,
                                message: format!("unknown entity &{name};"),
                            });
                        }
                    }
                };
                parser.text(&resolved);
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if !parser.stack.is_empty() {
        return Err(Error::Xml {
            what: WHAT,
            position: text.len() as u64,
            message: format!(
                "document ends inside <{}>",
                parser.stack.last().map(Frame::name).unwrap_or_default()
            ),
        });
    }
    match parser.root {
        Some(root) => Ok((AssociationTree { root }, parser.warnings)),
        None => Err(Error::NotAnAssociationTree {
            root: parser.root_name.unwrap_or_default(),
        }),
    }
}

impl Parser<'_> {
    fn path(&self) -> String {
        let mut path = String::new();
        for frame in &self.stack {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(frame.name());
        }
        if path.is_empty() {
            path.push('/');
        }
        path
    }

    fn open(&mut self, start: &BytesStart<'_>, position: u64) -> Result<()> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(Error::TooDeep {
                limit: self.limits.max_depth,
                position,
            });
        }
        let name_ref = start.local_name();
        let name: &str = name_ref.as_ref();
        let frame = match (self.stack.last(), name) {
            (None, "association") if self.root.is_none() && self.root_name.is_none() => {
                self.root_name = Some(name.to_owned());
                Frame::Association(self.association(start, position)?)
            }
            (None, _) => {
                if self.root_name.is_none() {
                    self.root_name = Some(name.to_owned());
                    // Not a tree at all: the caller gets NotAnAssociationTree at the end.
                } else {
                    self.warnings.push(ParseWarning::Tree {
                        path: "/".to_owned(),
                        detail: format!("second root element <{name}> ignored"),
                    });
                }
                Frame::Unknown(name.to_owned())
            }
            (Some(Frame::Association(_)), "mainFiles") => Frame::MainFiles,
            (Some(Frame::Association(_)), "messages") => Frame::Messages(String::new()),
            (Some(Frame::Association(_)), "associatedFiles") => Frame::AssociatedFiles,
            // Tolerate an association directly below another one.
            (Some(Frame::AssociatedFiles | Frame::Association(_)), "association") => {
                Frame::Association(self.association(start, position)?)
            }
            (Some(Frame::MainFiles), "file") => Frame::File(self.file(start, position)?),
            (Some(Frame::Messages(_)), "message") => Frame::Message(String::new()),
            (Some(Frame::Unknown(_)), _) => Frame::Unknown(name.to_owned()),
            _ => {
                self.warnings.push(ParseWarning::UnknownElement {
                    path: self.path(),
                    name: name.to_owned(),
                });
                Frame::Unknown(name.to_owned())
            }
        };
        self.stack.push(frame);
        Ok(())
    }

    fn close(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        match frame {
            Frame::Association(node) => {
                let parent = self.stack.iter_mut().rev().find_map(|f| match f {
                    Frame::Association(parent) => Some(parent),
                    _ => None,
                });
                match parent {
                    Some(parent) => parent.associated.push(node),
                    None => self.root = Some(node),
                }
            }
            Frame::File(file) => {
                if let Some(Frame::Association(parent)) = self.stack.iter_mut().rev().nth(1) {
                    parent.main_files.push(file);
                }
            }
            Frame::Message(text) => {
                let text = text.trim();
                if !text.is_empty() {
                    if let Some(parent) = self.nearest_association() {
                        parent.messages.push(text.to_owned());
                    }
                }
            }
            Frame::Messages(text) => {
                let text = text.trim();
                if !text.is_empty() {
                    if let Some(parent) = self.nearest_association() {
                        parent.messages.push(text.to_owned());
                    }
                }
            }
            Frame::MainFiles | Frame::AssociatedFiles | Frame::Unknown(_) => {}
        }
    }

    fn nearest_association(&mut self) -> Option<&mut Association> {
        self.stack.iter_mut().rev().find_map(|f| match f {
            Frame::Association(parent) => Some(parent),
            _ => None,
        })
    }

    fn text(&mut self, text: &str) {
        match self.stack.last_mut() {
            Some(Frame::Messages(buffer) | Frame::Message(buffer)) => buffer.push_str(text),
            Some(Frame::Unknown(_)) => {}
            _ if text.trim().is_empty() => {}
            _ => {
                let path = self.path();
                let excerpt: String = text.trim().chars().take(40).collect();
                self.warnings.push(ParseWarning::Tree {
                    path,
                    detail: format!("unexpected text {excerpt:?} ignored"),
                });
            }
        }
    }

    /// Reads the attributes of `start`; returns (name, value) pairs with duplicates and
    /// malformed attributes reported. Linear in the number of attributes.
    fn attributes(
        &mut self,
        start: &BytesStart<'_>,
        position: u64,
    ) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        let mut attributes = start.attributes();
        attributes.with_checks(false);
        for attribute in attributes {
            let attribute = attribute.map_err(|err| Error::Xml {
                what: WHAT,
                position,
                message: format!("bad attribute in <{}>: {err}", start_name(start)),
            })?;
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| Error::Xml {
                    what: WHAT,
                    position,
                    message: format!("bad attribute value in <{}>: {err}", start_name(start)),
                })?;
            let key: &str = attribute.key.as_ref();
            out.push((key.to_owned(), value.into_owned()));
        }
        Ok(out)
    }

    fn association(&mut self, start: &BytesStart<'_>, position: u64) -> Result<Association> {
        let mut node = Association::default();
        let mut seen: Vec<&'static str> = Vec::new();
        for (key, value) in self.attributes(start, position)? {
            let known: Option<&'static str> = match key.as_str() {
                "category" => Some("category"),
                "certified" => Some("certified"),
                "complete" => Some("complete"),
                "mode" => Some("mode"),
                "type" => Some("type"),
                "match" => Some("match"),
                _ => None,
            };
            let Some(known) = known else {
                self.keep_extra(&mut node.extra_attrs, key, value);
                continue;
            };
            if seen.contains(&known) {
                let path = self.path();
                self.warnings.push(ParseWarning::Tree {
                    path,
                    detail: format!("attribute {known} given twice, first value kept"),
                });
                continue;
            }
            seen.push(known);
            match known {
                "category" => node.category = Some(value),
                "type" => node.assoc_type = Some(value),
                "match" => node.match_ = Some(value),
                "mode" => match value.parse::<Mode>() {
                    Ok(mode) => node.mode = Some(mode),
                    Err(_) => {
                        self.bad_value(known, &value);
                        self.keep_extra(&mut node.extra_attrs, key, value);
                    }
                },
                _ => match parse_bool(&value) {
                    Some(flag) if known == "certified" => node.certified = Some(flag),
                    Some(flag) => node.complete = Some(flag),
                    None => {
                        self.bad_value(known, &value);
                        self.keep_extra(&mut node.extra_attrs, key, value);
                    }
                },
            }
        }
        Ok(node)
    }

    fn file(&mut self, start: &BytesStart<'_>, position: u64) -> Result<File> {
        let mut category = None;
        let mut name = None;
        let mut extra_attrs = Vec::new();
        for (key, value) in self.attributes(start, position)? {
            match key.as_str() {
                "category" if category.is_none() => category = Some(value),
                "name" if name.is_none() => name = Some(value),
                _ => self.keep_extra(&mut extra_attrs, key, value),
            }
        }
        let name = match name {
            Some(name) if !name.trim().is_empty() => name.trim().to_owned(),
            _ => {
                let path = self.path();
                self.warnings.push(ParseWarning::Tree {
                    path,
                    detail: "file without a name".to_owned(),
                });
                String::new()
            }
        };
        Ok(File {
            category,
            name,
            extra_attrs,
        })
    }

    fn keep_extra(&mut self, extra: &mut Vec<(String, String)>, key: String, value: String) {
        if extra.len() < self.limits.max_extra_attrs {
            extra.push((key, value));
        } else if extra.len() == self.limits.max_extra_attrs {
            let path = self.path();
            self.warnings.push(ParseWarning::Tree {
                path,
                detail: format!(
                    "more than {} unknown attributes, the rest dropped",
                    self.limits.max_extra_attrs
                ),
            });
            // Push a marker so that the warning is given once per element.
            extra.push(("…".to_owned(), String::new()));
        }
    }

    fn bad_value(&mut self, key: &str, value: &str) {
        let path = self.path();
        self.warnings.push(ParseWarning::Tree {
            path,
            detail: format!("attribute {key}={value:?} not understood, kept as is"),
        });
    }
}

fn start_name(start: &BytesStart<'_>) -> String {
    let name = start.name();
    let name: &str = name.as_ref();
    name.to_owned()
}

fn parse_bool(value: &str) -> Option<bool> {
    let trimmed = value.trim();
    if trimmed.eq_ignore_ascii_case("true") {
        Some(true)
    } else if trimmed.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// Escapes control characters (ESC, CR, bidi overrides, ...) of server text for a terminal.
pub(crate) fn escape_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_control() || matches!(ch, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            out.extend(ch.escape_unicode());
        } else {
            out.push(ch);
        }
    }
    out
}

fn node_label(node: &Association) -> String {
    let mut label = escape_terminal(node.category.as_deref().unwrap_or("?"));
    let mut flags: Vec<String> = Vec::new();
    if let Some(mode) = node.mode {
        flags.push(mode.to_string());
    }
    if let Some(kind) = &node.assoc_type {
        flags.push(format!("type={}", escape_terminal(kind)));
    }
    if let Some(matched) = &node.match_ {
        flags.push(format!("match={}", escape_terminal(matched)));
    }
    match node.certified {
        Some(true) => flags.push("certified".to_owned()),
        Some(false) => flags.push("NOT CERTIFIED".to_owned()),
        None => {}
    }
    match node.complete {
        Some(true) => flags.push("complete".to_owned()),
        Some(false) => flags.push("INCOMPLETE".to_owned()),
        None => {}
    }
    if !flags.is_empty() {
        let _ = write!(label, " [{}]", flags.join(", "));
    }
    label
}

enum Item<'a> {
    Node(&'a Association),
    File(&'a File),
    FileGroup(&'a str, Vec<&'a File>),
    Message(&'a str),
}

fn items(node: &Association, style: TextStyle) -> Vec<Item<'_>> {
    let mut out = Vec::new();
    match style {
        TextStyle::Full => out.extend(node.main_files.iter().map(Item::File)),
        TextStyle::Compact => {
            let mut groups: Vec<(&str, Vec<&File>)> = Vec::new();
            for file in &node.main_files {
                let category = file.category.as_deref().unwrap_or("?");
                match groups.iter_mut().find(|(c, _)| *c == category) {
                    Some((_, files)) => files.push(file),
                    None => groups.push((category, vec![file])),
                }
            }
            out.extend(
                groups
                    .into_iter()
                    .map(|(category, files)| Item::FileGroup(category, files)),
            );
        }
    }
    out.extend(node.messages.iter().map(|m| Item::Message(m.as_str())));
    out.extend(node.associated.iter().map(Item::Node));
    out
}

/// Work list of (item, prefix of its line, is it the last sibling).
type TextWork<'a> = Vec<(Item<'a>, String, bool)>;

fn push_children<'a>(
    stack: &mut TextWork<'a>,
    node: &'a Association,
    prefix: &str,
    style: TextStyle,
) {
    let children = items(node, style);
    let count = children.len();
    for (idx, child) in children.into_iter().enumerate().rev() {
        stack.push((child, prefix.to_owned(), idx + 1 == count));
    }
}

fn render_text(root: &Association, style: TextStyle) -> String {
    let mut out = node_label(root);
    out.push('\n');
    let mut stack: TextWork<'_> = Vec::new();
    push_children(&mut stack, root, "", style);
    while let Some((item, prefix, last)) = stack.pop() {
        let connector = if last { "└── " } else { "├── " };
        out.push_str(&prefix);
        out.push_str(connector);
        match item {
            Item::Node(node) => {
                out.push_str(&node_label(node));
                out.push('\n');
                let child_prefix = format!("{prefix}{}", if last { "    " } else { "│   " });
                push_children(&mut stack, node, &child_prefix, style);
            }
            Item::File(file) => {
                let _ = writeln!(
                    out,
                    "{} {}",
                    escape_terminal(file.category.as_deref().unwrap_or("?")),
                    escape_terminal(&file.name)
                );
            }
            Item::FileGroup(category, files) => {
                let first = files.first().map(|f| f.name.as_str()).unwrap_or_default();
                let last_name = files.last().map(|f| f.name.as_str()).unwrap_or_default();
                if files.len() == 1 {
                    let _ = writeln!(
                        out,
                        "{} {}",
                        escape_terminal(category),
                        escape_terminal(first)
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "{} ×{} {} … {}",
                        escape_terminal(category),
                        files.len(),
                        escape_terminal(first),
                        escape_terminal(last_name)
                    );
                }
            }
            Item::Message(message) => {
                let _ = writeln!(out, "! {}", escape_terminal(message));
            }
        }
    }
    out
}

fn dot_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn render_dot(root: &Association) -> String {
    let mut out = String::from(
        "digraph association_tree {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n",
    );
    let mut file_ids: HashMap<&str, usize> = HashMap::new();
    let mut next_node = 0usize;
    let mut stack: Vec<(&Association, Option<usize>)> = vec![(root, None)];
    let mut edges = String::new();
    while let Some((node, parent)) = stack.pop() {
        let id = next_node;
        next_node += 1;
        let mut label = dot_escape(node.category.as_deref().unwrap_or("?"));
        if let Some(mode) = node.mode {
            let _ = write!(label, "\\n{mode}");
        }
        if let Some(matched) = &node.match_ {
            let _ = write!(label, "\\nmatch={}", dot_escape(matched));
        }
        let doubtful = node.certified == Some(false) || node.complete == Some(false);
        if node.certified == Some(false) {
            label.push_str("\\nNOT CERTIFIED");
        }
        if node.complete == Some(false) {
            label.push_str("\\nINCOMPLETE");
        }
        let style = if doubtful {
            ", color=red, style=dashed"
        } else {
            ""
        };
        let _ = writeln!(out, "  a{id} [shape=box, label=\"{label}\"{style}];");
        if let Some(parent) = parent {
            let _ = writeln!(edges, "  a{parent} -> a{id};");
        }
        for file in &node.main_files {
            let file_id = match file_ids.get(file.name.as_str()) {
                Some(&file_id) => file_id,
                None => {
                    let file_id = file_ids.len();
                    file_ids.insert(file.name.as_str(), file_id);
                    let _ = writeln!(
                        out,
                        "  f{file_id} [shape=note, label=\"{}\\n{}\"];",
                        dot_escape(file.category.as_deref().unwrap_or("?")),
                        dot_escape(&file.name)
                    );
                    file_id
                }
            };
            let _ = writeln!(edges, "  a{id} -> f{file_id} [arrowhead=none, color=gray];");
        }
        for child in node.associated.iter().rev() {
            stack.push((child, Some(id)));
        }
    }
    out.push_str(&edges);
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<association category="SCI" certified="false" complete="true" mode="Raw2Master" type="main" future="x">
  <mainFiles><file category="SCIENCE" name="S.1"/></mainFiles>
  <messages><message>first &amp; only</message></messages>
  <associatedFiles>
    <association category="FLAT" certified="true" complete="false" match="calib_plan" type="main">
      <mainFiles><file category="FLAT" name="F.1"/><file category="FLAT" name="F.2"/></mainFiles>
      <messages>direct text</messages>
      <surprise a="1"><nested/></surprise>
      <associatedFiles>
        <association category="BIAS"><mainFiles><file category="BIAS" name="B.1"/></mainFiles></association>
      </associatedFiles>
    </association>
    <association category="BIAS"><mainFiles><file category="BIAS" name="B.1"/></mainFiles></association>
  </associatedFiles>
</association>"#;

    #[test]
    fn small_tree() {
        let (tree, warnings) = AssociationTree::parse(SMALL.as_bytes()).unwrap();
        assert_eq!(tree.root.certified, Some(false));
        assert_eq!(tree.root.mode, Some(Mode::Raw2Master));
        assert_eq!(
            tree.root.extra_attrs,
            vec![("future".to_owned(), "x".to_owned())]
        );
        assert_eq!(tree.root.messages, vec!["first & only".to_owned()]);
        assert_eq!(tree.root.associated.len(), 2);
        let flat = &tree.root.associated[0];
        assert_eq!(flat.messages, vec!["direct text".to_owned()]);
        assert_eq!(flat.associated[0].main_files[0].name, "B.1");
        assert_eq!(
            warnings,
            vec![ParseWarning::UnknownElement {
                path: "association/associatedFiles/association".to_owned(),
                name: "surprise".to_owned()
            }]
        );
        let files = tree.files();
        let bias = files.iter().find(|f| f.name == "B.1").unwrap();
        assert_eq!(
            bias.branches,
            vec![
                vec!["SCI".to_owned(), "FLAT".to_owned(), "BIAS".to_owned()],
                vec!["SCI".to_owned(), "BIAS".to_owned()]
            ]
        );
        assert!(files[0].science);
        assert_eq!(tree.calibration_files().len(), 3);
        assert!(!tree.all_certified_and_complete());
    }

    #[test]
    fn doctype_and_entities_are_refused() {
        let doctype = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><association category="&lol;"/>"#;
        assert!(matches!(
            AssociationTree::parse(doctype),
            Err(Error::Doctype { .. })
        ));
        let entity = br#"<association category="&lol;"/>"#;
        assert!(matches!(
            AssociationTree::parse(entity),
            Err(Error::Xml { .. })
        ));
        let text_entity = br#"<association><messages>&xxe;</messages></association>"#;
        assert!(matches!(
            AssociationTree::parse(text_entity),
            Err(Error::Xml { .. })
        ));
    }

    #[test]
    fn deep_nesting_is_capped_without_recursion() {
        let depth = 200_000;
        let mut doc = String::with_capacity(depth * 60);
        for _ in 0..depth {
            doc.push_str("<association><associatedFiles>");
        }
        for _ in 0..depth {
            doc.push_str("</associatedFiles></association>");
        }
        assert!(matches!(
            AssociationTree::parse(doc.as_bytes()),
            Err(Error::TooDeep { limit: 256, .. })
        ));
        // Deep but allowed: within the cap, everything (drop included) works.
        let ok_depth = 100;
        let mut doc = String::new();
        for _ in 0..ok_depth {
            doc.push_str("<association category=\"X\"><associatedFiles>");
        }
        for _ in 0..ok_depth {
            doc.push_str("</associatedFiles></association>");
        }
        let (tree, _) = AssociationTree::parse(doc.as_bytes()).unwrap();
        assert_eq!(tree.nodes().len(), ok_depth);
        assert!(tree.to_text().lines().count() == ok_depth);
    }

    #[test]
    fn size_cap() {
        let limits = TreeLimits {
            max_bytes: 10,
            ..TreeLimits::default()
        };
        assert!(matches!(
            AssociationTree::parse_with(SMALL.as_bytes(), &limits),
            Err(Error::TooLarge { limit: 10, .. })
        ));
    }

    #[test]
    fn wrong_root_and_malformed() {
        assert!(matches!(
            AssociationTree::parse(b"<html><body/></html>"),
            Err(Error::NotAnAssociationTree { root }) if root == "html"
        ));
        assert!(matches!(
            AssociationTree::parse(b""),
            Err(Error::NotAnAssociationTree { .. })
        ));
        assert!(matches!(
            AssociationTree::parse(b"<association><mainFiles></association>"),
            Err(Error::Xml { .. })
        ));
        assert!(matches!(
            AssociationTree::parse(b"<association>"),
            Err(Error::Xml { .. })
        ));
        assert!(matches!(
            AssociationTree::parse(b"<association category=\"\xff\"/>"),
            Err(Error::Xml { .. })
        ));
    }

    #[test]
    fn many_attributes_stay_linear_and_capped() {
        let mut doc = String::from("<association");
        for idx in 0..100_000 {
            let _ = write!(doc, " a{idx}=\"v\" category=\"dup\"");
        }
        doc.push_str("/>");
        let started = std::time::Instant::now();
        let (tree, warnings) = AssociationTree::parse(doc.as_bytes()).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(tree.root.category.as_deref(), Some("dup"));
        assert_eq!(tree.root.extra_attrs.len(), 65);
        assert!(warnings.len() < 100_001);
    }

    #[test]
    fn dot_and_text_escape_server_strings() {
        let doc = "<association category=\"A&#x1b;]52;x&#34;\\\"><mainFiles><file category=\"C\" name=\"N&#x202e;\"/></mainFiles></association>";
        let (tree, _) = AssociationTree::parse(doc.as_bytes()).unwrap();
        let text = tree.to_text();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text}"
        );
        let dot = tree.to_dot();
        assert!(dot.contains("A]52;x\\\"\\\\"), "{dot}");
    }
}

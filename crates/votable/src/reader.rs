//! The streaming reader: metadata first (parsed with quick-xml), then rows one at a
//! time from the TABLEDATA scanner or the BINARY/BINARY2 decoder, in constant memory.

use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};

use crate::binary::{self, B64, Fail};
use crate::datatype::{ArraySize, Datatype};
use crate::error::{Error, ErrorKind, Location, Result};
use crate::model::{
    Bound, CooSys, Document, Field, Group, Info, Link, Param, Resource, ResourceType,
    Serialization, TableMeta, TimeSys, ValueOption, Values,
};
use crate::source::Source;
use crate::spec::FieldSpec;
use crate::tabledata::{self, Step};
use crate::value::Value;

/// Caps that bound the memory and stack a document may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Maximum element nesting depth (default 256).
    pub max_depth: usize,
    /// Maximum bytes of one metadata tag or text node, attributes included (default 16 MiB).
    pub max_element_bytes: usize,
    /// Maximum bytes of one TABLEDATA row (default 64 MiB).
    pub max_row_bytes: usize,
    /// Maximum decoded bytes of one cell (default 64 MiB).
    pub max_cell_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 256,
            max_element_bytes: 16 << 20,
            max_row_bytes: 64 << 20,
            max_cell_bytes: 64 << 20,
        }
    }
}

/// One table row: a value per field, reused from row to row (string and array
/// allocations are kept).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    /// An empty row, to pass to [`Reader::read_row`].
    pub fn new() -> Row {
        Row::default()
    }

    /// A row holding these values.
    pub fn from_values(values: Vec<Value>) -> Row {
        Row { values }
    }

    /// The cells, one per field.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The cell of field `i`.
    pub fn get(&self, i: usize) -> Option<&Value> {
        self.values.get(i)
    }

    /// The number of cells.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no cells.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Takes the cells out of the row.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }
}

/// A step in the index path from the document root to an open container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Node {
    Resource(usize),
    Table(usize),
    Group(usize),
}

enum Container<'a> {
    Doc(&'a mut Document),
    Resource(&'a mut Resource),
    Table(&'a mut TableMeta),
    Group(&'a mut Group),
}

fn container_mut<'a>(doc: &'a mut Document, nodes: &[Node]) -> Option<Container<'a>> {
    let mut c = Container::Doc(doc);
    for n in nodes {
        c = match (c, *n) {
            (Container::Doc(d), Node::Resource(i)) => Container::Resource(d.resources.get_mut(i)?),
            (Container::Doc(d), Node::Group(i)) => Container::Group(d.groups.get_mut(i)?),
            (Container::Resource(r), Node::Resource(i)) => {
                Container::Resource(r.resources.get_mut(i)?)
            }
            (Container::Resource(r), Node::Table(i)) => Container::Table(r.tables.get_mut(i)?),
            (Container::Resource(r), Node::Group(i)) => Container::Group(r.groups.get_mut(i)?),
            (Container::Table(t), Node::Group(i)) => Container::Group(t.groups.get_mut(i)?),
            (Container::Group(g), Node::Group(i)) => Container::Group(g.groups.get_mut(i)?),
            _ => return None,
        };
    }
    Some(c)
}

/// The table at an index path.
pub(crate) fn table_at<'a>(doc: &'a Document, nodes: &[Node]) -> Option<&'a TableMeta> {
    let (Node::Table(ti), parents) = nodes.split_last()? else {
        return None;
    };
    let mut res: Option<&Resource> = None;
    for n in parents {
        let Node::Resource(i) = *n else { return None };
        res = Some(match res {
            None => doc.resources.get(i)?,
            Some(r) => r.resources.get(i)?,
        });
    }
    res?.tables.get(*ti)
}

/// Metadata elements being built (attached to their parent when they end).
#[derive(Debug)]
enum Leaf {
    Field(Box<Field>),
    Param(Box<Param>),
    Info(Info),
    Description,
    Values(Values),
    Bound { max: bool, bound: Bound },
    Opt(ValueOption),
    Link(Link),
    CooSys(CooSys),
    TimeSys(TimeSys),
    Ignore,
}

#[derive(Debug)]
struct Seg {
    name: String,
    index: u32,
    counts: Vec<(String, u32)>,
    /// Whether this element pushed a container node or a leaf.
    pushed: Pushed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pushed {
    Nothing,
    Node,
    Leaf,
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading metadata.
    Meta,
    /// Positioned inside TABLEDATA.
    TableData,
    /// Positioned inside a base64 STREAM.
    Binary { binary2: bool },
    /// The current table's rows are done (or it has none).
    NoRows,
    /// End of document.
    Done,
}

/// Streaming VOTable reader.
///
/// ```
/// let xml = br#"<VOTABLE version="1.4"><RESOURCE><TABLE>
///   <FIELD name="id" datatype="int"/><FIELD name="name" datatype="char" arraysize="*"/>
///   <DATA><TABLEDATA><TR><TD>1</TD><TD>a</TD></TR><TR><TD>2</TD><TD/></TR></TABLEDATA></DATA>
///   </TABLE><INFO name="QUERY_STATUS" value="OVERFLOW"/></RESOURCE></VOTABLE>"#;
/// let mut reader = votable::Reader::new(&xml[..])?;
/// assert_eq!(reader.table().unwrap().fields.len(), 2);
/// let mut row = votable::Row::new();
/// let mut n = 0;
/// while reader.read_row(&mut row)? {
///     n += 1;
/// }
/// assert_eq!(n, 2);
/// let doc = reader.finish()?;
/// assert_eq!(doc.query_status(), Some(votable::QueryStatus::Overflow));
/// # Ok::<(), votable::Error>(())
/// ```
#[derive(Debug)]
pub struct Reader<R: BufRead> {
    xml: quick_xml::Reader<Source<R>>,
    buf: Vec<u8>,
    limits: Limits,
    doc: Document,
    path: Vec<Seg>,
    root_counts: Vec<(String, u32)>,
    nodes: Vec<Node>,
    leaves: Vec<Leaf>,
    text: String,
    state: State,
    seen_root: bool,
    /// Index path of the current table.
    cur: Option<Vec<Node>>,
    /// Whether the open TABLE (innermost) has already been announced.
    announced: bool,
    specs: Vec<FieldSpec>,
    rows: u64,
    scratch: Vec<u8>,
    flags: Vec<u8>,
    b64: B64,
    spare: Row,
}

impl<R: BufRead> Reader<R> {
    /// Starts reading: parses the metadata up to the first table's rows.
    ///
    /// # Errors
    /// Malformed XML, a root element other than `VOTABLE`, FITS data, an external
    /// stream, or an I/O error.
    pub fn new(input: R) -> Result<Self> {
        Self::with_limits(input, Limits::default())
    }

    /// Like [`Reader::new`] with explicit limits.
    ///
    /// # Errors
    /// As [`Reader::new`].
    pub fn with_limits(input: R, limits: Limits) -> Result<Self> {
        let mut xml = quick_xml::Reader::from_reader(Source::new(input));
        let cfg = xml.config_mut();
        cfg.check_end_names = false;
        cfg.expand_empty_elements = false;
        cfg.trim_text_start = false;
        cfg.trim_text_end = false;
        let mut r = Reader {
            xml,
            buf: Vec::new(),
            limits,
            doc: Document::default(),
            path: Vec::new(),
            root_counts: Vec::new(),
            nodes: Vec::new(),
            leaves: Vec::new(),
            text: String::new(),
            state: State::Meta,
            seen_root: false,
            cur: None,
            announced: false,
            specs: Vec::new(),
            rows: 0,
            scratch: Vec::new(),
            flags: Vec::new(),
            b64: B64::default(),
            spare: Row::new(),
        };
        r.advance_meta()?;
        Ok(r)
    }

    /// The metadata read so far.
    pub fn document(&self) -> &Document {
        &self.doc
    }

    /// The table whose rows are being read (`None` before the first table and at the end).
    pub fn table(&self) -> Option<&TableMeta> {
        table_at(&self.doc, self.cur.as_deref()?)
    }

    /// The index path of the current table (used to find it again in the final document).
    pub(crate) fn table_path(&self) -> Option<&[Node]> {
        self.cur.as_deref()
    }

    /// The number of rows of the current table read so far.
    pub fn rows_read(&self) -> u64 {
        self.rows
    }

    /// Reads the next row of the current table into `row`; `false` at its end.
    ///
    /// # Errors
    /// A malformed row or cell (with line, column and path), or an I/O error.
    pub fn read_row(&mut self, row: &mut Row) -> Result<bool> {
        match self.state {
            State::TableData => self.read_td_row(row),
            State::Binary { binary2 } => self.read_bin_row(row, binary2),
            _ => Ok(false),
        }
    }

    /// Skips what is left of the current table and moves to the next `TABLE`;
    /// `false` when the document has no more tables.
    ///
    /// # Errors
    /// As [`Reader::read_row`].
    pub fn next_table(&mut self) -> Result<bool> {
        let mut spare = std::mem::take(&mut self.spare);
        let r = (|| {
            while self.read_row(&mut spare)? {}
            Ok::<_, Error>(())
        })();
        self.spare = spare;
        r?;
        if self.state == State::Done {
            return Ok(false);
        }
        self.state = State::Meta;
        self.advance_meta()
    }

    /// Reads to the end of the document and returns the complete metadata,
    /// including `INFO`s that follow the data.
    ///
    /// # Errors
    /// As [`Reader::read_row`].
    pub fn finish(mut self) -> Result<Document> {
        while self.next_table()? {}
        Ok(self.doc)
    }

    fn location(&self, rel: usize, extra: &str) -> Location {
        let (line, column) = self.xml.get_ref().location_at(rel);
        let mut path = self.path_string();
        path.push_str(extra);
        Location { line, column, path }
    }

    fn path_string(&self) -> String {
        let mut s = String::new();
        for (i, seg) in self.path.iter().enumerate() {
            if i > 0 {
                s.push('/');
            }
            s.push_str(&seg.name);
            let indexed = matches!(
                seg.name.as_str(),
                "RESOURCE" | "FIELD" | "PARAM" | "INFO" | "GROUP"
            );
            if indexed || seg.index > 1 {
                s.push_str(&format!("[{}]", seg.index));
            }
        }
        s
    }

    fn fail(&self, kind: ErrorKind) -> Error {
        Error::parse(kind, self.location(0, ""))
    }

    fn structure(&self, msg: impl Into<String>) -> Error {
        self.fail(ErrorKind::Structure(msg.into()))
    }

    // ----- rows -------------------------------------------------------------

    fn prepare_row(&self, row: &mut Row) {
        let n = self.specs.len();
        if row.values.len() != n {
            row.values.resize(n, Value::Null);
        }
    }

    fn read_td_row(&mut self, row: &mut Row) -> Result<bool> {
        self.prepare_row(row);
        let max = self.limits.max_row_bytes;
        loop {
            let src = self.xml.get_mut();
            let step = tabledata::scan(
                src.window(),
                &self.specs,
                &mut row.values,
                &mut self.scratch,
            );
            match step {
                Ok(Step::Row(n)) => {
                    self.xml.get_mut().advance(n);
                    self.rows += 1;
                    return Ok(true);
                }
                Ok(Step::Skip(n)) => self.xml.get_mut().advance(n),
                Ok(Step::End(n)) => {
                    self.xml.get_mut().advance(n);
                    // `</TABLEDATA>` was consumed here: close it in the path.
                    self.path.pop();
                    self.state = State::NoRows;
                    return Ok(false);
                }
                Ok(Step::NeedMore) => {
                    let src = self.xml.get_mut();
                    let len = src.window().len();
                    if len >= max {
                        return Err(self.fail(ErrorKind::TooLarge {
                            what: "TABLEDATA row",
                            limit: max,
                        }));
                    }
                    let grew = src.more(max).map_err(Error::Io)?;
                    if !grew {
                        return Err(self.fail(ErrorKind::UnexpectedEof(
                            "input ended inside TABLEDATA".into(),
                        )));
                    }
                }
                Err(e) => {
                    let mut extra = format!("/TR[{}]", self.rows + 1);
                    if let Some(td) = e.td {
                        extra.push_str(&format!("/TD[{}]", td + 1));
                    }
                    return Err(Error::parse(e.kind, self.location(e.rel, &extra)));
                }
            }
        }
    }

    fn read_bin_row(&mut self, row: &mut Row, binary2: bool) -> Result<bool> {
        self.prepare_row(row);
        let res = binary::next_row(
            &mut self.b64,
            self.xml.get_mut(),
            &self.specs,
            &mut row.values,
            binary2,
            &mut self.flags,
            &self.limits,
        );
        match res {
            Ok(true) => {
                self.rows += 1;
                Ok(true)
            }
            Ok(false) => {
                self.state = State::NoRows;
                Ok(false)
            }
            Err(Fail::Io(e)) => Err(Error::Io(e)),
            Err(Fail::At(td, kind)) => {
                let mut extra = format!(" (row {})", self.rows + 1);
                if let Some(td) = td {
                    let name = self.specs.get(td).map(|s| s.name.as_str()).unwrap_or("");
                    extra = format!(" (row {}, field {} {:?})", self.rows + 1, td + 1, name);
                }
                Err(Error::parse(*kind, self.location(0, &extra)))
            }
        }
    }

    // ----- metadata ---------------------------------------------------------

    /// Reads metadata until a table is ready (`true`) or the document ends (`false`).
    fn advance_meta(&mut self) -> Result<bool> {
        loop {
            let budget = self.limits.max_element_bytes;
            self.xml.get_mut().set_budget(Some(budget));
            self.buf.clear();
            let ev = self.xml.read_event_into(&mut self.buf);
            let over = self.xml.get_ref().over_budget;
            self.xml.get_mut().set_budget(None);
            let ev = match ev {
                Ok(ev) => ev.into_owned(),
                Err(_) if over => {
                    return Err(self.fail(ErrorKind::TooLarge {
                        what: "element",
                        limit: budget,
                    }));
                }
                Err(quick_xml::Error::Io(e)) => {
                    return Err(Error::Io(std::io::Error::new(e.kind(), e.to_string())));
                }
                Err(e) => return Err(self.fail(ErrorKind::Xml(e.to_string()))),
            };
            match ev {
                Event::Start(e) => {
                    if let Some(ready) = self.start(&e, false)? {
                        return Ok(ready);
                    }
                }
                Event::Empty(e) => {
                    if let Some(ready) = self.start(&e, true)? {
                        return Ok(ready);
                    }
                    if let Some(ready) = self.end()? {
                        return Ok(ready);
                    }
                }
                Event::End(e) => {
                    let qname = e.name();
                    let name = local(qname.as_ref()).to_owned();
                    match self.path.last() {
                        Some(seg) if seg.name == name.as_str() => {}
                        Some(seg) => {
                            return Err(self.fail(ErrorKind::Xml(format!(
                                "expected </{}>, found </{name}>",
                                seg.name
                            ))));
                        }
                        None => {
                            return Err(self.fail(ErrorKind::Xml(format!("unexpected </{name}>"))));
                        }
                    }
                    if let Some(ready) = self.end()? {
                        return Ok(ready);
                    }
                }
                Event::Text(t) => {
                    if self.collecting_text() {
                        self.push_text(&t.xml10_content())?;
                    } else if self.path.is_empty() && !t.xml10_content().trim().is_empty() {
                        return Err(self.structure("text outside the VOTABLE element"));
                    }
                }
                Event::CData(t) => {
                    if self.collecting_text() {
                        self.push_text(&t.xml10_content())?;
                    }
                }
                Event::GeneralRef(r) => {
                    let s = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => match &*r {
                            "amp" => "&".into(),
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "quot" => "\"".into(),
                            "apos" => "'".into(),
                            other => {
                                return Err(self.fail(ErrorKind::Xml(format!(
                                    "unknown entity &{other}; (entities are never expanded)"
                                ))));
                            }
                        },
                        Err(e) => return Err(self.fail(ErrorKind::Xml(e.to_string()))),
                    };
                    if self.collecting_text() {
                        self.push_text(&s)?;
                    }
                }
                // A DOCTYPE is ignored: its entities are never expanded.
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
                Event::Eof => {
                    if !self.seen_root {
                        return Err(self.fail(ErrorKind::UnexpectedEof(
                            "no VOTABLE element in the input".into(),
                        )));
                    }
                    if !self.path.is_empty() {
                        return Err(self.fail(ErrorKind::UnexpectedEof(format!(
                            "document ended inside <{}>",
                            self.path.last().map(|s| s.name.as_str()).unwrap_or("")
                        ))));
                    }
                    self.state = State::Done;
                    self.cur = None;
                    return Ok(false);
                }
            }
        }
    }

    fn collecting_text(&self) -> bool {
        matches!(self.path.last().map(|s| s.pushed), Some(Pushed::Leaf))
            && matches!(self.leaves.last(), Some(Leaf::Description | Leaf::Info(_)))
    }

    fn push_text(&mut self, s: &str) -> Result<()> {
        if self.text.len() + s.len() > self.limits.max_element_bytes {
            return Err(self.fail(ErrorKind::TooLarge {
                what: "text",
                limit: self.limits.max_element_bytes,
            }));
        }
        self.text.push_str(s);
        Ok(())
    }

    fn attrs(&self, e: &BytesStart<'_>) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|err| self.fail(ErrorKind::Xml(err.to_string())))?;
            let key = local(a.key.as_ref()).to_owned();
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| self.fail(ErrorKind::Xml(err.to_string())))?
                .into_owned();
            out.push((key, value));
        }
        Ok(out)
    }

    fn push_seg(&mut self, name: &str, pushed: Pushed) {
        let counts = match self.path.last_mut() {
            Some(p) => &mut p.counts,
            None => &mut self.root_counts,
        };
        let index = match counts.iter_mut().find(|(n, _)| n == name) {
            Some((_, c)) => {
                *c += 1;
                *c
            }
            None => {
                counts.push((name.to_owned(), 1));
                1
            }
        };
        self.path.push(Seg {
            name: name.to_owned(),
            index,
            counts: Vec::new(),
            pushed,
        });
    }

    /// Handles a start tag. Returns `Some(ready)` when the reader must stop.
    fn start(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<Option<bool>> {
        let name = local(e.name().as_ref()).to_owned();
        if self.path.len() >= self.limits.max_depth {
            return Err(self.fail(ErrorKind::TooDeep {
                limit: self.limits.max_depth,
            }));
        }
        if self.path.last().is_some_and(|s| s.pushed == Pushed::Skip) {
            self.push_seg(&name, Pushed::Skip);
            return Ok(None);
        }
        if self.path.is_empty() {
            if self.seen_root {
                return Err(self.structure(format!("second root element <{name}>")));
            }
            if name != "VOTABLE" {
                return Err(self.fail(ErrorKind::NotVoTable(name)));
            }
            self.seen_root = true;
            let attrs = self.attrs(e)?;
            self.doc.version = get(&attrs, "version");
            self.doc.id = get(&attrs, "ID");
            self.push_seg(&name, Pushed::Nothing);
            return Ok(None);
        }
        let attrs = self.attrs(e)?;
        let parent_leaf = self.path.last().is_some_and(|s| s.pushed == Pushed::Leaf);
        let pushed = match name.as_str() {
            "RESOURCE" if !parent_leaf => {
                let r = Resource {
                    id: get(&attrs, "ID"),
                    name: get(&attrs, "name"),
                    resource_type: match get(&attrs, "type").as_deref() {
                        None | Some("results") => ResourceType::Results,
                        Some("meta") => ResourceType::Meta,
                        Some(o) => ResourceType::Other(o.to_owned()),
                    },
                    utype: get(&attrs, "utype"),
                    ..Resource::default()
                };
                let idx = match container_mut(&mut self.doc, &self.nodes) {
                    Some(Container::Doc(d)) => {
                        d.resources.push(r);
                        d.resources.len() - 1
                    }
                    Some(Container::Resource(p)) => {
                        p.resources.push(r);
                        p.resources.len() - 1
                    }
                    _ => return Err(self.structure("RESOURCE must be inside VOTABLE or RESOURCE")),
                };
                self.nodes.push(Node::Resource(idx));
                Pushed::Node
            }
            "TABLE" if !parent_leaf => {
                let t = TableMeta {
                    id: get(&attrs, "ID"),
                    name: get(&attrs, "name"),
                    ucd: get(&attrs, "ucd"),
                    utype: get(&attrs, "utype"),
                    ref_: get(&attrs, "ref"),
                    nrows: get(&attrs, "nrows").and_then(|n| n.trim().parse().ok()),
                    ..TableMeta::default()
                };
                let idx = match container_mut(&mut self.doc, &self.nodes) {
                    Some(Container::Resource(p)) => {
                        p.tables.push(t);
                        p.tables.len() - 1
                    }
                    _ => return Err(self.structure("TABLE must be inside RESOURCE")),
                };
                self.nodes.push(Node::Table(idx));
                self.announced = false;
                Pushed::Node
            }
            "GROUP" if !parent_leaf => {
                let g = Group {
                    id: get(&attrs, "ID"),
                    name: get(&attrs, "name"),
                    ref_: get(&attrs, "ref"),
                    ucd: get(&attrs, "ucd"),
                    utype: get(&attrs, "utype"),
                    ..Group::default()
                };
                let idx = match container_mut(&mut self.doc, &self.nodes) {
                    Some(Container::Doc(d)) => {
                        d.groups.push(g);
                        d.groups.len() - 1
                    }
                    Some(Container::Resource(p)) => {
                        p.groups.push(g);
                        p.groups.len() - 1
                    }
                    Some(Container::Table(p)) => {
                        p.groups.push(g);
                        p.groups.len() - 1
                    }
                    Some(Container::Group(p)) => {
                        p.groups.push(g);
                        p.groups.len() - 1
                    }
                    None => return Err(self.structure("misplaced GROUP")),
                };
                self.nodes.push(Node::Group(idx));
                Pushed::Node
            }
            "FIELD" if !parent_leaf => {
                let f = self.field_from(&attrs)?;
                self.leaves.push(Leaf::Field(Box::new(f)));
                Pushed::Leaf
            }
            "PARAM" if !parent_leaf => {
                let f = self.field_from(&attrs)?;
                let value = get(&attrs, "value").unwrap_or_default();
                self.leaves
                    .push(Leaf::Param(Box::new(Param { field: f, value })));
                Pushed::Leaf
            }
            "INFO" if !parent_leaf => {
                self.text.clear();
                self.leaves.push(Leaf::Info(Info {
                    id: get(&attrs, "ID"),
                    name: get(&attrs, "name").unwrap_or_default(),
                    value: get(&attrs, "value").unwrap_or_default(),
                    content: None,
                    unit: get(&attrs, "unit"),
                    ucd: get(&attrs, "ucd"),
                    utype: get(&attrs, "utype"),
                    xtype: get(&attrs, "xtype"),
                    ref_: get(&attrs, "ref"),
                }));
                Pushed::Leaf
            }
            "DESCRIPTION" => {
                self.text.clear();
                self.leaves.push(Leaf::Description);
                Pushed::Leaf
            }
            "VALUES" if matches!(self.leaves.last(), Some(Leaf::Field(_) | Leaf::Param(_))) => {
                self.leaves.push(Leaf::Values(Values {
                    id: get(&attrs, "ID"),
                    values_type: get(&attrs, "type"),
                    null: get(&attrs, "null"),
                    ref_: get(&attrs, "ref"),
                    ..Values::default()
                }));
                Pushed::Leaf
            }
            "MIN" | "MAX" if matches!(self.leaves.last(), Some(Leaf::Values(_))) => {
                self.leaves.push(Leaf::Bound {
                    max: name == "MAX",
                    bound: Bound {
                        value: get(&attrs, "value").unwrap_or_default(),
                        inclusive: !matches!(get(&attrs, "inclusive").as_deref(), Some("no")),
                    },
                });
                Pushed::Leaf
            }
            "OPTION" if matches!(self.leaves.last(), Some(Leaf::Values(_) | Leaf::Opt(_))) => {
                self.leaves.push(Leaf::Opt(ValueOption {
                    name: get(&attrs, "name"),
                    value: get(&attrs, "value").unwrap_or_default(),
                    options: Vec::new(),
                }));
                Pushed::Leaf
            }
            "LINK" => {
                self.leaves.push(Leaf::Link(Link {
                    id: get(&attrs, "ID"),
                    content_role: get(&attrs, "content-role"),
                    content_type: get(&attrs, "content-type"),
                    title: get(&attrs, "title"),
                    value: get(&attrs, "value"),
                    href: get(&attrs, "href"),
                    action: get(&attrs, "action"),
                }));
                Pushed::Leaf
            }
            "COOSYS" if !parent_leaf => {
                self.leaves.push(Leaf::CooSys(CooSys {
                    id: get(&attrs, "ID"),
                    system: get(&attrs, "system"),
                    equinox: get(&attrs, "equinox"),
                    epoch: get(&attrs, "epoch"),
                    refposition: get(&attrs, "refposition"),
                }));
                Pushed::Leaf
            }
            "TIMESYS" if !parent_leaf => {
                self.leaves.push(Leaf::TimeSys(TimeSys {
                    id: get(&attrs, "ID"),
                    timeorigin: get(&attrs, "timeorigin"),
                    timescale: get(&attrs, "timescale"),
                    refposition: get(&attrs, "refposition"),
                }));
                Pushed::Leaf
            }
            "FIELDref" | "PARAMref" if !parent_leaf => {
                if let Some(Container::Group(g)) = container_mut(&mut self.doc, &self.nodes) {
                    let r = get(&attrs, "ref").unwrap_or_default();
                    if name == "FIELDref" {
                        g.field_refs.push(r);
                    } else {
                        g.param_refs.push(r);
                    }
                }
                self.leaves.push(Leaf::Ignore);
                Pushed::Leaf
            }
            "DEFINITIONS" => Pushed::Nothing,
            "DATA" if matches!(self.nodes.last(), Some(Node::Table(_))) => Pushed::Nothing,
            "TABLEDATA" | "BINARY" | "BINARY2" | "FITS"
                if self.path.last().is_some_and(|s| s.name == "DATA") =>
            {
                let ser = match name.as_str() {
                    "TABLEDATA" => Serialization::TableData,
                    "BINARY" => Serialization::Binary,
                    "BINARY2" => Serialization::Binary2,
                    _ => Serialization::Fits,
                };
                if let Some(Container::Table(t)) = container_mut(&mut self.doc, &self.nodes) {
                    t.serialization = Some(ser);
                }
                if !(empty && ser == Serialization::TableData) {
                    self.push_seg(&name, Pushed::Nothing);
                }
                if ser == Serialization::Fits {
                    return Err(self.fail(ErrorKind::UnsupportedFits));
                }
                if ser == Serialization::TableData {
                    self.announce()?;
                    if empty {
                        self.state = State::NoRows;
                    } else {
                        self.state = State::TableData;
                    }
                    return Ok(Some(true));
                }
                return Ok(None);
            }
            "STREAM"
                if self
                    .path
                    .last()
                    .is_some_and(|s| s.name == "BINARY" || s.name == "BINARY2") =>
            {
                let binary2 = self.path.last().is_some_and(|s| s.name == "BINARY2");
                if !empty {
                    self.push_seg(&name, Pushed::Nothing);
                }
                if let Some(href) = get(&attrs, "href") {
                    return Err(self.fail(ErrorKind::ExternalStream { href }));
                }
                match get(&attrs, "encoding").as_deref() {
                    None | Some("base64") => {}
                    Some(other) => {
                        return Err(self.fail(ErrorKind::UnsupportedEncoding(other.to_owned())));
                    }
                }
                self.announce()?;
                self.b64.reset();
                self.state = if empty {
                    State::NoRows
                } else {
                    State::Binary { binary2 }
                };
                return Ok(Some(true));
            }
            _ => Pushed::Skip,
        };
        self.push_seg(&name, pushed);
        Ok(None)
    }

    /// Makes the innermost open TABLE the current table.
    fn announce(&mut self) -> Result<()> {
        self.announced = true;
        self.cur = Some(self.nodes.clone());
        self.rows = 0;
        let fields = self.table().map(|t| t.fields.clone()).unwrap_or_default();
        let mut specs = Vec::with_capacity(fields.len());
        for f in &fields {
            specs.push(FieldSpec::new(f, &self.limits).map_err(|k| self.fail(k))?);
        }
        self.specs = specs;
        Ok(())
    }

    fn field_from(&self, attrs: &[(String, String)]) -> Result<Field> {
        let dt_text = get(attrs, "datatype").unwrap_or_default();
        let datatype: Datatype = dt_text.parse().map_err(|_| {
            self.fail(ErrorKind::BadAttribute {
                name: "datatype".into(),
                value: dt_text.clone(),
                reason: "unknown datatype".into(),
            })
        })?;
        let arraysize = match get(attrs, "arraysize") {
            None => None,
            Some(a) => Some(a.parse::<ArraySize>().map_err(|_| {
                self.fail(ErrorKind::BadAttribute {
                    name: "arraysize".into(),
                    value: a.clone(),
                    reason: "expected N, *, N* or AxBx... with only the last variable".into(),
                })
            })?),
        };
        let mut f = Field::new(get(attrs, "name").unwrap_or_default(), datatype);
        f.id = get(attrs, "ID");
        f.arraysize = arraysize;
        f.width = get(attrs, "width").and_then(|w| w.trim().parse().ok());
        f.precision = get(attrs, "precision");
        f.unit = get(attrs, "unit");
        f.ucd = get(attrs, "ucd");
        f.utype = get(attrs, "utype");
        f.xtype = get(attrs, "xtype");
        f.ref_ = get(attrs, "ref");
        Ok(f)
    }

    /// Handles an end tag (the path top matches). Returns `Some(ready)` to stop.
    fn end(&mut self) -> Result<Option<bool>> {
        let Some(seg) = self.path.pop() else {
            return Ok(None);
        };
        match seg.pushed {
            Pushed::Nothing | Pushed::Skip => Ok(None),
            Pushed::Node => {
                let node = self.nodes.last().copied();
                if let Some(Node::Table(_)) = node {
                    if !self.announced {
                        // A TABLE without DATA: a table with no rows.
                        self.announce()?;
                        self.nodes.pop();
                        self.state = State::NoRows;
                        return Ok(Some(true));
                    }
                }
                self.nodes.pop();
                Ok(None)
            }
            Pushed::Leaf => {
                let leaf = self.leaves.pop();
                if let Some(leaf) = leaf {
                    self.attach(leaf);
                }
                Ok(None)
            }
        }
    }

    fn attach(&mut self, leaf: Leaf) {
        let text = std::mem::take(&mut self.text);
        // Leaves nested in leaves.
        if let Some(parent) = self.leaves.last_mut() {
            match (parent, leaf) {
                (Leaf::Field(f), Leaf::Description) => f.description = non_empty(text),
                (Leaf::Param(p), Leaf::Description) => p.field.description = non_empty(text),
                (Leaf::Field(f), Leaf::Values(v)) => f.values = Some(v),
                (Leaf::Param(p), Leaf::Values(v)) => p.field.values = Some(v),
                (Leaf::Field(f), Leaf::Link(l)) => f.links.push(l),
                (Leaf::Param(p), Leaf::Link(l)) => p.field.links.push(l),
                (Leaf::Values(v), Leaf::Bound { max, bound }) => {
                    if max {
                        v.max = Some(bound);
                    } else {
                        v.min = Some(bound);
                    }
                }
                (Leaf::Values(v), Leaf::Opt(o)) => v.options.push(o),
                (Leaf::Opt(p), Leaf::Opt(o)) => p.options.push(o),
                _ => {}
            }
            return;
        }
        let Some(c) = container_mut(&mut self.doc, &self.nodes) else {
            return;
        };
        match (c, leaf) {
            (Container::Table(t), Leaf::Field(f)) => t.fields.push(*f),
            (Container::Doc(d), Leaf::Param(p)) => d.params.push(*p),
            (Container::Resource(r), Leaf::Param(p)) => r.params.push(*p),
            (Container::Table(t), Leaf::Param(p)) => t.params.push(*p),
            (Container::Group(g), Leaf::Param(p)) => g.params.push(*p),
            (c, Leaf::Info(mut i)) => {
                i.content = non_empty(text.trim().to_owned());
                match c {
                    Container::Doc(d) if d.resources.is_empty() => d.infos.push(i),
                    Container::Doc(d) => d.trailing_infos.push(i),
                    Container::Resource(r)
                        if r.tables.is_empty()
                            && r.resources.is_empty()
                            && r.params.is_empty()
                            && r.groups.is_empty()
                            && r.links.is_empty()
                            && r.coosys.is_empty()
                            && r.timesys.is_empty() =>
                    {
                        r.infos.push(i);
                    }
                    Container::Resource(r) => r.trailing_infos.push(i),
                    Container::Table(t) => t.infos.push(i),
                    Container::Group(_) => {}
                }
            }
            (Container::Doc(d), Leaf::Description) => d.description = non_empty(text),
            (Container::Resource(r), Leaf::Description) => r.description = non_empty(text),
            (Container::Table(t), Leaf::Description) => t.description = non_empty(text),
            (Container::Group(g), Leaf::Description) => g.description = non_empty(text),
            (Container::Resource(r), Leaf::Link(l)) => r.links.push(l),
            (Container::Table(t), Leaf::Link(l)) => t.links.push(l),
            (Container::Doc(d), Leaf::CooSys(c)) => d.coosys.push(c),
            (Container::Resource(r), Leaf::CooSys(c)) => r.coosys.push(c),
            (Container::Doc(d), Leaf::TimeSys(t)) => d.timesys.push(t),
            (Container::Resource(r), Leaf::TimeSys(t)) => r.timesys.push(t),
            _ => {}
        }
    }
}

fn non_empty(s: String) -> Option<String> {
    if s.trim().is_empty() { None } else { Some(s) }
}

fn get(attrs: &[(String, String)], key: &str) -> Option<String> {
    attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

fn local(name: &str) -> &str {
    match name.rfind(':') {
        Some(p) => &name[p + 1..],
        None => name,
    }
}

//! Link semantics: the IVOA DataLink core vocabulary and custom terms.
//!
//! The `semantics` column of a `{links}` response holds a term of the vocabulary
//! <http://www.ivoa.net/rdf/datalink/core>, written in short form (`#this`), or the
//! full URI of a term of another vocabulary, e.g. ESO's
//! `http://archive.eso.org/rdf/datalink/eso#calSelector_raw2master`
//! (DataLink 1.1, section 3.2.5).
//!
//! Core terms are recognised in both forms (`#this` equals
//! `http://www.ivoa.net/rdf/datalink/core#this`); every other term is kept and compared
//! literally, full URI included, so that `eso#night_log` never collapses to `#night_log`.
//! Narrower terms match queries for their broader terms: `#bias` is a `#calibration`,
//! `#cutout` is a `#proc`.

use std::fmt;
use std::str::FromStr;

/// The namespace of the IVOA DataLink core vocabulary.
pub const CORE_VOCABULARY: &str = "http://www.ivoa.net/rdf/datalink/core";

macro_rules! core_terms {
    ($( $(#[$doc:meta])* $variant:ident = $term:literal, broader = $broader:expr; )*) => {
        /// A term of the IVOA DataLink core vocabulary.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum CoreTerm {
            $( $(#[$doc])* $variant, )*
        }

        impl CoreTerm {
            /// Every known core term, in vocabulary order.
            pub const ALL: &'static [CoreTerm] = &[$(CoreTerm::$variant),*];

            /// The term name without `#`, e.g. `this`.
            pub fn name(self) -> &'static str {
                match self { $(CoreTerm::$variant => $term,)* }
            }

            /// The directly broader term, if any (`#bias` -> `#calibration`).
            pub fn broader(self) -> Option<CoreTerm> {
                match self { $(CoreTerm::$variant => $broader,)* }
            }

            /// Looks a term up by its name without `#`.
            pub fn from_name(name: &str) -> Option<CoreTerm> {
                match name { $($term => Some(CoreTerm::$variant),)* _ => None }
            }
        }
    };
}

core_terms! {
    /// `#this`: the primary data item itself.
    This = "this", broader = None;
    /// `#progenitor`: data used to create `#this`.
    Progenitor = "progenitor", broader = None;
    /// `#derivation`: data derived from `#this`.
    Derivation = "derivation", broader = None;
    /// `#auxiliary`: data complementing `#this`.
    Auxiliary = "auxiliary", broader = None;
    /// `#weight`: a weight map.
    Weight = "weight", broader = Some(CoreTerm::Auxiliary);
    /// `#error`: error or uncertainty data.
    Error = "error", broader = Some(CoreTerm::Auxiliary);
    /// `#noise`: a noise map.
    Noise = "noise", broader = Some(CoreTerm::Auxiliary);
    /// `#calibration`: calibration data applicable to `#this`.
    Calibration = "calibration", broader = None;
    /// `#bias`: bias frames.
    Bias = "bias", broader = Some(CoreTerm::Calibration);
    /// `#dark`: dark frames.
    Dark = "dark", broader = Some(CoreTerm::Calibration);
    /// `#flat`: flat fields.
    Flat = "flat", broader = Some(CoreTerm::Calibration);
    /// `#preview`: a preview of `#this`.
    Preview = "preview", broader = None;
    /// `#preview-image`: a preview image.
    PreviewImage = "preview-image", broader = Some(CoreTerm::Preview);
    /// `#preview-plot`: a preview plot.
    PreviewPlot = "preview-plot", broader = Some(CoreTerm::Preview);
    /// `#thumbnail`: a small preview image.
    Thumbnail = "thumbnail", broader = Some(CoreTerm::Preview);
    /// `#proc`: a service processing `#this`.
    Proc = "proc", broader = None;
    /// `#cutout`: a cutout service (e.g. SODA).
    Cutout = "cutout", broader = Some(CoreTerm::Proc);
    /// `#documentation`: documentation about `#this`.
    Documentation = "documentation", broader = None;
    /// `#coderived`: data derived from the same progenitors as `#this`.
    Coderived = "coderived", broader = None;
    /// `#counterpart`: the same object observed elsewhere.
    Counterpart = "counterpart", broader = None;
    /// `#detached-header`: the header of `#this` as a separate resource.
    DetachedHeader = "detached-header", broader = None;
    /// `#package`: an archive bundling `#this` with related files.
    Package = "package", broader = None;
}

impl CoreTerm {
    /// Whether `self` is `other` or (transitively) narrower than it.
    pub fn is_a(self, other: CoreTerm) -> bool {
        let mut term = Some(self);
        // The vocabulary is shallow; the loop bound guards against a cycle anyway.
        for _ in 0..8 {
            match term {
                Some(t) if t == other => return true,
                Some(t) => term = t.broader(),
                None => return false,
            }
        }
        false
    }
}

/// The semantics of a link: a core term or any other term, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Semantics {
    /// A term of the core vocabulary, however it was written.
    Core(CoreTerm),
    /// Any other term, compared literally (full URIs are never truncated).
    Custom(String),
}

impl Semantics {
    /// `#this`.
    pub const THIS: Semantics = Semantics::Core(CoreTerm::This);

    /// Parses a `semantics` cell (surrounding white space is ignored).
    pub fn parse(text: &str) -> Semantics {
        let text = text.trim();
        let fragment = text.strip_prefix('#').or_else(|| {
            text.strip_prefix(CORE_VOCABULARY)
                .or_else(|| text.strip_prefix("https://www.ivoa.net/rdf/datalink/core"))
                .and_then(|rest| rest.strip_prefix('#'))
        });
        match fragment.and_then(CoreTerm::from_name) {
            Some(term) => Semantics::Core(term),
            None => Semantics::Custom(text.to_owned()),
        }
    }

    /// The core term, if this is one.
    pub fn core(&self) -> Option<CoreTerm> {
        match self {
            Semantics::Core(term) => Some(*term),
            Semantics::Custom(_) => None,
        }
    }

    /// The short form of core terms (`#this`), the literal text of others.
    pub fn to_short_string(&self) -> String {
        self.to_string()
    }

    /// The full URI (`http://www.ivoa.net/rdf/datalink/core#this` for core terms).
    pub fn to_uri(&self) -> String {
        match self {
            Semantics::Core(term) => format!("{CORE_VOCABULARY}#{}", term.name()),
            Semantics::Custom(text) => text.clone(),
        }
    }

    /// Whether a link with these semantics answers a query for `query`:
    /// equal terms, or a core term narrower than the queried core term.
    pub fn matches(&self, query: &Semantics) -> bool {
        match (self, query) {
            (Semantics::Core(mine), Semantics::Core(wanted)) => mine.is_a(*wanted),
            (Semantics::Custom(mine), Semantics::Custom(wanted)) => mine == wanted,
            _ => false,
        }
    }
}

impl fmt::Display for Semantics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Semantics::Core(term) => write!(f, "#{}", term.name()),
            Semantics::Custom(text) => f.write_str(text),
        }
    }
}

impl FromStr for Semantics {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Semantics::parse(s))
    }
}

impl From<CoreTerm> for Semantics {
    fn from(term: CoreTerm) -> Self {
        Semantics::Core(term)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_full_core_forms_are_equal() {
        assert_eq!(Semantics::parse("#this"), Semantics::THIS);
        assert_eq!(
            Semantics::parse("http://www.ivoa.net/rdf/datalink/core#this"),
            Semantics::THIS
        );
        assert_eq!(
            Semantics::parse(" #preview-image "),
            CoreTerm::PreviewImage.into()
        );
    }

    #[test]
    fn custom_terms_are_kept_whole() {
        let eso = "http://archive.eso.org/rdf/datalink/eso#calSelector_raw2master";
        let sem = Semantics::parse(eso);
        assert_eq!(sem, Semantics::Custom(eso.to_owned()));
        assert_eq!(sem.to_string(), eso);
        assert!(!sem.matches(&Semantics::parse("#calSelector_raw2master")));
        assert!(!sem.matches(&Semantics::parse(
            "http://archive.eso.org/rdf/datalink/eso#calSelector_raw2raw"
        )));
        assert!(sem.matches(&Semantics::parse(eso)));
        // An unknown short term is custom too.
        assert_eq!(Semantics::parse("#sibling_raw").to_string(), "#sibling_raw");
    }

    #[test]
    fn narrower_terms_match_broader_queries() {
        let calibration = Semantics::from(CoreTerm::Calibration);
        for t in [
            CoreTerm::Bias,
            CoreTerm::Dark,
            CoreTerm::Flat,
            CoreTerm::Calibration,
        ] {
            assert!(Semantics::from(t).matches(&calibration), "{t:?}");
        }
        assert!(!calibration.matches(&CoreTerm::Bias.into()));
        assert!(Semantics::from(CoreTerm::Cutout).matches(&CoreTerm::Proc.into()));
        assert!(Semantics::from(CoreTerm::Thumbnail).matches(&CoreTerm::Preview.into()));
        assert!(!Semantics::from(CoreTerm::This).matches(&CoreTerm::Preview.into()));
        for term in CoreTerm::ALL {
            assert_eq!(
                Semantics::parse(&format!("#{}", term.name())),
                (*term).into()
            );
            assert_eq!(
                Semantics::parse(&Semantics::from(*term).to_uri()),
                (*term).into()
            );
        }
    }
}

//! Write then read back: generated ObsCore-like tables, conversions, and
//! property tests over every datatype, array shape and null pattern.

use proptest::prelude::*;
use votable::convert::{self, Format};
use votable::{ArraySize, Datatype, Field, Reader, Serialization, Table, TableMeta, Value};

const SERS: [Serialization; 3] = [
    Serialization::TableData,
    Serialization::Binary,
    Serialization::Binary2,
];

#[test]
fn generated_obscore_round_trips_in_every_serialization() {
    let mut expected = Vec::new();
    for i in 0..500 {
        let mut row = Vec::new();
        votable::generate::obscore_row(i, &mut row);
        expected.push(row);
    }
    for ser in SERS {
        let bytes = votable::generate::write_obscore(Vec::new(), 500, ser).unwrap();
        let vt = votable::parse(&bytes).unwrap();
        let t = vt.first_table().unwrap();
        assert_eq!(t.nrows(), 500, "{ser:?}");
        assert_eq!(t.ncols(), 35);
        for (r, row) in expected.iter().enumerate() {
            assert_eq!(&t.row(r), row, "{ser:?} row {r}");
        }
        // Compact: the in-memory table is not much larger than the binary payload.
        if ser == Serialization::Binary2 {
            assert!(
                t.heap_bytes() < bytes.len(),
                "{} vs {}",
                t.heap_bytes(),
                bytes.len()
            );
        }
    }
}

#[test]
fn conversions_between_serializations_keep_rows_and_trailing_infos() {
    let src = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/dachs/votable/vocat_maxrec5_overflow_td.vot"
    ))
    .unwrap();
    let orig = votable::parse(&src).unwrap();
    for ser in SERS {
        let mut out = Vec::new();
        let n = convert::convert(
            Reader::new(&src[..]).unwrap(),
            &mut out,
            Format::VoTable(ser),
        )
        .unwrap();
        assert_eq!(n, 5);
        let back = votable::parse(&out).unwrap();
        assert_eq!(back.query_status(), orig.query_status(), "{ser:?}");
        let (a, b) = (orig.first_table().unwrap(), back.first_table().unwrap());
        for r in 0..5 {
            assert_eq!(a.row(r), b.row(r), "{ser:?}");
        }
    }
}

#[test]
fn csv_tsv_json_shapes() {
    let xml = br#"<VOTABLE version="1.3"><RESOURCE><TABLE>
      <FIELD name="s" datatype="char" arraysize="*"/><FIELD name="x" datatype="double"/>
      <FIELD name="a" datatype="int" arraysize="2"/>
      <DATA><TABLEDATA>
      <TR><TD>a,"b"</TD><TD>1.5</TD><TD>1 2</TD></TR>
      <TR><TD>tab	x</TD><TD/><TD/></TR>
      </TABLEDATA></DATA></TABLE><INFO name="QUERY_STATUS" value="OVERFLOW"/></RESOURCE></VOTABLE>"#;
    let mut csv = Vec::new();
    assert_eq!(
        convert::to_csv(&mut Reader::new(&xml[..]).unwrap(), &mut csv).unwrap(),
        2
    );
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "s,x,a\r\n\"a,\"\"b\"\"\",1.5,1 2\r\ntab\tx,,\r\n"
    );
    let mut tsv = Vec::new();
    convert::to_tsv(&mut Reader::new(&xml[..]).unwrap(), &mut tsv).unwrap();
    assert_eq!(
        String::from_utf8(tsv).unwrap(),
        "s\tx\ta\na,\"b\"\t1.5\t1 2\ntab\\tx\t\t\n"
    );
    let mut json = Vec::new();
    convert::to_json(&mut Reader::new(&xml[..]).unwrap(), &mut json).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["fields"][1]["datatype"], "double");
    assert_eq!(v["rows"][0], serde_json::json!(["a,\"b\"", 1.5, [1, 2]]));
    assert_eq!(v["rows"][1], serde_json::json!(["tab\tx", null, null]));
    assert_eq!(v["query_status"]["status"], "OVERFLOW");
}

// ----- property tests -------------------------------------------------------

#[derive(Debug, Clone)]
struct Col {
    dt: Datatype,
    size: Option<ArraySize>,
}

fn col_strategy() -> impl Strategy<Value = Col> {
    let dts = prop_oneof![
        Just(Datatype::Boolean),
        Just(Datatype::Bit),
        Just(Datatype::UnsignedByte),
        Just(Datatype::Short),
        Just(Datatype::Int),
        Just(Datatype::Long),
        Just(Datatype::Char),
        Just(Datatype::UnicodeChar),
        Just(Datatype::Float),
        Just(Datatype::Double),
        Just(Datatype::FloatComplex),
        Just(Datatype::DoubleComplex),
    ];
    let sizes = prop_oneof![
        Just(None),
        Just(Some("3".parse().unwrap())),
        Just(Some("*".parse().unwrap())),
        Just(Some("4*".parse().unwrap())),
        Just(Some("2x2".parse().unwrap())),
        Just(Some("2x*".parse().unwrap())),
    ];
    (dts, sizes).prop_map(|(dt, size)| Col { dt, size })
}

fn scalar_shape(c: &Col) -> bool {
    c.size.is_none() && !c.dt.is_character() && c.dt != Datatype::Bit
}

/// Element count for a cell of this column, or a range for variable ones.
fn count_range(c: &Col) -> (usize, usize) {
    match &c.size {
        None => (1, 1),
        Some(a) => match a.fixed_len() {
            Some(n) => (n as usize, n as usize),
            None => {
                let slice = a.slice_len().unwrap_or(1) as usize;
                let max = a.max_len().map_or(3 * slice, |m| m as usize);
                // Multiples of the slice for AxB* arrays.
                (slice, max - max % slice)
            }
        },
    }
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![-1e300f64..1e300, -1.0f64..1.0, Just(0.0), Just(1e-310)]
}

fn finite_f32() -> impl Strategy<Value = f32> {
    prop_oneof![-1e30f32..1e30, -1.0f32..1.0, Just(0.0)]
}

fn value_strategy(c: Col, ser: Serialization) -> BoxedStrategy<Value> {
    let (lo, hi) = count_range(&c);
    let scalar = scalar_shape(&c);
    let fixed = lo == hi;
    let binary1 = ser == Serialization::Binary;
    let v: BoxedStrategy<Value> = match c.dt {
        Datatype::Char | Datatype::UnicodeChar => {
            // No trailing spaces (fixed strings are trimmed), no control characters.
            let max = if fixed { lo } else { hi.min(6) };
            let re = if c.dt == Datatype::Char {
                format!("[a-zA-Z0-9&<>\"' ]{{0,{max}}}[a-z]")
            } else {
                format!("[a-zé€Ω&<> ]{{0,{max}}}[a-zé]")
            };
            let _ = max;
            let max_len = if fixed { lo } else { hi.min(7) };
            let ascii = c.dt == Datatype::Char;
            proptest::string::string_regex(&re)
                .unwrap()
                .prop_filter_map("fits", move |s| {
                    let n = if ascii {
                        s.len()
                    } else {
                        s.encode_utf16().count()
                    };
                    (n >= 1 && n <= max_len && !s.starts_with(' ')).then_some(Value::String(s))
                })
                .boxed()
        }
        Datatype::Boolean if scalar => any::<bool>().prop_map(Value::Boolean).boxed(),
        Datatype::Boolean => proptest::collection::vec(
            if binary1 {
                any::<bool>().prop_map(Some).boxed()
            } else {
                proptest::option::of(any::<bool>()).boxed()
            },
            lo..=hi,
        )
        .prop_map(Value::BooleanArray)
        .boxed(),
        Datatype::Bit => proptest::collection::vec(any::<bool>(), lo..=hi)
            .prop_map(Value::BitArray)
            .boxed(),
        Datatype::UnsignedByte if scalar => (0u8..255).prop_map(Value::UnsignedByte).boxed(),
        Datatype::UnsignedByte => proptest::collection::vec(0u8..255, lo..=hi)
            .prop_map(Value::UnsignedByteArray)
            .boxed(),
        Datatype::Short if scalar => (-32767i16..=i16::MAX).prop_map(Value::Short).boxed(),
        Datatype::Short => proptest::collection::vec(-32767i16..=i16::MAX, lo..=hi)
            .prop_map(Value::ShortArray)
            .boxed(),
        Datatype::Int if scalar => (-i32::MAX..=i32::MAX).prop_map(Value::Int).boxed(),
        Datatype::Int => proptest::collection::vec(-i32::MAX..=i32::MAX, lo..=hi)
            .prop_map(Value::IntArray)
            .boxed(),
        Datatype::Long if scalar => (-i64::MAX..=i64::MAX).prop_map(Value::Long).boxed(),
        Datatype::Long => proptest::collection::vec(-i64::MAX..=i64::MAX, lo..=hi)
            .prop_map(Value::LongArray)
            .boxed(),
        Datatype::Float if scalar => finite_f32().prop_map(Value::Float).boxed(),
        Datatype::Float => proptest::collection::vec(finite_f32(), lo..=hi)
            .prop_map(Value::FloatArray)
            .boxed(),
        Datatype::Double if scalar => finite_f64().prop_map(Value::Double).boxed(),
        Datatype::Double => proptest::collection::vec(finite_f64(), lo..=hi)
            .prop_map(Value::DoubleArray)
            .boxed(),
        Datatype::FloatComplex if scalar => (finite_f32(), finite_f32())
            .prop_map(|(a, b)| Value::FloatComplex(a, b))
            .boxed(),
        Datatype::FloatComplex => proptest::collection::vec((finite_f32(), finite_f32()), lo..=hi)
            .prop_map(Value::FloatComplexArray)
            .boxed(),
        Datatype::DoubleComplex if scalar => (finite_f64(), finite_f64())
            .prop_map(|(a, b)| Value::DoubleComplex(a, b))
            .boxed(),
        Datatype::DoubleComplex => proptest::collection::vec((finite_f64(), finite_f64()), lo..=hi)
            .prop_map(Value::DoubleComplexArray)
            .boxed(),
    };
    // Variable arrays are generated in whole slices (AxB*).
    let slice = c.size.as_ref().and_then(ArraySize::slice_len).unwrap_or(1) as usize;
    let v = v
        .prop_filter("whole slices", move |v| {
            slice <= 1 || array_len(v) % slice == 0
        })
        .boxed();
    // A null fixed bit array cannot be told from zeros in BINARY.
    let can_null = !(binary1 && c.dt == Datatype::Bit && fixed);
    if can_null {
        prop_oneof![1 => Just(Value::Null), 4 => v].boxed()
    } else {
        v
    }
}

fn array_len(v: &Value) -> usize {
    match v {
        Value::BooleanArray(a) => a.len(),
        Value::BitArray(a) => a.len(),
        Value::UnsignedByteArray(a) => a.len(),
        Value::ShortArray(a) => a.len(),
        Value::IntArray(a) => a.len(),
        Value::LongArray(a) => a.len(),
        Value::FloatArray(a) => a.len(),
        Value::DoubleArray(a) => a.len(),
        Value::FloatComplexArray(a) => a.len(),
        Value::DoubleComplexArray(a) => a.len(),
        _ => 0,
    }
}

fn table_strategy() -> impl Strategy<Value = (Serialization, TableMeta, Vec<Vec<Value>>)> {
    let ser = prop_oneof![
        Just(Serialization::TableData),
        Just(Serialization::Binary),
        Just(Serialization::Binary2)
    ];
    (ser, proptest::collection::vec(col_strategy(), 1..7)).prop_flat_map(|(ser, cols)| {
        let fields: Vec<Field> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut f = Field::new(format!("c{i}"), c.dt);
                f.arraysize = c.size.clone();
                f
            })
            .collect();
        let meta = TableMeta {
            fields,
            ..TableMeta::default()
        };
        let row = cols
            .iter()
            .map(|c| value_strategy(c.clone(), ser))
            .collect::<Vec<_>>();
        (Just(ser), Just(meta), proptest::collection::vec(row, 0..6))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn parse_write_round_trip((ser, meta, rows) in table_strategy()) {
        let table = Table::from_rows(meta, &rows).unwrap();
        let bytes = votable::write::write_table(Vec::new(), &table, ser).unwrap();
        let back = votable::parse(&bytes)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&bytes))))?;
        let t = back.first_table().unwrap();
        prop_assert_eq!(t.nrows(), rows.len());
        for (r, row) in rows.iter().enumerate() {
            prop_assert_eq!(&t.row(r), row, "row {} of\n{}", r, String::from_utf8_lossy(&bytes));
        }
    }
}

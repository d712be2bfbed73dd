//! A deterministic generator of ObsCore-like tables for benchmarks and tests
//! (35 columns: variable strings, doubles, floats, ints, longs, a boolean, some nulls).
//! Not part of the stable API.

use std::io::Write;

use crate::datatype::{ArraySize, Datatype};
use crate::error::Result;
use crate::model::{Field, Serialization, TableMeta};
use crate::value::Value;
use crate::write::Writer;

/// The columns: (name, datatype, variable string?, unit, ucd).
const COLUMNS: &[(&str, Datatype, bool, &str, &str)] = &[
    (
        "dataproduct_type",
        Datatype::Char,
        true,
        "",
        "meta.code.class",
    ),
    (
        "dataproduct_subtype",
        Datatype::Char,
        true,
        "",
        "meta.code.class",
    ),
    (
        "calib_level",
        Datatype::Short,
        false,
        "",
        "meta.code;obs.calib",
    ),
    ("obs_collection", Datatype::Char, true, "", "meta.id"),
    ("obs_id", Datatype::Char, true, "", "meta.id"),
    ("obs_title", Datatype::Char, true, "", "meta.title;obs"),
    (
        "obs_publisher_did",
        Datatype::Char,
        true,
        "",
        "meta.ref.ivoid",
    ),
    ("obs_creator_did", Datatype::Char, true, "", "meta.id"),
    ("access_url", Datatype::Char, true, "", "meta.ref.url"),
    ("access_format", Datatype::Char, true, "", "meta.code.mime"),
    (
        "access_estsize",
        Datatype::Long,
        false,
        "kbyte",
        "phys.size;meta.file",
    ),
    ("target_name", Datatype::Char, true, "", "meta.id;src"),
    ("target_class", Datatype::Char, true, "", "src.class"),
    ("s_ra", Datatype::Double, false, "deg", "pos.eq.ra"),
    ("s_dec", Datatype::Double, false, "deg", "pos.eq.dec"),
    (
        "s_fov",
        Datatype::Double,
        false,
        "deg",
        "phys.angSize;instr.fov",
    ),
    (
        "s_region",
        Datatype::Char,
        true,
        "",
        "pos.outline;obs.field",
    ),
    (
        "s_resolution",
        Datatype::Double,
        false,
        "arcsec",
        "pos.angResolution",
    ),
    (
        "t_min",
        Datatype::Double,
        false,
        "d",
        "time.start;obs.exposure",
    ),
    (
        "t_max",
        Datatype::Double,
        false,
        "d",
        "time.end;obs.exposure",
    ),
    (
        "t_exptime",
        Datatype::Double,
        false,
        "s",
        "time.duration;obs.exposure",
    ),
    (
        "t_resolution",
        Datatype::Float,
        false,
        "s",
        "time.resolution",
    ),
    ("em_min", Datatype::Double, false, "m", "em.wl;stat.min"),
    ("em_max", Datatype::Double, false, "m", "em.wl;stat.max"),
    (
        "em_res_power",
        Datatype::Float,
        false,
        "",
        "spect.resolution",
    ),
    ("o_ucd", Datatype::Char, true, "", "meta.ucd"),
    (
        "pol_states",
        Datatype::Char,
        true,
        "",
        "meta.code;phys.polarization",
    ),
    (
        "facility_name",
        Datatype::Char,
        true,
        "",
        "meta.id;instr.tel",
    ),
    ("instrument_name", Datatype::Char, true, "", "meta.id;instr"),
    ("s_xel1", Datatype::Long, false, "", "meta.number"),
    ("s_xel2", Datatype::Long, false, "", "meta.number"),
    ("t_xel", Datatype::Int, false, "", "meta.number"),
    ("em_xel", Datatype::Int, false, "", "meta.number"),
    ("pol_xel", Datatype::Int, false, "", "meta.number"),
    ("proprietary", Datatype::Boolean, false, "", "meta.code"),
];

/// The table metadata.
pub fn obscore_meta() -> TableMeta {
    let fields = COLUMNS
        .iter()
        .map(|&(name, dt, var, unit, ucd)| {
            let mut f = Field::new(name, dt);
            if var {
                f.arraysize = Some(ArraySize::variable());
            }
            if !unit.is_empty() {
                f.unit = Some(unit.to_owned());
            }
            f.ucd = Some(ucd.to_owned());
            f
        })
        .collect();
    TableMeta {
        name: Some("obscore".into()),
        fields,
        ..TableMeta::default()
    }
}

/// A cheap deterministic hash.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Fills `row` with row `i` (reusing its allocations).
pub fn obscore_row(i: u64, row: &mut Vec<Value>) {
    row.resize(COLUMNS.len(), Value::Null);
    let h = mix(i);
    let unit = |k: u64| (mix(h ^ k) % 1_000_000) as f64 / 1_000_000.0;
    let instruments = [
        "MUSE", "UVES", "HAWKI", "FORS2", "XSHOOTER", "SPHERE", "KMOS",
    ];
    let inst = instruments[(h % instruments.len() as u64) as usize];
    let ra = unit(1) * 360.0;
    let dec = unit(2) * 180.0 - 90.0;
    for (c, slot) in row.iter_mut().enumerate() {
        let null = mix(h ^ (c as u64 * 7919)) % 23 == 0 && c > 6;
        if null {
            *slot = Value::Null;
            continue;
        }
        let s = |slot: &mut Value, text: std::fmt::Arguments<'_>| {
            let mut st = match std::mem::take(slot) {
                Value::String(s) => s,
                _ => String::new(),
            };
            st.clear();
            let _ = std::fmt::write(&mut st, text);
            *slot = Value::String(st);
        };
        match c {
            0 => s(
                slot,
                format_args!("{}", if h % 3 == 0 { "cube" } else { "spectrum" }),
            ),
            1 => s(slot, format_args!("sci")),
            2 => *slot = Value::Short((h % 4) as i16),
            3 => s(slot, format_args!("{inst}")),
            4 => s(
                slot,
                format_args!(
                    "ADP.2020-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
                    h % 12 + 1,
                    h % 28 + 1,
                    h % 24,
                    h % 60,
                    (h >> 8) % 60,
                    i % 1000
                ),
            ),
            5 => s(
                slot,
                format_args!(
                    "{inst} observation of field {} in band {}",
                    i % 9973,
                    (h >> 3) % 7
                ),
            ),
            6 => s(slot, format_args!("ivo://eso.org/ID?ADP.{i:010}")),
            7 => s(
                slot,
                format_args!("ivo://eso.org/origin?{inst}.{:08x}", h as u32),
            ),
            8 => s(
                slot,
                format_args!("https://dataportal.eso.org/dataportal_new/file/ADP.{i:010}"),
            ),
            9 => s(
                slot,
                format_args!("application/x-votable+xml;content=datalink"),
            ),
            10 | 29 | 30 => *slot = Value::Long((mix(h ^ c as u64) % 5_000_000) as i64),
            11 => s(slot, format_args!("NGC {}", h % 7840)),
            12 => s(
                slot,
                format_args!("{}", if h % 2 == 0 { "galaxy" } else { "star" }),
            ),
            13 => *slot = Value::Double(ra),
            14 => *slot = Value::Double(dec),
            15 | 17 | 20 => *slot = Value::Double(unit(c as u64) * 0.5),
            16 => s(
                slot,
                format_args!(
                    "POLYGON ICRS {:.6} {:.6} {:.6} {:.6} {:.6} {:.6} {:.6} {:.6}",
                    ra,
                    dec,
                    ra + 0.1,
                    dec,
                    ra + 0.1,
                    dec + 0.1,
                    ra,
                    dec + 0.1
                ),
            ),
            18 => *slot = Value::Double(55_000.0 + unit(18) * 5000.0),
            19 => *slot = Value::Double(55_000.0 + unit(19) * 5000.0 + 0.01),
            21 | 24 => *slot = Value::Float(unit(c as u64) as f32 * 1000.0),
            22 => *slot = Value::Double(3.0e-7 + unit(22) * 1e-7),
            23 => *slot = Value::Double(9.0e-7 + unit(23) * 1e-7),
            25 => s(slot, format_args!("phot.flux.density;em.wl")),
            26 => s(slot, format_args!("/I/")),
            27 => s(slot, format_args!("ESO-VLT-U{}", h % 4 + 1)),
            28 => s(slot, format_args!("{inst}")),
            31..=33 => *slot = Value::Int((mix(h ^ c as u64) % 40_000) as i32),
            34 => *slot = Value::Boolean(h % 5 == 0),
            _ => *slot = Value::Null,
        }
    }
}

/// Writes an ObsCore-like table of `rows` rows in `serialization`.
///
/// # Errors
/// An I/O error.
pub fn write_obscore<W: Write>(out: W, rows: u64, serialization: Serialization) -> Result<W> {
    let mut w = Writer::for_table(out, &obscore_meta(), serialization)?;
    let mut row = Vec::new();
    for i in 0..rows {
        obscore_row(i, &mut row);
        w.write_row(&row)?;
    }
    w.finish()
}

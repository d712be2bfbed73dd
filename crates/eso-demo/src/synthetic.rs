//! The synthetic files of the offline archive: which `dp_id`s exist and what their FITS headers say.
//!
//! The science frames and master calibrations of seed 000 are committed under
//! `fixtures/eso/files/` (raw frames compressed once with Unix `compress`, masters as plain
//! FITS); the ignored test `regenerate_fixture_files` rebuilds them.
//! Files that the recorded documents mention but that are not committed (raw calibrations of
//! a calSelector tree, for instance) are generated at run time as plain FITS.

use crate::fits::{Card, CardValue, Pixels, image_file, star_field};

/// A raw science frame of seed 000 (programme 098.C-0739(C), "pretend-protected").
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(test), allow(dead_code))] // the header fields serve only the generator
pub(crate) struct ScienceFrame {
    pub(crate) dp_id: &'static str,
    pub(crate) origfile: &'static str,
    pub(crate) tech: &'static str,
    pub(crate) exposure: f64,
}

/// The two frames the seed 000 query returns and the three siblings its calSelector cascade names.
pub(crate) const SCIENCE_FRAMES: [ScienceFrame; 5] = [
    ScienceFrame {
        dp_id: "SPHER.2016-09-26T03:04:09.308",
        origfile: "SPHERE_IRDIFS_IFS_OBS270_0001.fits",
        tech: "IFU",
        exposure: 8.0,
    },
    ScienceFrame {
        dp_id: "SPHER.2016-09-26T03:04:09.496",
        origfile: "SPHERE_IRDIFS_IRDIS_OBS270_0001.fits",
        tech: "IMAGE,DUAL,CORONOGRAPHY",
        exposure: 4.0,
    },
    ScienceFrame {
        dp_id: "SPHER.2016-09-26T03:05:51.768",
        origfile: "SPHERE_IRDIFS_IFS_OBS270_0002.fits",
        tech: "IFU",
        exposure: 8.0,
    },
    ScienceFrame {
        dp_id: "SPHER.2016-09-26T04:06:44.796",
        origfile: "SPHERE_IRDIFS_IFS_OBS270_0003.fits",
        tech: "IFU",
        exposure: 8.0,
    },
    ScienceFrame {
        dp_id: "SPHER.2016-09-26T04:08:27.017",
        origfile: "SPHERE_IRDIFS_IFS_OBS270_0004.fits",
        tech: "IFU",
        exposure: 8.0,
    },
];

/// The eight processed calibrations of the seed 000 Raw2Master cascade, with their categories.
pub(crate) const MASTER_CALIBRATIONS: [(&str, &str); 8] = [
    ("M.SPHERE.2016-09-27T08:14:14.686", "IFS_CAL_BACKGROUND"),
    ("M.SPHERE.2016-09-27T08:15:18.126", "IFS_IFU_FLAT_FIELD"),
    ("M.SPHERE.2016-09-27T08:17:07.116", "IFS_MASTER_DFF_LONG1"),
    ("M.SPHERE.2016-09-27T08:17:20.893", "IFS_MASTER_DFF_LONG2"),
    ("M.SPHERE.2016-09-27T08:17:33.533", "IFS_MASTER_DFF_LONG3"),
    ("M.SPHERE.2016-09-27T08:17:52.300", "IFS_MASTER_DFF_LONGBB"),
    ("M.SPHERE.2016-09-27T08:18:06.383", "IFS_PREAMP_FLAT"),
    ("M.SPHERE.2016-09-27T08:18:40.706", "IFS_WAVECALIB"),
];

const SYNTHETIC_NOTE: &str = "Synthetic file generated for the eso-vo offline demo: not real data";

/// The date part of a `dp_id` (`INS.2016-09-26T03:04:09.308` gives `2016-09-26T03:04:09.308`).
pub(crate) fn date_of(dp_id: &str) -> &str {
    dp_id
        .find(|ch: char| ch.is_ascii_digit())
        .and_then(|start| dp_id.get(start..))
        .unwrap_or(dp_id)
}

/// The instrument named by a `dp_id` prefix.
pub(crate) fn instrument_of(dp_id: &str) -> &'static str {
    let prefix = dp_id.strip_prefix("M.").unwrap_or(dp_id);
    if prefix.starts_with("SPHER") {
        "SPHERE"
    } else if prefix.starts_with("FORS2") {
        "FORS2"
    } else if prefix.starts_with("ADP") {
        "PRODUCT"
    } else {
        "UNKNOWN"
    }
}

/// The file name used under `fixtures/eso/files/` (colons are not portable in file names).
#[cfg(test)]
pub(crate) fn fixture_name(dp_id: &str, suffix: &str) -> String {
    format!("{}{suffix}", dp_id.replace(':', "_"))
}

/// A raw SPHERE science frame: 32 x 32 16-bit pixels.
#[cfg(test)]
pub(crate) fn science_frame_fits(frame: &ScienceFrame) -> Vec<u8> {
    let values = star_field(32, 1000.0, 20000.0, frame.dp_id);
    let pixels = Pixels::I16(values.iter().map(|value| value.round() as i16).collect());
    let date = date_of(frame.dp_id);
    let cards = vec![
        Card::new(
            "ORIGIN",
            CardValue::Str("ESO".into()),
            "European Southern Observatory",
        ),
        Card::new("DATE", CardValue::Str(date.into()), "file creation date"),
        Card::new(
            "TELESCOP",
            CardValue::Str("ESO-VLT-U3".into()),
            "ESO telescope name",
        ),
        Card::new(
            "INSTRUME",
            CardValue::Str("SPHERE".into()),
            "instrument used",
        ),
        Card::new(
            "OBJECT",
            CardValue::Str("HIP_116384".into()),
            "original target",
        ),
        Card::new(
            "RA",
            CardValue::Real(353.752799),
            "pointing right ascension (deg)",
        ),
        Card::new(
            "DEC",
            CardValue::Real(1.60597),
            "pointing declination (deg)",
        ),
        Card::new(
            "EXPTIME",
            CardValue::Real(frame.exposure),
            "integration time (s)",
        ),
        Card::new("DATE-OBS", CardValue::Str(date.into()), "observing date"),
        Card::new(
            "ARCFILE",
            CardValue::Str(format!("{}.fits", frame.dp_id)),
            "archive file name",
        ),
        Card::new(
            "ORIGFILE",
            CardValue::Str(frame.origfile.into()),
            "original file name",
        ),
        Card::new(
            "ESO OBS PROG ID",
            CardValue::Str("098.C-0739(C)".into()),
            "ESO programme identification",
        ),
        Card::new(
            "ESO DPR CATG",
            CardValue::Str("SCIENCE".into()),
            "observation category",
        ),
        Card::new(
            "ESO DPR TECH",
            CardValue::Str(frame.tech.into()),
            "observation technique",
        ),
        Card::new(
            "ESO DPR TYPE",
            CardValue::Str("OBJECT,FLUX".into()),
            "observation type",
        ),
        Card::commentary(SYNTHETIC_NOTE),
    ];
    image_file(32, 32, &pixels, &cards)
}

/// A processed calibration: 16 x 16 single-precision pixels with `PRO CATG`.
#[cfg(test)]
pub(crate) fn master_fits(dp_id: &str, category: &str) -> Vec<u8> {
    let values = star_field(16, 1.0, 0.0, dp_id);
    let pixels = Pixels::F32(values.iter().map(|value| *value as f32).collect());
    let date = date_of(dp_id);
    let cards = vec![
        Card::new(
            "ORIGIN",
            CardValue::Str("ESO".into()),
            "European Southern Observatory",
        ),
        Card::new("DATE", CardValue::Str(date.into()), "file creation date"),
        Card::new(
            "INSTRUME",
            CardValue::Str(instrument_of(dp_id).into()),
            "instrument used",
        ),
        Card::new(
            "DATE-OBS",
            CardValue::Str(date.into()),
            "date of the first raw input",
        ),
        Card::new(
            "ARCFILE",
            CardValue::Str(format!("{dp_id}.fits")),
            "archive file name",
        ),
        Card::new(
            "PIPEFILE",
            CardValue::Str(format!("{}.fits", category.to_lowercase())),
            "pipeline product name",
        ),
        Card::new(
            "ESO PRO CATG",
            CardValue::Str(category.into()),
            "product category",
        ),
        Card::commentary(SYNTHETIC_NOTE),
    ];
    image_file(16, 16, &pixels, &cards)
}

/// Any other file the recorded documents mention (a raw calibration, say): 16 x 16 16-bit pixels.
pub(crate) fn generic_fits(dp_id: &str) -> Vec<u8> {
    let values = star_field(16, 500.0, 0.0, dp_id);
    let pixels = Pixels::I16(values.iter().map(|value| value.round() as i16).collect());
    let date = date_of(dp_id);
    let cards = vec![
        Card::new(
            "ORIGIN",
            CardValue::Str("ESO".into()),
            "European Southern Observatory",
        ),
        Card::new("DATE", CardValue::Str(date.into()), "file creation date"),
        Card::new(
            "INSTRUME",
            CardValue::Str(instrument_of(dp_id).into()),
            "instrument used",
        ),
        Card::new("DATE-OBS", CardValue::Str(date.into()), "observing date"),
        Card::new(
            "ARCFILE",
            CardValue::Str(format!("{dp_id}.fits")),
            "archive file name",
        ),
        Card::new(
            "ESO DPR CATG",
            CardValue::Str("CALIB".into()),
            "observation category",
        ),
        Card::commentary(SYNTHETIC_NOTE),
    ];
    image_file(16, 16, &pixels, &cards)
}

/// A SODA cutout: a small image centred on the requested position.
pub(crate) fn cutout_fits(id: &str, ra: f64, dec: f64, radius: f64) -> Vec<u8> {
    let size = 12;
    let values = star_field(size, 100.0, 5000.0, &format!("{id} {ra} {dec} {radius}"));
    let pixels = Pixels::F32(values.iter().map(|value| *value as f32).collect());
    let scale = (2.0 * radius) / size as f64;
    let cards = vec![
        Card::new(
            "ORIGIN",
            CardValue::Str("ESO".into()),
            "European Southern Observatory",
        ),
        Card::new(
            "INSTRUME",
            CardValue::Str(instrument_of(id).into()),
            "instrument used",
        ),
        Card::new(
            "ARCFILE",
            CardValue::Str(format!("{id}.fits")),
            "archive file of the parent",
        ),
        Card::new("CTYPE1", CardValue::Str("RA---TAN".into()), ""),
        Card::new("CTYPE2", CardValue::Str("DEC--TAN".into()), ""),
        Card::new("CRPIX1", CardValue::Real((size as f64 + 1.0) / 2.0), ""),
        Card::new("CRPIX2", CardValue::Real((size as f64 + 1.0) / 2.0), ""),
        Card::new("CRVAL1", CardValue::Real(ra), "cutout centre RA (deg)"),
        Card::new("CRVAL2", CardValue::Real(dec), "cutout centre Dec (deg)"),
        Card::new("CDELT1", CardValue::Real(-scale), ""),
        Card::new("CDELT2", CardValue::Real(scale), ""),
        Card::new("CUNIT1", CardValue::Str("deg".into()), ""),
        Card::new("CUNIT2", CardValue::Str("deg".into()), ""),
        Card::commentary(SYNTHETIC_NOTE),
    ];
    image_file(size, size, &pixels, &cards)
}

/// A night log in the shape of ESO's `<dp_id>.NL` text reports.
pub(crate) fn night_log(dp_id: &str) -> String {
    let date = date_of(dp_id);
    let night = date.get(..10).unwrap_or(date);
    format!(
        "ESO Night Log (synthetic, generated for the eso-vo offline demo)\n\
         ================================================================\n\
         File:        {dp_id}\n\
         Night:       {night}\n\
         Telescope:   ESO-VLT-U3\n\
         Instrument:  {instrument}\n\
         \n\
         Ambient conditions\n\
         ------------------\n\
         Seeing (DIMM):   0.43 - 0.44 arcsec\n\
         Airmass:         1.145 - 1.143\n\
         Transparency:    photometric\n\
         Relative humid.: 9.5 %\n\
         \n\
         Comments\n\
         --------\n\
         No technical problems reported during this observation.\n",
        instrument = instrument_of(dp_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn files_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/eso/files")
    }

    fn meta_json(dp_id: &str, content_type: &str, docs: &str) -> String {
        let meta = serde_json::json!({
            "version": 1,
            "url": format!("https://dataportal.eso.org/dataPortal/file/{dp_id}"),
            "method": "GET",
            "status": 200,
            "content_type": content_type,
            "date": "2026-11-21",
            "source": "synthetic FITS generated for the offline demo",
            "docs": docs,
        });
        format!("{:#}\n", meta)
    }

    /// Rewrites the committed synthetic files (run once, by hand:
    /// `cargo test -p eso-demo -- --ignored regenerate_fixture_files`); needs `/usr/bin/compress`.
    #[test]
    #[ignore = "writes fixtures/eso/files; run by hand when the generator changes"]
    fn regenerate_fixture_files() {
        let dir = files_dir();
        std::fs::create_dir_all(&dir).unwrap();
        for frame in &SCIENCE_FRAMES {
            let plain = science_frame_fits(frame);
            let mut child = std::process::Command::new("compress")
                .arg("-c")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            {
                use std::io::Write;
                let mut stdin = child.stdin.take().unwrap();
                stdin.write_all(&plain).unwrap();
            }
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success());
            std::fs::write(
                dir.join(fixture_name(frame.dp_id, ".fits.Z")),
                &output.stdout,
            )
            .unwrap();
            std::fs::write(
                dir.join(fixture_name(frame.dp_id, ".meta.json")),
                meta_json(
                    frame.dp_id,
                    "application/octet-stream",
                    "raw SPHERE science frame of seed 000 (32x32 int16), LZW-compressed with compress(1); served as <dp_id>.fits.Z",
                ),
            )
            .unwrap();
        }
        for (dp_id, category) in MASTER_CALIBRATIONS {
            std::fs::write(
                dir.join(fixture_name(dp_id, ".fits")),
                master_fits(dp_id, category),
            )
            .unwrap();
            std::fs::write(
                dir.join(fixture_name(dp_id, ".meta.json")),
                meta_json(
                    dp_id,
                    "application/fits",
                    &format!("processed SPHERE calibration {category} of the seed 000 Raw2Master cascade (16x16 float32)"),
                ),
            )
            .unwrap();
        }
    }

    #[test]
    fn dates_and_instruments() {
        assert_eq!(
            date_of("SPHER.2016-09-26T03:04:09.308"),
            "2016-09-26T03:04:09.308"
        );
        assert_eq!(
            date_of("M.SPHERE.2016-09-27T08:14:14.686"),
            "2016-09-27T08:14:14.686"
        );
        assert_eq!(instrument_of("M.SPHERE.2016-09-27T08:14:14.686"), "SPHERE");
        assert_eq!(instrument_of("FORS2.2021-01-02T00:59:12.533"), "FORS2");
        assert_eq!(fixture_name("A.B:C:D", ".fits"), "A.B_C_D.fits");
    }

    #[test]
    fn committed_masters_match_the_generator() {
        for (dp_id, category) in MASTER_CALIBRATIONS {
            let committed = std::fs::read(files_dir().join(fixture_name(dp_id, ".fits"))).unwrap();
            assert_eq!(committed, master_fits(dp_id, category), "{dp_id}");
        }
    }

    #[test]
    fn committed_raw_frames_decompress_to_the_generator_output() {
        if !Path::new("/usr/bin/compress").exists() {
            return;
        }
        for frame in &SCIENCE_FRAMES {
            let path = files_dir().join(fixture_name(frame.dp_id, ".fits.Z"));
            let output = std::process::Command::new("/usr/bin/compress")
                .arg("-dc")
                .arg(&path)
                .output()
                .unwrap();
            assert!(output.status.success(), "{}", path.display());
            assert_eq!(output.stdout, science_frame_fits(frame), "{}", frame.dp_id);
        }
    }
}

#!/usr/bin/python3
"""Deterministic test data for the local DaCHS server.

Usage: gen_data.py [--rows N] INPUTS_DIR

Writes (only if missing, so re-runs are cheap and byte-stable):
  INPUTS_DIR/vocat/data/cat.csv       N-row catalogue (default 5000; ra/dec in
                                      150..160, -5..5); rewritten when N changes
                                      (N is kept in INPUTS_DIR/vocat/data/cat.rows)
  INPUTS_DIR/voimg/data/img_NN.fits   6 small 2D images (100x100 float32, TAN WCS)
  INPUTS_DIR/voimg/cubes/cube_NN.fits 2 small cubes (40x40x30, RA/DEC/WAVE)
  INPUTS_DIR/vospec/data/spec_NN.fits 3 IRAF-style 1D spectra (500 px, Angstrom)

Uses Debian's python3-numpy / python3-astropy (pulled in by gavodachs2-server),
so run it with /usr/bin/python3, not a pyenv/venv python.

The row count can also come from the environment (DACHS_ROWS); --rows wins.
With the default 5000 rows the output is byte-identical to the reference
recipe's, so recorded fixtures do not change.
"""
import csv
import os
import sys

import numpy as np
from astropy.io import fits

SEED = 20240611
DEFAULT_ROWS = 5000


def gen_catalogue(path, nrows):
    rng = np.random.default_rng(SEED)
    ra = rng.uniform(150.0, 160.0, nrows)
    dec = rng.uniform(-5.0, 5.0, nrows)
    mag = rng.normal(18.0, 1.5, nrows)
    nobs = rng.integers(1, 50, nrows)
    flags = rng.integers(0, 4, nrows)
    epochs = rng.uniform(58000.0, 60000.0, nrows)  # MJD
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["obj_id", "ra", "dec", "mag_g", "nobs", "flags",
                    "obs_mjd", "remark"])
        for i in range(nrows):
            # every 50th row: NULL magnitude; a few rows with awkward text
            m = "" if i % 50 == 7 else "%.4f" % mag[i]
            if i % 500 == 3:
                remark = 'quote " & <tag> ampersand'
            elif i % 500 == 11:
                remark = "unicode: \u03a9 Cen \u00e9t\u00e9 \u2013 dash"
            elif i % 10 == 0:
                remark = "ok"
            else:
                remark = ""
            w.writerow(["SRC-%05d" % (i + 1), "%.8f" % ra[i],
                        "%.8f" % dec[i], m, int(nobs[i]), int(flags[i]),
                        "%.6f" % epochs[i], remark])
    os.replace(tmp, path)


# (ra, dec, filter, object, date-obs)
IMAGES = [
    (151.0, 0.0, "V", "FIELD-A", "2021-03-01T01:00:00"),
    (153.0, 1.0, "B", "FIELD-B", "2021-03-02T02:00:00"),
    (155.0, -1.0, "R", "FIELD-C", "2021-03-03T03:00:00"),
    (157.0, 2.0, "V", "FIELD-D", "2021-03-04T04:00:00"),
    (159.0, -3.0, "I", "FIELD-E", "2021-03-05T05:00:00"),
    (155.0, 3.5, "B", "FIELD-F", "2021-03-06T06:00:00"),
]


def gen_image(path, idx, ra, dec, band, obj, dateobs):
    rng = np.random.default_rng(SEED + idx)
    n = 100
    y, x = np.mgrid[0:n, 0:n]
    data = rng.normal(100.0, 5.0, (n, n))
    # a few gaussian "stars"
    for _ in range(8):
        cx, cy = rng.uniform(10, n - 10, 2)
        amp = rng.uniform(200, 2000)
        data += amp * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 1.5 ** 2))
    h = fits.Header()
    h["CTYPE1"] = "RA---TAN"
    h["CTYPE2"] = "DEC--TAN"
    h["CRVAL1"] = ra
    h["CRVAL2"] = dec
    h["CRPIX1"] = (n + 1) / 2.0
    h["CRPIX2"] = (n + 1) / 2.0
    h["CDELT1"] = -0.01
    h["CDELT2"] = 0.01
    h["CUNIT1"] = "deg"
    h["CUNIT2"] = "deg"
    h["RADESYS"] = "ICRS"
    h["EQUINOX"] = 2000.0
    h["DATE-OBS"] = dateobs
    h["EXPTIME"] = 60.0 * (idx + 1)
    h["FILTER"] = band
    h["OBJECT"] = obj
    h["TELESCOP"] = "VOTEST"
    h["INSTRUME"] = "TESTCAM"
    h["BUNIT"] = "adu"
    hdu = fits.PrimaryHDU(data.astype(np.float32), header=h)
    tmp = path + ".tmp"
    hdu.writeto(tmp, overwrite=True)
    os.replace(tmp, path)


CUBES = [
    (154.0, 0.5, "CUBE-A", "2022-01-10T00:00:00"),
    (156.0, -0.5, "CUBE-B", "2022-01-11T00:00:00"),
]


def gen_cube(path, idx, ra, dec, obj, dateobs):
    rng = np.random.default_rng(SEED + 100 + idx)
    nx = ny = 40
    nz = 30
    data = rng.normal(10.0, 1.0, (nz, ny, nx))
    z = np.arange(nz)[:, None, None]
    y, x = np.mgrid[0:ny, 0:nx]
    # one emission-line source in the middle
    data += 50 * np.exp(-((x - 20) ** 2 + (y - 20) ** 2) / 8.0)[None, :, :] * \
        np.exp(-((z - 15) ** 2) / 4.0)
    h = fits.Header()
    h["CTYPE1"] = "RA---TAN"
    h["CTYPE2"] = "DEC--TAN"
    h["CTYPE3"] = "WAVE"
    h["CRVAL1"] = ra
    h["CRVAL2"] = dec
    h["CRVAL3"] = 5.0e-7
    h["CRPIX1"] = (nx + 1) / 2.0
    h["CRPIX2"] = (ny + 1) / 2.0
    h["CRPIX3"] = 1.0
    h["CDELT1"] = -0.005
    h["CDELT2"] = 0.005
    h["CDELT3"] = 1.0e-9
    h["CUNIT1"] = "deg"
    h["CUNIT2"] = "deg"
    h["CUNIT3"] = "m"
    h["RADESYS"] = "ICRS"
    h["EQUINOX"] = 2000.0
    h["SPECSYS"] = "TOPOCENT"
    h["DATE-OBS"] = dateobs
    h["EXPTIME"] = 1200.0
    h["OBJECT"] = obj
    h["TELESCOP"] = "VOTEST"
    h["INSTRUME"] = "TESTIFU"
    h["BUNIT"] = "adu"
    hdu = fits.PrimaryHDU(data.astype(np.float32), header=h)
    tmp = path + ".tmp"
    hdu.writeto(tmp, overwrite=True)
    os.replace(tmp, path)


SPECTRA = [
    (155.02, 0.01, "STAR-A", "2023-02-01T03:00:00", 5200.0),
    (152.5, -2.2, "STAR-B", "2023-02-02T03:30:00", 6100.0),
    (158.0, 4.0, "QSO-C", "2023-02-03T04:00:00", 4800.0),
]


def gen_spectrum(path, idx, ra, dec, obj, dateobs, line):
    rng = np.random.default_rng(SEED + 200 + idx)
    n = 500
    crval, cdelt = 4000.0, 6.0
    wl = crval + cdelt * np.arange(n)
    flux = 1e-15 * (1.0 + 0.2 * (wl - 4000.0) / 3000.0)
    flux = flux * (1.0 + 0.01 * rng.normal(size=n))
    flux += 3e-16 * np.exp(-((wl - line) ** 2) / (2 * 8.0 ** 2))
    h = fits.Header()
    h["CTYPE1"] = "WAVE"
    h["CRVAL1"] = crval
    h["CRPIX1"] = 1.0
    h["CDELT1"] = cdelt
    h["CUNIT1"] = "Angstrom"
    h["RA"] = ra
    h["DEC"] = dec
    h["OBJECT"] = obj
    h["DATE-OBS"] = dateobs
    h["EXPTIME"] = 900.0
    h["TELESCOP"] = "VOTEST"
    h["INSTRUME"] = "TESTSPEC"
    h["BUNIT"] = "erg/(s cm**2 Angstrom)"
    hdu = fits.PrimaryHDU(flux.astype(np.float32), header=h)
    tmp = path + ".tmp"
    hdu.writeto(tmp, overwrite=True)
    os.replace(tmp, path)


def parse_args(argv):
    """Returns (inputs_dir, rows) from [--rows N] INPUTS_DIR."""
    rows = os.environ.get("DACHS_ROWS") or str(DEFAULT_ROWS)
    positional = []
    i = 0
    while i < len(argv):
        if argv[i] == "--rows" and i + 1 < len(argv):
            rows = argv[i + 1]
            i += 2
        elif argv[i].startswith("--rows="):
            rows = argv[i].split("=", 1)[1]
            i += 1
        else:
            positional.append(argv[i])
            i += 1
    if len(positional) != 1:
        sys.exit(__doc__)
    try:
        nrows = int(rows)
    except ValueError:
        sys.exit("gen_data: --rows wants a positive integer, got %r" % rows)
    if nrows < 1:
        sys.exit("gen_data: --rows wants a positive integer, got %d" % nrows)
    return positional[0], nrows


def main():
    inputs, nrows = parse_args(sys.argv[1:])
    catdir = os.path.join(inputs, "vocat", "data")
    imgdir = os.path.join(inputs, "voimg", "data")
    cubedir = os.path.join(inputs, "voimg", "cubes")
    specdir = os.path.join(inputs, "vospec", "data")
    for d in (catdir, imgdir, cubedir, specdir):
        os.makedirs(d, exist_ok=True)
    made = 0
    p = os.path.join(catdir, "cat.csv")
    marker = os.path.join(catdir, "cat.rows")
    try:
        with open(marker, encoding="ascii") as f:
            have_rows = f.read().strip()
    except OSError:
        have_rows = ""
    if not os.path.exists(p) or have_rows != str(nrows):
        gen_catalogue(p, nrows)
        with open(marker + ".tmp", "w", encoding="ascii") as f:
            f.write("%d\n" % nrows)
        os.replace(marker + ".tmp", marker)
        made += 1
    for i, (ra, dec, band, obj, dobs) in enumerate(IMAGES):
        p = os.path.join(imgdir, "img_%02d.fits" % (i + 1))
        if not os.path.exists(p):
            gen_image(p, i, ra, dec, band, obj, dobs)
            made += 1
    for i, (ra, dec, obj, dobs) in enumerate(CUBES):
        p = os.path.join(cubedir, "cube_%02d.fits" % (i + 1))
        if not os.path.exists(p):
            gen_cube(p, i, ra, dec, obj, dobs)
            made += 1
    for i, (ra, dec, obj, dobs, line) in enumerate(SPECTRA):
        p = os.path.join(specdir, "spec_%02d.fits" % (i + 1))
        if not os.path.exists(p):
            gen_spectrum(p, i, ra, dec, obj, dobs, line)
            made += 1
    print("gen_data: %d file(s) written under %s (catalogue: %d rows)"
          % (made, inputs, nrows))


if __name__ == "__main__":
    main()

"""Fixture rows for the ADQL suite: discriminating positions, times, energies, NULLs and odd strings."""

from __future__ import annotations

from sqlalchemy import Connection, text

AUTH = "ivo://tapserver.test/dl3"

# obs_id, collection, target, ra, dec, fov (diameter), t_min, t_max, exptime, em_min, em_max, calib,
# size (kbyte), facility, instrument, creation date, rights
OBSCORE_ROWS = [
    ("23523", "hess_dr1", "Crab Nebula", 83.63, 22.01, 5.0, 53343.92, 53343.94, 1581.7, 2.1e-20, 1.2e-18,
     2, 5120, "H.E.S.S.", "H.E.S.S. phase I", "2016-06-01 10:00:00", "public"),
    ("23526", "hess_dr1", "Crab Nebula", 85.25, 22.01, 5.0, 53343.95, 53343.97, 1572.5, 2.1e-20, 1.2e-18,
     2, 4096, "H.E.S.S.", "H.E.S.S. phase I", "2016-06-01 10:00:00", "public"),
    ("33787", "hess_dr1", "PKS 2155-304", 329.72, -30.23, 5.0, 53945.86, 53945.88, 1683.0, 1.5e-20, 9.0e-19,
     2, 3300, "H.E.S.S.", "H.E.S.S. phase I", "2016-06-02 11:30:00", "public"),
    ("20136", "hess_dr1", "MSH 15-52", 228.53, -59.16, 5.0, 53150.78, 53150.80, 1685.1, 2.5e-20, 1.1e-18,
     2, 2800, "H.E.S.S.", "H.E.S.S. phase I", "2016-06-02 11:30:00", "public"),
    ("47802", "hess_dr1", "RX J0852.0−4622", 133.0, -46.37, 5.0, 54450.01, 54450.03, 1600.0, 3.0e-20,
     1.0e-18, 2, 1500, "H.E.S.S.", "H.E.S.S. phase I", "2016-06-03 09:00:00", "public"),
    ("60001", "cta_sim", "Sgr A*", 266.4168, -29.0078, 8.0, 59000.1, 59000.2, 1800.0, 1.2e-21, 4.1e-19,
     3, 25000, "CTAO-South", "CTAO Alpha", "2024-01-15 08:00:00", "proprietary"),
    ("60002", "cta_sim", "Ñandú field (é)", 359.9, 0.5, 8.0, 59001.1, 59001.2, 1750.0, 1.2e-21, 4.1e-19,
     3, 24000, "CTAO-South", "CTAO Alpha", "2024-01-15 08:00:00", "proprietary"),
    ("60003", "cta_sim", "Wrap East", 0.2, 0.3, 8.0, 59002.1, 59002.2, 1720.0, 1.3e-21, 4.0e-19,
     3, 23000, "CTAO-South", "CTAO Alpha", "2024-01-16 08:00:00", "public"),
    ("60004", "cta_sim", "Polaris region", 10.0, 89.5, 8.0, 59003.1, 59003.2, 900.0, 1.3e-21, 4.0e-19,
     1, 12000, "CTAO-North", "CTAO Alpha", "2024-01-16 08:00:00", "secure"),
    ("60005", "cta_sim", "O'Brien's \"field\"", 166.11, 38.21, 4.0, 59004.1, 59004.2, 1200.0, 1.3e-21,
     4.0e-19, 0, 8000, "CTAO-North", "CTAO Beta", "2024-02-01 08:00:00", "public"),
    ("60006", "cta_sim", "percent%under_score back\\slash", 200.0, 10.0, 4.0, 59005.1, 59005.2, 600.0,
     1.3e-21, 4.0e-19, 4, 100, "CTAO-North", "CTAO Beta", "2024-02-01 08:00:00", "public"),
    ("70001", "magic_test", None, None, None, None, None, None, None, None, None,
     2, None, None, None, None, None),
]

OBSCONFIG_ROWS = [
    # obs_id, collection, run_number, n_tels, zen_pnt, deadc, livetime, observer, tel_list
    ("23523", "hess_dr1", 23523, 4, 46.9, 0.95, 1581.7, "Hinton", "1,2,3,4"),
    ("23526", "hess_dr1", 23526, 4, 45.8, 0.94, 1572.5, "Hinton", "1,2,3,4"),
    ("33787", "hess_dr1", 33787, 3, 12.3, 0.91, 1683.0, None, "1,2,4"),
    ("20136", "hess_dr1", 20136, 4, 36.1, 0.93, 1685.1, "Jürgen Müller", "1,2,3,4"),
    ("60001", "cta_sim", 60001, 14, 20.0, 0.99, 1800.0, "simulation", None),
    ("60004", "cta_sim", 60004, 9, 60.5, None, 900.0, "simulation", "1,3"),
]


def did(obs_id: str, collection: str) -> str:
    return f"{AUTH}?{collection}/{obs_id}"


def insert_fixture_rows(conn: Connection) -> None:
    """Insert the fixture rows (obscore, obsconfig, provenance) through an owner connection."""
    for (obs_id, coll, target, ra, dec, fov, t_min, t_max, exptime, em_min, em_max, calib, size, facility,
         instrument, created, rights) in OBSCORE_ROWS:
        conn.execute(text("""
            INSERT INTO ivoa.obscore (dataproduct_type, dataproduct_subtype, calib_level, obs_collection, obs_id,
                obs_title, obs_creation_date, obs_publisher_did, publisher_id, data_rights, access_url,
                access_format, access_estsize, target_name, target_class, s_ra, s_dec, s_fov, s_region,
                s_resolution, s_xel1, s_xel2, t_min, t_max, t_exptime, t_resolution, t_xel,
                em_min, em_max, em_res_power, em_xel, pol_xel, facility_name, instrument_name, o_ucd,
                pol_states, obs_release_date)
            VALUES ('event', 'DL3', :calib, :coll, :obs_id, :title, CAST(:created AS timestamp), :did,
                'ivo://tapserver.test', :rights, :url, 'application/x-votable+xml;content=datalink', :size,
                :target, NULL, :ra, :dec, :fov,
                scircle(spoint(radians(CAST(:ra AS float8)), radians(CAST(:dec AS float8))),
                        radians(CAST(:fov AS float8) / 2.0)),
                0.1, 1, 1, :t_min, :t_max, :exptime, 1e-5,
                CASE WHEN CAST(:t_min AS float8) IS NULL THEN NULL ELSE 1 END,
                :em_min, :em_max, 10.0, 1, 0, :facility, :instrument, NULL, NULL,
                CAST(:created AS timestamp) + interval '1 year')
        """), {
            "calib": calib, "coll": coll, "obs_id": obs_id, "title": f"{coll} run {obs_id}", "created": created,
            "did": did(obs_id, coll), "rights": rights, "url": f"https://tapserver.test/datalink?ID={obs_id}",
            "size": size, "target": target, "ra": ra, "dec": dec, "fov": fov, "t_min": t_min, "t_max": t_max,
            "exptime": exptime, "em_min": em_min, "em_max": em_max, "facility": facility,
            "instrument": instrument,
        })
    for obs_id, coll, run, n_tels, zen, deadc, livetime, observer, tels in OBSCONFIG_ROWS:
        conn.execute(text("""
            INSERT INTO obsconfig.obsconfig (obs_publisher_did, obs_collection, obs_id, run_number, n_tels,
                zen_pnt, deadc, livetime, observer, tel_list, facility_name, instrument_name, radesys, ra_pnt,
                dec_pnt)
            SELECT obs_publisher_did, obs_collection, obs_id, :run, :n_tels, :zen, :deadc, :livetime,
                :observer, :tels, facility_name, instrument_name, 'ICRS', s_ra + 0.5, s_dec
            FROM ivoa.obscore WHERE obs_id = :obs_id AND obs_collection = :coll
        """), {"obs_id": obs_id, "coll": coll, "run": run, "n_tels": n_tels, "zen": zen, "deadc": deadc,
               "livetime": livetime, "observer": observer, "tels": tels})
    _insert_provenance(conn)


def _insert_provenance(conn: Connection) -> None:
    statements = [
        """INSERT INTO provenance.activitydescription (id, name, version, description, type)
           VALUES ('ad:calib', 'calibration', '1.0', 'Calibration of raw data', 'Calibration'),
                  ('ad:dl3', 'dl3-export', '2.3', 'Export to DL3 format', 'Reduction')""",
        """INSERT INTO provenance.entitydescription (id, name, description, content_type)
           VALUES ('ed:events', 'DL3 event list', 'Events after reconstruction', 'application/fits'),
                  ('ed:raw', 'raw data', 'Camera raw data', NULL)""",
        """INSERT INTO provenance.agent (id, name, type, email)
           VALUES ('ag:hess', 'H.E.S.S. collaboration', 'Organization', 'contact@hess.test'),
                  ('ag:pipeline', 'HAP pipeline', 'SoftwareAgent', NULL),
                  ('ag:jm', 'Jürgen Müller', 'Person', 'jm@example.test')""",
        """INSERT INTO provenance.activity (id, name, starttime, endtime, activitydescription_id)
           VALUES ('act:calib:23523', 'calibration 23523', '2016-05-01 10:00', '2016-05-01 11:00', 'ad:calib'),
                  ('act:dl3:23523', 'dl3 export 23523', '2016-05-02 10:00', '2016-05-02 10:30', 'ad:dl3'),
                  ('act:dl3:23526', 'dl3 export 23526', '2016-05-02 11:00', NULL, 'ad:dl3')""",
        f"""INSERT INTO provenance.entity (id, name, location, generatedattime, entity_class,
                entitydescription_id, content_type)
           VALUES ('{did("23523", "hess_dr1")}', 'run 23523 events', '/data/23523.fits', '2016-05-02 10:30',
                   'DatasetEntity', 'ed:events', 'application/fits'),
                  ('{did("23526", "hess_dr1")}', 'run 23526 events', '/data/23526.fits', '2016-05-02 11:20',
                   'DatasetEntity', 'ed:events', 'application/fits'),
                  ('raw:23523', 'raw 23523', NULL, '2004-12-01 22:00', 'Entity', 'ed:raw', NULL),
                  ('coll:crab', 'Crab runs', NULL, NULL, 'Collection', NULL, NULL)""",
        f"""INSERT INTO provenance.used (activity_id, entity_id, role, time)
           VALUES ('act:calib:23523', 'raw:23523', 'input', '2016-05-01 10:00'),
                  ('act:dl3:23523', 'raw:23523', 'calibrated input', '2016-05-02 10:00'),
                  ('act:dl3:23526', '{did("23523", "hess_dr1")}', 'reference', NULL)""",
        f"""INSERT INTO provenance.wasgeneratedby (entity_id, activity_id, role)
           VALUES ('{did("23523", "hess_dr1")}', 'act:dl3:23523', 'output'),
                  ('{did("23526", "hess_dr1")}', 'act:dl3:23526', 'output')""",
        f"""INSERT INTO provenance.wasderivedfrom (generatedentity_id, usedentity_id, activity_id)
           VALUES ('{did("23523", "hess_dr1")}', 'raw:23523', 'act:dl3:23523')""",
        """INSERT INTO provenance.wasinformedby (informed_id, informant_id)
           VALUES ('act:dl3:23523', 'act:calib:23523')""",
        """INSERT INTO provenance.wasassociatedwith (activity_id, agent_id, role)
           VALUES ('act:calib:23523', 'ag:hess', 'operator'), ('act:dl3:23523', 'ag:pipeline', 'software'),
                  ('act:dl3:23526', 'ag:pipeline', 'software'), ('act:dl3:23526', 'ag:jm', 'operator')""",
        f"""INSERT INTO provenance.wasattributedto (entity_id, agent_id, role)
           VALUES ('{did("23523", "hess_dr1")}', 'ag:hess', 'publisher')""",
        f"""INSERT INTO provenance.hadmember (collection_id, entity_id)
           VALUES ('coll:crab', '{did("23523", "hess_dr1")}'), ('coll:crab', '{did("23526", "hess_dr1")}')""",
        """INSERT INTO provenance.parameterdescription (id, activitydescription_id, name, value_type, unit,
                "min", "max", "default")
           VALUES ('pd:emin', 'ad:dl3', 'energy_min', 'double', 'TeV', '0.01', '100', '0.1')""",
        """INSERT INTO provenance.parameter (activity_id, name, value, parameterdescription_id)
           VALUES ('act:dl3:23523', 'energy_min', '0.3', 'pd:emin'),
                  ('act:dl3:23526', 'energy_min', '0.5', 'pd:emin'),
                  ('act:calib:23523', 'gain_mode', 'high', NULL)""",
    ]
    for statement in statements:
        conn.execute(text(statement))

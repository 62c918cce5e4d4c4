-- Agencies, routing rules (data, not code) and cases.
CREATE TABLE agencies (
    agency_code  text PRIMARY KEY,
    name         text NOT NULL,
    level        text NOT NULL CHECK (level IN ('national', 'province', 'regency', 'desk')),
    region_code  text,
    via_sp4n     boolean NOT NULL DEFAULT false
);

CREATE TABLE routing_rules (
    rule_id       text PRIMARY KEY,
    category      text,              -- NULL matches any category
    region_prefix text,              -- NULL matches any region; '31' or '31.71'
    agency_code   text REFERENCES agencies (agency_code),  -- NULL: the region's own government
    precedence    integer NOT NULL DEFAULT 100,
    active        boolean NOT NULL DEFAULT true
);

CREATE TABLE cases (
    case_id       uuid PRIMARY KEY,
    complaint_id  uuid NOT NULL UNIQUE,
    tracking_code text NOT NULL,
    category      text NOT NULL,
    priority      text NOT NULL,
    region_code   text,
    agency_code   text NOT NULL REFERENCES agencies (agency_code),
    rule_id       text NOT NULL,
    status        text NOT NULL,
    due_at        timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_by_agency_status ON cases (agency_code, status);

INSERT INTO agencies (agency_code, name, level, region_code, via_sp4n) VALUES
    ('SETWAPRES', 'Sekretariat Wakil Presiden (disposisi manual)', 'desk', NULL, false),
    ('ATR-BPN', 'Kementerian ATR/BPN', 'national', NULL, true),
    ('KEMENDIKDASMEN', 'Kementerian Pendidikan Dasar dan Menengah', 'national', NULL, true),
    ('KEMENKES', 'Kementerian Kesehatan', 'national', NULL, true),
    ('KEMENSOS', 'Kementerian Sosial', 'national', NULL, true),
    ('KEMENPU', 'Kementerian Pekerjaan Umum', 'national', NULL, true),
    ('KEMNAKER', 'Kementerian Ketenagakerjaan', 'national', NULL, true),
    ('DUKCAPIL', 'Ditjen Kependudukan dan Pencatatan Sipil', 'national', NULL, true),
    ('POLRI', 'Kepolisian Negara Republik Indonesia', 'national', NULL, true),
    ('KPK', 'Komisi Pemberantasan Korupsi', 'national', NULL, false),
    ('KLH', 'Kementerian Lingkungan Hidup', 'national', NULL, true),
    ('PLN', 'PT PLN (Persero)', 'national', NULL, true);

INSERT INTO routing_rules (rule_id, category, region_prefix, agency_code, precedence) VALUES
    ('land-national', 'land', NULL, 'ATR-BPN', 100),
    ('education-national', 'education', NULL, 'KEMENDIKDASMEN', 100),
    ('health-national', 'health', NULL, 'KEMENKES', 100),
    ('social-assistance-national', 'social_assistance', NULL, 'KEMENSOS', 100),
    ('infrastructure-regional', 'infrastructure', NULL, NULL, 100),
    ('population-national', 'population_administration', NULL, 'DUKCAPIL', 100),
    ('employment-national', 'employment', NULL, 'KEMNAKER', 100),
    ('corruption-national', 'corruption', NULL, 'KPK', 100),
    ('public-order-national', 'public_order', NULL, 'POLRI', 100),
    ('environment-national', 'environment', NULL, 'KLH', 100),
    ('utilities-national', 'utilities', NULL, 'PLN', 100);

-- Versioned rules, the case lifecycle, working-day deadlines, escalations, officers,
-- SP4N-LAPOR! forwarding and the agency directory's contacts.

-- Agency directory: contacts, intake method, supervisor for escalation, response window.
ALTER TABLE agencies
    ADD COLUMN contact_email   text,
    ADD COLUMN contact_phone   text,
    ADD COLUMN intake_method   text NOT NULL DEFAULT 'sp4n'
        CHECK (intake_method IN ('sp4n', 'email', 'letter', 'desk')),
    ADD COLUMN supervisor      text,
    ADD COLUMN response_working_days integer NOT NULL DEFAULT 5 CHECK (response_working_days > 0);

UPDATE agencies SET intake_method = 'desk' WHERE level = 'desk';
UPDATE agencies SET intake_method = 'letter' WHERE NOT via_sp4n AND level <> 'desk';
UPDATE agencies SET supervisor = 'Inspektorat Jenderal ' || name WHERE level = 'national';
UPDATE agencies SET supervisor = 'Kementerian Dalam Negeri (Ditjen Otonomi Daerah)'
    WHERE level = 'province';
UPDATE agencies a SET supervisor = p.name
    FROM agencies p WHERE a.level = 'regency' AND p.agency_code = 'PEMDA-' || split_part(a.region_code, '.', 1);
UPDATE agencies SET contact_email = 'pengaduan@' || lower(replace(agency_code, '.', '-')) || '.go.id'
    WHERE level <> 'desk';

-- Rules are versioned: every change bumps `version` and is copied to the history, and a
-- case records the (rule_id, version) that chose its agency.
ALTER TABLE routing_rules
    ADD COLUMN priority    text CHECK (priority IN ('normal', 'urgent')),  -- NULL: any priority
    ADD COLUMN version     integer NOT NULL DEFAULT 1,
    ADD COLUMN description text,
    ADD COLUMN updated_by  text NOT NULL DEFAULT 'seed',
    ADD COLUMN updated_at  timestamptz NOT NULL DEFAULT now();

CREATE TABLE routing_rule_versions (
    rule_id       text NOT NULL,
    version       integer NOT NULL,
    category      text,
    region_prefix text,
    priority      text,
    agency_code   text,
    precedence    integer NOT NULL,
    active        boolean NOT NULL,
    description   text,
    changed_by    text NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, version)
);
INSERT INTO routing_rule_versions
    (rule_id, version, category, region_prefix, priority, agency_code, precedence, active,
     description, changed_by)
SELECT rule_id, version, category, region_prefix, priority, agency_code, precedence, active,
       description, updated_by
FROM routing_rules;

ALTER TABLE cases
    ADD COLUMN rule_version   integer NOT NULL DEFAULT 1,
    ADD COLUMN correlation_id uuid,
    ADD COLUMN channel        text,
    ADD COLUMN summary        text,
    ADD COLUMN secret         boolean NOT NULL DEFAULT false,
    ADD COLUMN assignment_round integer NOT NULL DEFAULT 1,
    ADD COLUMN closed_at      timestamptz;
CREATE INDEX cases_by_status ON cases (status);

-- Every status change, with who made it and why (the events are its outward copy).
CREATE TABLE case_history (
    id              bigserial PRIMARY KEY,
    case_id         uuid NOT NULL REFERENCES cases (case_id),
    previous_status text,
    status          text NOT NULL,
    agency_code     text NOT NULL,
    actor           text NOT NULL,
    reason          text,
    note            text,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_history_by_case ON case_history (case_id, id);

-- Duplicates triage found: extra reporters on the original case. A duplicate may arrive
-- before its original's case exists (another partition); it waits here until then.
CREATE TABLE case_reporters (
    complaint_id          uuid PRIMARY KEY,
    tracking_code         text NOT NULL,
    original_complaint_id uuid NOT NULL,
    correlation_id        uuid NOT NULL,
    cause_event_id        uuid NOT NULL,
    case_id               uuid REFERENCES cases (case_id),
    joined_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_reporters_by_original ON case_reporters (original_complaint_id);

-- Deadlines: one row per (case, kind, round); `round` is the assignment round for agency
-- responses, so a re-routed case gets a fresh window.
CREATE TABLE case_deadlines (
    case_id  uuid NOT NULL REFERENCES cases (case_id),
    kind     text NOT NULL CHECK (kind IN ('analysis', 'agency_response', 'documents')),
    round    integer NOT NULL,
    due_at   timestamptz NOT NULL,
    met_at   timestamptz,
    PRIMARY KEY (case_id, kind, round)
);
CREATE INDEX case_deadlines_open ON case_deadlines (due_at) WHERE met_at IS NULL;

-- Alerts sent for a deadline: 'approaching', 'overdue-1' (supervisor), 'overdue-2'
-- (Setwapres). The primary key makes each fire once, across restarts and instances.
CREATE TABLE deadline_alerts (
    case_id  uuid NOT NULL,
    kind     text NOT NULL,
    round    integer NOT NULL,
    alert    text NOT NULL,
    escalated_to text,
    fired_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, kind, round, alert)
);

-- Working-day calendar overrides on top of the holidays library: collective leave days
-- (working = false) or a declared working Saturday (working = true).
CREATE TABLE calendar_overrides (
    day     date PRIMARY KEY,
    working boolean NOT NULL,
    note    text NOT NULL
);

-- Agency officers; the token is stored only as its SHA-256.
CREATE TABLE officers (
    officer_id  text PRIMARY KEY,
    agency_code text NOT NULL REFERENCES agencies (agency_code),
    token_sha256 text NOT NULL UNIQUE,
    role        text NOT NULL DEFAULT 'officer' CHECK (role IN ('officer', 'admin')),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- SP4N-LAPOR! forwarding: one row per (case, round), retried with backoff until the remote
-- side acknowledges with its tracking id.
CREATE TABLE sp4n_forwardings (
    case_id        uuid NOT NULL REFERENCES cases (case_id),
    round          integer NOT NULL,
    agency_code    text NOT NULL,
    attempts       integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error     text,
    remote_id      text,
    forwarded_at   timestamptz,
    PRIMARY KEY (case_id, round)
);
CREATE INDEX sp4n_pending ON sp4n_forwardings (next_attempt_at) WHERE remote_id IS NULL;

-- More of the directory: national agencies complaints commonly concern.
INSERT INTO agencies (agency_code, name, level, region_code, via_sp4n, intake_method, supervisor,
                      contact_email) VALUES
    ('BPJS-KES', 'BPJS Kesehatan', 'national', NULL, true, 'sp4n',
     'Dewan Jaminan Sosial Nasional', 'pengaduan@bpjs-kesehatan.go.id'),
    ('BPJS-TK', 'BPJS Ketenagakerjaan', 'national', NULL, true, 'sp4n',
     'Dewan Jaminan Sosial Nasional', 'pengaduan@bpjsketenagakerjaan.go.id'),
    ('KEMENDAGRI', 'Kementerian Dalam Negeri', 'national', NULL, true, 'sp4n',
     'Inspektorat Jenderal Kementerian Dalam Negeri', 'pengaduan@kemendagri.go.id'),
    ('KEMENAG', 'Kementerian Agama', 'national', NULL, true, 'sp4n',
     'Inspektorat Jenderal Kementerian Agama', 'pengaduan@kemenag.go.id'),
    ('KEMENKEU', 'Kementerian Keuangan', 'national', NULL, true, 'sp4n',
     'Inspektorat Jenderal Kementerian Keuangan', 'pengaduan@kemenkeu.go.id'),
    ('KEMENHUB', 'Kementerian Perhubungan', 'national', NULL, true, 'sp4n',
     'Inspektorat Jenderal Kementerian Perhubungan', 'pengaduan@dephub.go.id'),
    ('KEMDIKTISAINTEK', 'Kementerian Pendidikan Tinggi, Sains, dan Teknologi', 'national', NULL,
     true, 'sp4n', 'Inspektorat Jenderal Kemdiktisaintek', 'pengaduan@kemdiktisaintek.go.id'),
    ('KEMENTAN', 'Kementerian Pertanian', 'national', NULL, true, 'sp4n',
     'Inspektorat Jenderal Kementerian Pertanian', 'pengaduan@pertanian.go.id'),
    ('KESDM', 'Kementerian Energi dan Sumber Daya Mineral', 'national', NULL, true, 'sp4n',
     'Inspektorat Jenderal Kementerian ESDM', 'pengaduan@esdm.go.id'),
    ('KOMDIGI', 'Kementerian Komunikasi dan Digital', 'national', NULL, true, 'sp4n',
     'Inspektorat Jenderal Komdigi', 'pengaduan@komdigi.go.id'),
    ('KEMENPPPA', 'Kementerian Pemberdayaan Perempuan dan Perlindungan Anak', 'national', NULL,
     true, 'sp4n', 'Inspektorat KemenPPPA', 'pengaduan@kemenpppa.go.id'),
    ('KEJAKSAAN', 'Kejaksaan Republik Indonesia', 'national', NULL, true, 'sp4n',
     'Jaksa Agung Muda Bidang Pengawasan', 'pengaduan@kejaksaan.go.id'),
    ('ORI', 'Ombudsman Republik Indonesia', 'national', NULL, false, 'letter',
     'Dewan Perwakilan Rakyat', 'pengaduan@ombudsman.go.id'),
    ('PERTAMINA', 'PT Pertamina (Persero)', 'national', NULL, true, 'sp4n',
     'Kementerian BUMN', 'pcc135@pertamina.com'),
    ('PDAM-JAYA', 'Perumda Air Minum Jaya (DKI Jakarta)', 'regency', '31', false, 'email',
     'Pemerintah Provinsi DKI Jakarta', 'pelanggan@pamjaya.co.id')
ON CONFLICT (agency_code) DO NOTHING;

-- More regencies and cities, each supervised by its province.
INSERT INTO agencies (agency_code, name, level, region_code, via_sp4n, intake_method) VALUES
    ('PEMDA-11.71', 'Pemerintah Kota Banda Aceh', 'regency', '11.71', true, 'sp4n'),
    ('PEMDA-13.71', 'Pemerintah Kota Padang', 'regency', '13.71', true, 'sp4n'),
    ('PEMDA-14.71', 'Pemerintah Kota Pekanbaru', 'regency', '14.71', true, 'sp4n'),
    ('PEMDA-16.71', 'Pemerintah Kota Palembang', 'regency', '16.71', true, 'sp4n'),
    ('PEMDA-18.71', 'Pemerintah Kota Bandar Lampung', 'regency', '18.71', true, 'sp4n'),
    ('PEMDA-21.71', 'Pemerintah Kota Batam', 'regency', '21.71', true, 'sp4n'),
    ('PEMDA-31.01', 'Pemerintah Kabupaten Administrasi Kepulauan Seribu', 'regency', '31.01', true, 'sp4n'),
    ('PEMDA-32.04', 'Pemerintah Kabupaten Bandung', 'regency', '32.04', true, 'sp4n'),
    ('PEMDA-32.16', 'Pemerintah Kabupaten Bekasi', 'regency', '32.16', true, 'sp4n'),
    ('PEMDA-32.71', 'Pemerintah Kota Bogor', 'regency', '32.71', true, 'sp4n'),
    ('PEMDA-32.75', 'Pemerintah Kota Bekasi', 'regency', '32.75', true, 'sp4n'),
    ('PEMDA-32.76', 'Pemerintah Kota Depok', 'regency', '32.76', true, 'sp4n'),
    ('PEMDA-33.72', 'Pemerintah Kota Surakarta', 'regency', '33.72', true, 'sp4n'),
    ('PEMDA-33.02', 'Pemerintah Kabupaten Banyumas', 'regency', '33.02', true, 'sp4n'),
    ('PEMDA-34.04', 'Pemerintah Kabupaten Sleman', 'regency', '34.04', true, 'sp4n'),
    ('PEMDA-34.02', 'Pemerintah Kabupaten Bantul', 'regency', '34.02', true, 'sp4n'),
    ('PEMDA-35.07', 'Pemerintah Kabupaten Malang', 'regency', '35.07', true, 'sp4n'),
    ('PEMDA-35.73', 'Pemerintah Kota Malang', 'regency', '35.73', true, 'sp4n'),
    ('PEMDA-36.03', 'Pemerintah Kabupaten Tangerang', 'regency', '36.03', true, 'sp4n'),
    ('PEMDA-36.71', 'Pemerintah Kota Tangerang', 'regency', '36.71', true, 'sp4n'),
    ('PEMDA-36.74', 'Pemerintah Kota Tangerang Selatan', 'regency', '36.74', true, 'sp4n'),
    ('PEMDA-51.03', 'Pemerintah Kabupaten Badung', 'regency', '51.03', true, 'sp4n'),
    ('PEMDA-52.71', 'Pemerintah Kota Mataram', 'regency', '52.71', true, 'sp4n'),
    ('PEMDA-53.71', 'Pemerintah Kota Kupang', 'regency', '53.71', true, 'sp4n'),
    ('PEMDA-61.71', 'Pemerintah Kota Pontianak', 'regency', '61.71', true, 'sp4n'),
    ('PEMDA-63.71', 'Pemerintah Kota Banjarmasin', 'regency', '63.71', true, 'sp4n'),
    ('PEMDA-64.71', 'Pemerintah Kota Balikpapan', 'regency', '64.71', true, 'sp4n'),
    ('PEMDA-64.72', 'Pemerintah Kota Samarinda', 'regency', '64.72', true, 'sp4n'),
    ('PEMDA-71.71', 'Pemerintah Kota Manado', 'regency', '71.71', true, 'sp4n'),
    ('PEMDA-72.71', 'Pemerintah Kota Palu', 'regency', '72.71', true, 'sp4n'),
    ('PEMDA-74.71', 'Pemerintah Kota Kendari', 'regency', '74.71', true, 'sp4n'),
    ('PEMDA-81.71', 'Pemerintah Kota Ambon', 'regency', '81.71', true, 'sp4n'),
    ('PEMDA-91.71', 'Pemerintah Kota Jayapura', 'regency', '91.71', true, 'sp4n')
ON CONFLICT (agency_code) DO NOTHING;
UPDATE agencies a SET supervisor = p.name,
       contact_email = 'pengaduan@' || lower(replace(a.agency_code, '.', '-')) || '.go.id'
    FROM agencies p
    WHERE a.level = 'regency' AND a.supervisor IS NULL
      AND p.agency_code = 'PEMDA-' || split_part(a.region_code, '.', 1);

-- Health insurance complaints go to BPJS Kesehatan when the complaint is urgent: a priority
-- override of the health ministry rule (emergency care refused over BPJS membership).
INSERT INTO routing_rules (rule_id, category, region_prefix, agency_code, precedence, priority,
                           description)
VALUES ('health-urgent-bpjs', 'health', NULL, 'BPJS-KES', 100, 'urgent',
        'Urgent health complaints (care refused) go straight to BPJS Kesehatan');
INSERT INTO routing_rule_versions
    (rule_id, version, category, region_prefix, priority, agency_code, precedence, active,
     description, changed_by)
VALUES ('health-urgent-bpjs', 1, 'health', NULL, 'urgent', 'BPJS-KES', 100, true,
        'Urgent health complaints (care refused) go straight to BPJS Kesehatan', 'seed');

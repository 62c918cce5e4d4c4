-- Documents are kept sealed with the reporter's data key (AES-256-GCM, `DataKey.seal_bytes`):
-- `content` holds nonce | ciphertext and `key_id` names the key, so erasing the reporter
-- (deleting the key) makes the document unreadable. `sha256` is of the plain content.
-- Rows stored before this migration keep their plain content (key_id NULL) and stay
-- readable; only their digest is filled in here.
ALTER TABLE complaint_attachments
    ADD COLUMN key_id text,
    ADD COLUMN sha256 text;
UPDATE complaint_attachments SET sha256 = encode(sha256(content), 'hex')
    WHERE content IS NOT NULL AND sha256 IS NULL;

-- WhatsApp media downloaded while a conversation is still being built (Meta's media ids
-- expire after 7 days, so the bytes are fetched when the message arrives). Sealed under the
-- key of the sender's WhatsApp number; moved to complaint_attachments, sealed under the
-- reporter's key, when the complaint is filed; dropped after two days otherwise.
CREATE TABLE whatsapp_media (
    attachment_id text PRIMARY KEY,           -- whatsapp:<media id>
    wa_id         text NOT NULL,
    media_type    text NOT NULL,              -- sniffed from the content
    size_bytes    integer NOT NULL,
    sha256        text NOT NULL,
    key_id        text NOT NULL,
    content       bytea NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX whatsapp_media_received ON whatsapp_media (received_at);

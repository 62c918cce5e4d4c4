-- No readable trace of a citizen's number in the notifier (docs/personal-data.md).

-- 1. The ids of the WhatsApp messages we sent: a real wamid is base64 that encodes the
--    recipient's number. The sender now keeps a keyed hash of it (`Keystore.message_ref`,
--    HMAC under LAPOR_IDENTITY_KEY, the same as intake puts in WhatsAppStatusReported), which
--    SQL cannot compute: the plain ids are cleared. A late status for one of those messages
--    still finds its row by the notification id Meta echoes (biz_opaque_callback_data).
UPDATE notifications SET provider_message_id = NULL
    WHERE channel = 'whatsapp' AND provider_message_id IS NOT NULL;

-- 2. opt_outs, opt_out_requests and whatsapp_windows keep their rows: an opt-out must outlive
--    the data, and its address cannot be recomputed. New rows are keyed by an HMAC of the
--    address (`domain.rules.AddressDigests.keyed`, `k1:<hex>`); an old row (bare hex, the
--    unkeyed SHA-256) is found by its legacy digest and moved to the keyed one the next time
--    its address is looked up (`repository._rekey`). Windows older than 24 hours are of no
--    use: dropped now rather than kept under an unkeyed digest.
DELETE FROM whatsapp_windows WHERE last_inbound_at < now() - interval '24 hours';

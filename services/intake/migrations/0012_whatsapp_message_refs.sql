-- No WhatsApp message id (wamid) in the clear (docs/personal-data.md): a real wamid is base64
-- that encodes the sender's number. Intake now names a message by a keyed hash of its wamid
-- (`Keystore.message_ref`, HMAC under LAPOR_IDENTITY_KEY), which SQL cannot compute.

-- The inbox's processed ids are kept as they are: they lapse 8 days after processing
-- (`whatsapp_inbox.forget_expired`), and until then a message Meta delivers again is still
-- recognised by them (`store_messages` compares the plain wamid, without storing it).

-- A WhatsApp complaint's or addition's idempotency key (`whatsapp:<wamid>`) and an addition's
-- fingerprint (the wamid) only guard the handling of one inbox message, which the inbox
-- already dedups: cleared on the old rows. New rows hold `whatsapp:<ref>`.
UPDATE complaints SET idempotency_key = NULL WHERE idempotency_key LIKE 'whatsapp:%';
UPDATE complaint_updates SET idempotency_key = NULL, request_fingerprint = NULL
    WHERE idempotency_key LIKE 'whatsapp:%';

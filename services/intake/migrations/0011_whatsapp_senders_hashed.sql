-- No WhatsApp number in the clear (docs/personal-data.md): the WhatsApp tables name a sender
-- by a keyed hash (`adapters.whatsapp_inbox.sender_of`), and a conversation's draft is sealed
-- under the key of the sender's number, so erasing the number erases it.

-- Drafts and staged documents held the number (and the draft the citizen's answers) in the
-- clear: conversations open at the upgrade start over (a draft lives 24 hours at most).
DELETE FROM whatsapp_conversations;
ALTER TABLE whatsapp_conversations RENAME COLUMN wa_id TO sender;
ALTER TABLE whatsapp_conversations ALTER COLUMN draft TYPE text USING draft::text;
ALTER TABLE whatsapp_conversations ADD COLUMN language text;

DELETE FROM whatsapp_media;
ALTER TABLE whatsapp_media RENAME COLUMN wa_id TO sender;

-- The inbox's sender only counts a sender's messages of the last hour (the flood limit);
-- the message itself (kept until processed) carries the number. Old rows get a name of
-- their own: their senders are not counted together for the hour after the upgrade.
ALTER TABLE whatsapp_inbox RENAME COLUMN wa_id TO sender;
UPDATE whatsapp_inbox SET sender = 'before-0011:' || seq;

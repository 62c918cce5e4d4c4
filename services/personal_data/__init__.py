"""Personal data at rest and in flight: field-by-field sealing with per-reporter data keys
(`field_crypto`) and the key store that wraps them with rotatable master keys (`keystore`).
Deleting a reporter's keys erases them everywhere (crypto-shredding)."""

// Package pec reads, verifies, classifies and writes Italian certified e-mail (PEC)
// messages: transport envelopes (busta di trasporto), anomaly envelopes and every
// receipt kind (ricevute), following DPR 68/2005, DM 2 novembre 2005 and RFC 6109.
//
// Reading works on the raw bytes of a message, which are kept unaltered (they are
// legal evidence): MIME parts are located by offsets into those bytes, attachments
// are decoded and hashed in one pass while reading and decoded again only on demand
// (Attachment.Open), and the signed part of a multipart/signed message is taken byte
// for byte from the raw message. Malformed input never panics: what is still an
// e-mail message is read, and its defects are listed in Message.Problems.
//
// What the reader knows of PEC sits behind one small port (format.go: detect, then
// read into the common Message), so that ETSI REM evidence can be added as a second
// format (rem.md). It reads real providers' mail leniently and says so in Problems:
// unknown or non-standard X-Ricevuta values fall back to daticert.xml tipo and then
// to the provider's subject prefix (a signed message with a daticert.xml is never
// ordinary mail); daticert.xml with characters XML forbids is cleaned and read; a
// Subject header transcoded by a provider or prefixed by a list is not a conflict;
// a PEC message re-sent inside another message (a list manager) is found and read
// (Message.Rewrapped). Replies encrypted for the Comune (CMS enveloped-data) are
// opened with ReadOptions.DecryptionKeys, or reported as not opened.
//
// Signatures are reported, never enforced: Message.Signature.Status is valid,
// untrusted, invalid or absent, and callers decide. Providers' certificates are
// parsed once per process and their chains checked once per validity window
// (bounded caches); the verdicts are those of smallstep/pkcs7 and of openssl cms.
//
// The writing side (WriteEnvelope, WriteReceipt, Signer) produces the provider's
// messages; package compose writes the user's outgoing messages.
package pec

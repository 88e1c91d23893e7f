// Package pec reads, verifies, classifies and writes Italian certified e-mail (PEC)
// messages: transport envelopes (busta di trasporto), anomaly envelopes and every
// receipt kind (ricevute), following DPR 68/2005, DM 2 novembre 2005 and RFC 6109.
//
// Reading works on the raw bytes of a message, which are kept unaltered (they are
// legal evidence): MIME parts are located by offsets into those bytes, attachments
// are hashed while reading and decoded again only on demand (Attachment.Open), and
// the signed part of a multipart/signed message is taken byte for byte from the raw
// message. Malformed input never panics: what is still an e-mail message is read,
// and its defects are listed in Message.Problems.
//
// Signatures are reported, never enforced: Message.Signature.Status is valid,
// untrusted, invalid or absent, and callers decide.
//
// The writing side (WriteEnvelope, WriteReceipt, Signer) produces the provider's
// messages; package compose writes the user's outgoing messages.
package pec

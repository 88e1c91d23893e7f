package preflight

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/casellario-pec/casellario/shared/mailbox"
	"github.com/casellario-pec/casellario/shared/pec"
)

// Bounds of the search for a receipt to verify.
const (
	maxSamples    = 5       // most recent receipts or envelopes read
	maxSampleSize = 8 << 20 // larger messages are skipped (a receipt is a few KB)
)

func (c *checker) trustFix() string {
	if c.cfg.Local {
		return "the local run's trust store is the simulator's CA (endpoints.json's ca): restart `casellario dev`"
	}
	return "build it from AgID's current index of PEC providers: casellario trust build --from EXPORT --out <the deployment file's pecTrustFile>, then deploy (here: CASELLARIO_PEC_TRUST)"
}

// trustStore loads the PEC providers' certificates: how many, how many expired.
func (c *checker) trustStore(context.Context) Result {
	if c.cfg.TrustFile == "" {
		return fail("trust-store", "no trust store configured", c.trustFix())
	}
	data, err := os.ReadFile(c.cfg.TrustFile)
	if err != nil {
		return fail("trust-store", err.Error(), c.trustFix())
	}
	var total, expired, notYet int
	for rest := data; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return fail("trust-store", fmt.Sprintf("%s: certificate %d: %v", c.cfg.TrustFile, total+1, err), c.trustFix())
		}
		total++
		switch {
		case c.now.After(cert.NotAfter):
			expired++
		case c.now.Before(cert.NotBefore):
			notYet++
		}
	}
	if total == 0 {
		return fail("trust-store", c.cfg.TrustFile+" holds no certificate: no receipt can be verified, every one would wait in triage", c.trustFix())
	}
	if expired == total {
		what := fmt.Sprintf("all %d certificates are", total)
		if total == 1 {
			what = "its only certificate is"
		}
		return fail("trust-store", fmt.Sprintf("%s: %s expired: new receipts cannot be verified", c.cfg.TrustFile, what), c.trustFix())
	}
	pool, err := pec.ParseTrustStore(data)
	if err != nil {
		return fail("trust-store", err.Error(), c.trustFix())
	}
	c.trust = pool
	detail := fmt.Sprintf("%s: %s, %d expired", c.cfg.TrustFile, plural(total, "certificate"), expired)
	if expired > 0 {
		detail += " (kept to verify older messages: harmless)"
	}
	if notYet > 0 {
		detail += fmt.Sprintf(", %d not valid yet", notYet)
	}
	return ok("trust-store", detail)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// sample is one receipt or envelope read to check its signature.
type sample struct {
	folder string
	uid    uint32
	msg    *pec.Message
}

// trustProvider verifies the signature of the most recent PEC receipts in
// the mailbox (signed by the Comune's own provider) against the trust store;
// without any receipt, of the most recent envelopes (signed by their senders'
// providers). Folders are opened read-only and messages read with BODY.PEEK:
// nothing changes, not even \Seen.
func (c *checker) trustProvider(ctx context.Context) Result {
	switch {
	case c.mb == nil:
		return skip("trust-provider", "not checked: no IMAP session")
	case c.trust == nil:
		return skip("trust-provider", "not checked: no usable trust store")
	}
	folders := []string{"INBOX"}
	if c.cfg.Tenant.PEC.Dedicated() { // what poll handled sits in the archive
		folders = append(folders, c.cfg.Tenant.PEC.ArchiveFolder())
	}
	defer func() { _, _ = c.mb.Open(ctx, "INBOX", true) }()
	var samples []sample
	for _, field := range []string{"X-Ricevuta", "X-Trasporto"} {
		for _, f := range folders {
			got, err := c.samples(ctx, f, field)
			if err != nil {
				if f != "INBOX" && mailbox.Refused(err) {
					continue // the archive folder does not exist yet
				}
				return fail("trust-provider", err.Error(), "run doctor again; if it persists, ask the PEC provider")
			}
			samples = append(samples, got...)
		}
		if len(samples) > 0 {
			break
		}
	}
	var untrusted, invalid *sample
	for i := range samples {
		s := &samples[i]
		switch s.msg.Signature.Status {
		case pec.SignatureValid:
			return ok("trust-provider", fmt.Sprintf("%s UID %d (%s of %s) is signed by %q: valid against the trust store", s.folder, s.uid, s.msg.Kind, s.msg.Issuer, s.msg.Signature.Signer))
		case pec.SignatureUntrusted:
			if untrusted == nil {
				untrusted = s
			}
		case pec.SignatureInvalid:
			if invalid == nil {
				invalid = s
			}
		}
	}
	switch {
	case untrusted != nil:
		issuer := ""
		if cert := untrusted.msg.Signature.Certificate; cert != nil {
			issuer = cert.Issuer.CommonName
		}
		return fail("trust-provider", fmt.Sprintf("%s UID %d (%s of %s) is signed by %q, issued by %q, which the trust store does not hold: every receipt would wait in triage",
			untrusted.folder, untrusted.uid, untrusted.msg.Kind, untrusted.msg.Issuer, untrusted.msg.Signature.Signer, issuer), c.trustFix())
	case invalid != nil:
		return fail("trust-provider", fmt.Sprintf("%s UID %d (%s of %s): the signature is invalid: %s", invalid.folder, invalid.uid, invalid.msg.Kind, invalid.msg.Issuer, invalid.msg.Signature.Reason),
			"send one PEC from this mailbox (e.g. to itself) and run doctor again; if the new receipt is invalid too, ask the PEC provider")
	}
	return warn("trust-provider", fmt.Sprintf("no signed PEC receipt or envelope among the most recent in %s: the provider's signature could not be checked", strings.Join(folders, " and ")),
		"send one PEC from this mailbox (e.g. to itself, from the webmail) and run doctor again")
}

// samples reads the most recent messages of folder that have the header
// field (X-Ricevuta: receipts; X-Trasporto: envelopes), at most maxSamples,
// newest first.
func (c *checker) samples(ctx context.Context, folder, field string) ([]sample, error) {
	if _, err := c.mb.Open(ctx, folder, true); err != nil {
		return nil, err
	}
	uids, err := c.mb.SearchHeader(ctx, field, "")
	if err != nil {
		return nil, err
	}
	if len(uids) > maxSamples {
		uids = uids[len(uids)-maxSamples:]
	}
	sums, err := c.mb.Summaries(ctx, uids)
	if err != nil {
		return nil, err
	}
	var out []sample
	for i := len(sums) - 1; i >= 0; i-- {
		if sums[i].Size > maxSampleSize {
			continue
		}
		var raw bytes.Buffer
		err := c.mb.Fetch(ctx, sums[i].UID, func(r io.Reader) error {
			_, err := io.Copy(&raw, io.LimitReader(r, maxSampleSize))
			return err
		})
		if errors.Is(err, mailbox.ErrGone) {
			continue
		}
		if err != nil {
			return nil, err
		}
		msg, err := pec.Parse(raw.Bytes(), pec.ReadOptions{TrustStore: c.trust, Now: c.cfg.Now})
		if err != nil || msg.Signature.Status == pec.SignatureAbsent {
			continue // not a PEC message after all
		}
		out = append(out, sample{folder: folder, uid: sums[i].UID, msg: msg})
	}
	return out, nil
}

package pdf

import (
	"bytes"
	"context"
	"errors"
)

// IsPDF reports whether data starts like a PDF: "%PDF-" within its first
// 1024 bytes, where readers look for it.
func IsPDF(data []byte) bool {
	return bytes.Contains(data[:min(len(data), 1024)], []byte("%PDF-"))
}

// recoverPanics is off in the fuzz tests, so that a panic shows where it
// comes from.
var recoverPanics = true

// guard turns a panic into errInternal. It is the last resort: every input
// is meant to give a result or an error without it.
func guard(err *error) {
	if !recoverPanics {
		return
	}
	if r := recover(); r != nil {
		*err = errInternal
	}
}

// withDoc opens data and runs f on it; when f finds the cross-reference
// table wrong, the table is rebuilt from a scan of the file and f runs
// again, on the same budget.
func withDoc(ctx context.Context, data []byte, lim Limits, f func(*doc) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !IsPDF(data) {
		return notPDF("no PDF header")
	}
	b := newBudget(ctx, lim, len(data))
	d, err := open(b, data, false)
	if err == nil {
		err = f(d)
		if errors.Is(err, errBadXref) && !d.rebuilt {
			if d, err = open(b, data, true); err == nil {
				err = f(d)
			}
		}
	}
	if errors.Is(err, errBadXref) {
		err = notPDF("cross-reference table unusable")
	}
	if cerr := ctx.Err(); cerr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return cerr
	}
	return err
}

// open reads the cross-reference table (or rebuilds it) and checks that
// the document has a catalog and is not encrypted.
func open(b *budget, data []byte, rebuild bool) (*doc, error) {
	d := newDoc(b, data)
	var err error
	if !rebuild {
		err = d.loadXref()
		if err == nil {
			err = d.check()
		}
		if err == nil || (fatal(err) && !errors.Is(err, errBadXref)) || errors.Is(err, ErrEncrypted) {
			return d, err
		}
		d = newDoc(b, data)
	}
	if err := d.rebuild(); err != nil {
		return nil, err
	}
	return d, d.check()
}

func (d *doc) check() error {
	if d.trailer["Encrypt"] != nil {
		return ErrEncrypted
	}
	cat, err := d.catalog()
	if err != nil {
		return err
	}
	if pd, err := d.dictOf(cat["Pages"]); err != nil {
		return err
	} else if pd == nil {
		return notPDF("no page tree")
	}
	return nil
}

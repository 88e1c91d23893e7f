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

// Text returns the plain text of each page. A page whose content cannot be
// read gives ""; a content stream damaged part way gives the text before
// the damage, as a viewer shows what it drew. Words are separated by
// spaces and lines by newlines, from where the text is placed on the page.
//
// The error is ErrNotPDF (or ErrEncrypted) for data that cannot be read as
// a PDF, ErrLimit when a bound of lim was reached, ctx.Err() when the
// context ended; no pages are returned with an error.
func Text(ctx context.Context, data []byte, lim Limits) (pages []string, err error) {
	defer guard(&err)
	err = withDoc(ctx, data, lim, func(d *doc) error {
		t, err := d.pageTree()
		if err != nil {
			return err
		}
		x := &extractor{d: d, fonts: map[int]*font{}, forms: map[int]bool{}}
		out := make([]string, len(t.pages))
		for i, p := range t.pages {
			s, err := x.pageText(p)
			if err != nil {
				if fatal(err) {
					return within(err, "page %d", i+1)
				}
			}
			out[i] = s
		}
		pages = out
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pages, nil
}

// pageText interprets the content streams of a page.
func (x *extractor) pageText(p page) (string, error) {
	res, err := x.newResources(p.resources)
	if err != nil {
		return "", err
	}
	cv, err := x.d.resolveOK(p.dict["Contents"])
	if err != nil {
		return "", err
	}
	var parts []object
	switch c := cv.(type) {
	case *stream:
		parts = []object{c}
	case array:
		parts = c
	}
	// The streams of an array are one content stream cut in pieces: a
	// piece may end inside an operator, so they are read together.
	var content []byte
	for _, part := range parts {
		v, err := x.d.resolveOK(part)
		if err != nil {
			return "", err
		}
		s, ok := v.(*stream)
		if !ok {
			continue
		}
		data, err := x.d.decode(s)
		if err != nil {
			if fatal(err) {
				return "", err
			}
			continue
		}
		if len(parts) == 1 {
			content = data
			break
		}
		content = append(content, data...)
		content = append(content, '\n')
	}
	out := &textOut{b: x.d.b}
	err = x.run(content, res, identity, out)
	return out.String(), err
}

package pdf

import "context"

// Text returns the plain text of each page. A page whose content cannot be
// read gives ""; a content stream damaged part way gives the text before
// the damage, as a viewer shows what it drew. Words are separated by
// spaces and lines by newlines, from where the text is placed on the page.
//
// The error is ErrNotPDF (or ErrEncrypted) for data that cannot be read as
// a PDF, ErrLimit when a bound of lim was reached, ctx.Err() when the
// context ended; no pages are returned with an error.
func Text(ctx context.Context, data []byte, lim Limits) (pages []string, err error) {
	defer func() {
		if err != nil {
			pages = nil
		}
	}()
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

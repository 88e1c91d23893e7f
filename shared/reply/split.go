package reply

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

func init() {
	// pdfcpu would otherwise write its configuration under the user's
	// configuration directory (read-only in Lambda).
	api.DisableConfigDir()
}

// Part is the pages of a merged PDF that concern one person.
type Part struct {
	Person int   // index in the people given to NewWho
	Pages  []int // 1-based, ascending
	Text   string
}

// Assign groups the pages of a PDF by person: a page naming exactly one
// person is that person's; a page naming nobody belongs to the person of the
// page before it (a certificate running over two pages). It fails (ok=false)
// when a page names several people, when the first page names nobody, or when
// a person's pages are not contiguous: then the pages cannot be told apart.
func (w *Who) Assign(pages []string) (parts []Part, ok bool) {
	byPerson := map[int]int{} // person -> index in parts
	last := -1
	for i, text := range pages {
		who := w.InText(text)
		switch {
		case len(who) > 1:
			return nil, false
		case len(who) == 0:
			if last < 0 {
				return nil, false
			}
		default:
			p := who[0]
			if k, seen := byPerson[p]; seen && k != last {
				return nil, false
			} else if !seen {
				byPerson[p] = len(parts)
				parts = append(parts, Part{Person: p})
			}
			last = byPerson[p]
		}
		parts[last].Pages = append(parts[last].Pages, i+1)
		parts[last].Text += text + "\n"
	}
	return parts, len(parts) > 0
}

// Extract writes a PDF with only the given pages (1-based) of data.
func Extract(ctx context.Context, data []byte, pages []int) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("reply: splitting a PDF: %v", r)
		}
	}()
	sel := make([]string, len(pages))
	for i, p := range pages {
		sel[i] = strconv.Itoa(p)
	}
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	var b bytes.Buffer
	if err := api.Trim(bytes.NewReader(data), &b, []string{strings.Join(sel, ",")}, conf); err != nil {
		return nil, fmt.Errorf("reply: splitting a PDF: %w", err)
	}
	return b.Bytes(), nil
}

package reply

import (
	"context"

	"github.com/casellario-pec/casellario/shared/pdf"
)

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

// Extract writes a PDF with only the given pages (1-based) of data, with the
// same bounded reader as PDFPages.
func Extract(ctx context.Context, data []byte, pages []int) ([]byte, error) {
	return pdf.ExtractPages(ctx, data, pages, pdfLimits)
}

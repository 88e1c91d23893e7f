package pec

import "strings"

// readREM collects the X-REM-* header fields (ETSI REM, EN 319 532) that PEC
// providers already add to their messages.
func readREM(h Header) REMHeaders {
	var r REMHeaders
	for _, f := range h.Fields() {
		if len(f.Key) > 6 && strings.EqualFold(f.Key[:6], "X-REM-") {
			r.Fields = append(r.Fields, f)
			if strings.EqualFold(f.Key, "X-REM-Subject") && r.Subject == "" {
				r.Subject = decodeText(f.Value)
			}
		}
	}
	return r
}

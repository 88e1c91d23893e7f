package pectrust

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteReport prints one line per certificate (provider, subject, validity, status, whether it is in the
// trust store), the providers' problems and a summary.
func (r *Result) WriteReport(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tSUBJECT\tVALID FROM\tVALID UNTIL\tSTATUS\tIN STORE")
	for _, p := range r.Providers {
		for _, c := range p.Certs {
			in := "yes"
			if !c.Included {
				in = "NO"
			}
			status := string(c.Status)
			if c.Status == Expired || c.Status == HashMismatch {
				status = strings.ToUpper(status)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, c.Subject, c.NotBefore.UTC().Format("2006-01-02"),
				c.NotAfter.UTC().Format("2006-01-02"), status, in)
		}
		if len(p.Certs) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\tno readable certificate\tNO\n", p.Name)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range r.Providers {
		for _, pr := range p.Problems {
			fmt.Fprintf(w, "problem: %s: %s\n", p.Name, pr)
		}
	}
	_, err := fmt.Fprintf(w, "%d providers; %d certificates in the trust store; %d expired%s; %d rejected (hash mismatch); %d problems\n",
		len(r.Providers), r.Included, r.Expired, map[bool]string{true: " (kept)", false: " (left out)"}[r.Expired > 0 && r.keptExpired()], r.Rejected, r.Problems)
	return err
}

func (r *Result) keptExpired() bool {
	for _, p := range r.Providers {
		for _, c := range p.Certs {
			if c.Status == Expired && c.Included {
				return true
			}
		}
	}
	return false
}

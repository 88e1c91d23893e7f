package api

import (
	"bytes"
	"net/http"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/report"
)

// The turnaround and cost report of the protocol office's own Comune (see
// shared/report for what each figure means): JSON, or an Excel workbook.

// buildReport computes the report of u's Comune for ?from=&to= (YYYY-MM-DD,
// default the last 30 days). Errors are for users, in Italian.
func (h *Handler) buildReport(r *http.Request, u User) (report.Report, error) {
	q := r.URL.Query()
	from, to, err := report.Period(q.Get("from"), q.Get("to"), h.now())
	if err != nil {
		return report.Report{}, domain.Userf(domain.EINVALID,
			"Periodo non valido: indicare le date come AAAA-MM-GG, con «from» non successiva a «to».")
	}
	in, err := report.Gather(r.Context(), h.cfg.Store, h.cfg.Tenants, report.Query{From: from, To: to, Tenants: []string{u.Tenant},
		Now: h.now(), OverdueAfter: h.cfg.OverdueAfter})
	if err != nil {
		return report.Report{}, err
	}
	if h.cfg.Usage != nil {
		start, end := report.Bounds(from, to)
		if now := h.now(); end.After(now) {
			end = now
		}
		if start.Before(end) {
			if in.Usage, err = h.cfg.Usage(r.Context(), start, end); err != nil {
				// The figures stand without the cost; the basis says why.
				h.log.WarnContext(r.Context(), "api: report: usage not available", "err", err)
				in.Usage = nil
			}
		}
	}
	return report.Compute(in), nil
}

func (h *Handler) getReportJSON(w http.ResponseWriter, r *http.Request, u User) {
	rep, err := h.buildReport(r, u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (h *Handler) getReportXLSX(w http.ResponseWriter, r *http.Request, u User) {
	rep, err := h.buildReport(r, u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := ReportWorkbook(rep)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="tempi-e-costi-`+rep.From+`-`+rep.To+`.xlsx"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// Sheets and headers of the report workbook.
const (
	ReportSheet         = "Uffici"
	ReportFailuresSheet = "Motivi"
)

// ReportHeader is the header row of the offices sheet (row 6: above it the
// Comune, the period and the cost).
var ReportHeader = []string{"Ufficio", "Codice", "Richieste inviate", "Persone",
	"Caricamento → invio: mediana (ore)", "Caricamento → invio: 90° percentile (ore)",
	"Invio → consegna: mediana (ore)", "Invio → consegna: 90° percentile (ore)",
	"Invio → risposta: mediana (ore)", "Invio → risposta: 90° percentile (ore)",
	"Caricamento → certificato: mediana (ore)", "Caricamento → certificato: 90° percentile (ore)",
	"Richieste in ritardo", "Richieste non riuscite"}

// ReportFailuresHeader is the header row of the reasons sheet.
var ReportFailuresHeader = []string{"Comune", "Ufficio", "Codice motivo", "Motivo", "Richieste", "Persone"}

// ReportWorkbook writes the report as an Excel workbook: the offices of every
// Comune on one sheet (dates as dates, hours as numbers, no value as an
// empty cell), the failures by reason on another.
func ReportWorkbook(rep report.Report) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", ReportSheet); err != nil {
		return nil, err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("dd/mm/yyyy")})
	if err != nil {
		return nil, err
	}
	set := func(sheet, cell string, v any) {
		if err == nil {
			err = f.SetCellValue(sheet, cell, v)
		}
	}
	row := func(sheet string, n int, vals []any) {
		if err == nil {
			cell, _ := excelize.CoordinatesToCellName(1, n)
			err = f.SetSheetRow(sheet, cell, &vals)
		}
	}
	from, _ := time.Parse(time.DateOnly, rep.From)
	to, _ := time.Parse(time.DateOnly, rep.To)
	set(ReportSheet, "A1", "Tempi e costi delle richieste al casellario")
	set(ReportSheet, "A2", "Dal")
	set(ReportSheet, "B2", from)
	set(ReportSheet, "A3", "Al")
	set(ReportSheet, "B3", to)
	set(ReportSheet, "A4", "Costo stimato per richiesta (€)")
	if rep.Cost.PerRequestEUR != nil {
		set(ReportSheet, "B4", *rep.Cost.PerRequestEUR)
	}
	set(ReportSheet, "C4", rep.Cost.Basis)
	if err != nil {
		return nil, err
	}
	for _, c := range []string{"B2", "B3"} {
		if err := f.SetCellStyle(ReportSheet, c, c, dateStyle); err != nil {
			return nil, err
		}
	}
	hdr := append([]any{"Comune"}, anySlice(ReportHeader)...)
	row(ReportSheet, 6, hdr)
	if _, e := f.NewSheet(ReportFailuresSheet); e != nil && err == nil {
		err = e
	}
	row(ReportFailuresSheet, 1, anySlice(ReportFailuresHeader))
	n, fn := 7, 2
	hours := func(p report.Percentiles) []any {
		out := []any{nil, nil}
		if p.P50 != nil {
			out[0] = *p.P50
		}
		if p.P90 != nil {
			out[1] = *p.P90
		}
		return out
	}
	for _, t := range rep.Tenants {
		name := t.TenantName
		if name == "" {
			name = t.Tenant
		}
		for _, o := range t.Offices {
			vals := []any{name, o.OfficeName, o.Office, o.Requests, o.People}
			for _, p := range []report.Percentiles{o.Turnaround.UploadToSent, o.Turnaround.SentToDelivered, o.Turnaround.SentToReply, o.Turnaround.UploadToCertified} {
				vals = append(vals, hours(p)...)
			}
			vals = append(vals, o.Overdue, o.Failed)
			row(ReportSheet, n, vals)
			n++
			for _, fl := range o.Failures {
				row(ReportFailuresSheet, fn, []any{name, o.Office, string(fl.Code), fl.Text, fl.Requests, fl.People})
				fn++
			}
		}
	}
	if err != nil {
		return nil, err
	}
	for _, s := range []struct {
		sheet, from, to string
	}{{ReportSheet, "A6", "O6"}, {ReportFailuresSheet, "A1", "F1"}, {ReportSheet, "A1", "A4"}} {
		if err := f.SetCellStyle(s.sheet, s.from, s.to, bold); err != nil {
			return nil, err
		}
	}
	if err := f.SetColWidth(ReportSheet, "A", "O", 18); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

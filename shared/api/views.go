package api

import (
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/trace"
)

// The JSON the page reads. Every state, outcome and event comes with its
// Italian words (shared/trace), so that the page, the e-mails and the CLI
// say the same thing; codes stay for programs.

type uploadView struct {
	ID         string             `json:"id"`
	Office     string             `json:"office"`
	OfficeName string             `json:"office_name"`
	State      domain.UploadState `json:"state"`
	StateLabel string             `json:"state_label"`
	Counts     domain.Counts      `json:"counts"`
	UploadedBy string             `json:"uploaded_by"`
	FileName   string             `json:"file_name"`
	Reason     string             `json:"reason"` // in Italian, for the clerk
	Code       domain.ReasonCode  `json:"reason_code,omitempty"`
	Detail     string             `json:"reason_detail"` // as recorded (English)
	HasReport  bool               `json:"has_report"`
	Protocol   *protocolView      `json:"protocol,omitempty"` // the number the protocol office gave by hand
	CreatedAt  time.Time          `json:"created_at"`
	UpdatedAt  time.Time          `json:"updated_at"`
}

func (h *Handler) viewUpload(u domain.Upload) uploadView {
	v := uploadView{ID: u.ID, Office: u.Office, OfficeName: h.officeName(u.Tenant, u.Office), State: u.State,
		StateLabel: trace.UploadStateText(u.State), Counts: u.Counts, UploadedBy: u.UploadedBy, FileName: u.FileName,
		Reason: u.Reason.Italian(), Code: u.Reason.Code, Detail: u.Reason.Detail, HasReport: u.ReportKey != "",
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if u.Protocol != nil {
		p := viewProtocol(*u.Protocol)
		v.Protocol = &p
	}
	return v
}

type protocolView struct {
	Number string `json:"number"`
	Date   string `json:"date"`
	Text   string `json:"text"` // «prot. n. 0000012 del 02/12/2026»; "" before registration
}

func viewProtocol(p domain.Protocol) protocolView {
	return protocolView{p.Number, p.Date.String(), trace.ProtocolText(p)}
}

type batchView struct {
	ID         string            `json:"id"`
	Office     string            `json:"office"`
	OfficeName string            `json:"office_name"`
	State      domain.BatchState `json:"state"`
	StateLabel string            `json:"state_label"`
	Protocol   protocolView      `json:"protocol"`
	MessageID  string            `json:"message_id"`
	People     int               `json:"people"`
	Reason     string            `json:"reason"` // in Italian, for the clerk
	Code       domain.ReasonCode `json:"reason_code,omitempty"`
	Detail     string            `json:"reason_detail"` // as recorded (English), for the help desk
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

func (h *Handler) viewBatch(b domain.Batch) batchView {
	return batchView{ID: b.ID, Office: b.Office, OfficeName: h.officeName(b.Tenant, b.Office), State: b.State,
		StateLabel: trace.BatchStateText(b.State), Protocol: viewProtocol(b.Protocol), MessageID: b.MessageID, People: len(b.People),
		Reason: b.Reason.Italian(), Code: b.Reason.Code, Detail: b.Reason.Detail, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt}
}

// listRequestView is a request some people of a list went in.
type listRequestView struct {
	batchView
	FromList int `json:"from_list"` // how many of its people came from the list shown
}

// listView is a list a request's people came from.
type listView struct {
	ID        string    `json:"id"`
	FileName  string    `json:"file_name"`
	CreatedAt time.Time `json:"created_at"`
}

// personView is one person of an upload or batch, for the clerk who asked.
type personView struct {
	ID          string              `json:"id"` // subject id: <upload>-<row>
	Upload      string              `json:"upload"`
	Row         int                 `json:"row"`
	Surname     string              `json:"surname"`
	Name        string              `json:"name"`
	FiscalCode  string              `json:"fiscal_code"`
	State       domain.PersonState  `json:"state"`
	StateLabel  string              `json:"state_label"`
	Batch       string              `json:"batch"`
	Reason      string              `json:"reason"` // in Italian, for the clerk
	Code        domain.ReasonCode   `json:"reason_code,omitempty"`
	Detail      string              `json:"reason_detail"` // as recorded (English)
	Certificate *certificateSummary `json:"certificate"`
	Warning     string              `json:"warning,omitempty"` // Italian: requested or certified for the same office a short while ago
}

type certificateSummary struct {
	Outcome      domain.Outcome `json:"outcome"`
	OutcomeLabel string         `json:"outcome_label"` // «nulla», «con iscrizioni», «da leggere»
	OutcomeHelp  string         `json:"outcome_help"`  // what it means, one sentence
	ReceivedAt   time.Time      `json:"received_at"`
}

func viewPeople(subjects []domain.Subject) []personView {
	out := make([]personView, 0, len(subjects))
	for _, s := range subjects {
		p := personView{ID: s.ID, Upload: s.Upload, Row: s.Row, Surname: s.Person.Surname, Name: s.Person.Name,
			FiscalCode: s.Person.FiscalCode, State: s.State, StateLabel: trace.PersonStateText(s.State), Batch: s.Batch,
			Reason: s.Reason.Italian(), Code: s.Reason.Code, Detail: s.Reason.Detail, Warning: s.Warning}
		if c := s.Certificate; c != nil {
			p.Certificate = &certificateSummary{c.Outcome, trace.OutcomeText(c.Outcome), trace.OutcomeHelp(c.Outcome), c.ReceivedAt}
		}
		out = append(out, p)
	}
	return out
}

type eventView struct {
	At     time.Time       `json:"at"`
	State  string          `json:"state"`
	Note   domain.NoteCode `json:"note,omitempty"`
	Text   string          `json:"text"`   // Italian, for the clerk
	Detail string          `json:"detail"` // English, for operators
	About  string          `json:"about,omitempty"`
}

func viewEvents(evs []trace.Event) []eventView {
	out := make([]eventView, 0, len(evs))
	for _, e := range evs {
		out = append(out, eventView{e.At, e.State, e.Note, e.Text, e.Detail, e.About})
	}
	return out
}

// officeName is an office's name as the tenants file gives it (its code
// when the file does not know it).
func (h *Handler) officeName(tenant, office string) string {
	if _, o, err := h.cfg.Tenants.Office(tenant, office); err == nil && o.Name != "" {
		return o.Name
	}
	return office
}

package store

import (
	"encoding/json"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// The item types: the attribute names are part of the table's format.

type uploadItem struct {
	PK            string    `dynamodbav:"pk"`
	SK            string    `dynamodbav:"sk"`
	Type          string    `dynamodbav:"type"`
	GSI1PK        string    `dynamodbav:"gsi1pk,omitempty"`
	GSI1SK        string    `dynamodbav:"gsi1sk,omitempty"`
	GSI2PK        string    `dynamodbav:"gsi2pk,omitempty"`
	GSI2SK        string    `dynamodbav:"gsi2sk,omitempty"`
	ID            string    `dynamodbav:"id"`
	Tenant        string    `dynamodbav:"tenant"`
	Office        string    `dynamodbav:"office"`
	Key           string    `dynamodbav:"key"`
	ObjectVersion string    `dynamodbav:"object_version,omitempty"`
	SHA256        string    `dynamodbav:"sha256,omitempty"` // empty until the object of a presigned upload is read
	UploadedBy    string    `dynamodbav:"uploaded_by,omitempty"`
	FileName      string    `dynamodbav:"file_name,omitempty"`
	State         string    `dynamodbav:"state"`
	Rows          int       `dynamodbav:"rows"`
	Valid         int       `dynamodbav:"valid"`
	Invalid       int       `dynamodbav:"invalid"`
	Duplicates    int       `dynamodbav:"duplicates"`
	ReportKey     string    `dynamodbav:"report_key,omitempty"`
	Number        string    `dynamodbav:"protocol_number,omitempty"` // manual protocol
	Date          string    `dynamodbav:"protocol_date,omitempty"`   // YYYY-MM-DD
	Reason        string    `dynamodbav:"reason,omitempty"`          // the reason's detail
	ReasonCode    string    `dynamodbav:"reason_code,omitempty"`
	CreatedAt     time.Time `dynamodbav:"created_at"`
	UpdatedAt     time.Time `dynamodbav:"updated_at"`
	Cause         string    `dynamodbav:"cause"`  // of the last state change
	Detail        string    `dynamodbav:"detail"` // of the last state change
	Ver           int64     `dynamodbav:"ver"`
	TTL           int64     `dynamodbav:"ttl,omitempty"`
}

func (it uploadItem) domain() domain.Upload {
	var manual *domain.Protocol
	if it.Number != "" {
		manual = &domain.Protocol{Number: it.Number, Date: parseDate(it.Date)}
	}
	return domain.Upload{Protocol: manual,
		ID: it.ID, Tenant: it.Tenant, Office: it.Office, Key: it.Key, ObjectVersion: it.ObjectVersion,
		SHA256: it.SHA256, UploadedBy: it.UploadedBy, FileName: it.FileName, State: domain.UploadState(it.State),
		Counts:    domain.Counts{Rows: it.Rows, Valid: it.Valid, Invalid: it.Invalid, Duplicates: it.Duplicates},
		ReportKey: it.ReportKey, Reason: reasonOf(it.ReasonCode, it.Reason), CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, Version: it.Ver,
	}
}

type subjectItem struct {
	PK        string    `dynamodbav:"pk"`
	SK        string    `dynamodbav:"sk"`
	Type      string    `dynamodbav:"type"`
	Tenant    string    `dynamodbav:"tenant"`
	Office    string    `dynamodbav:"office"`
	Upload    string    `dynamodbav:"upload"`
	Row       int       `dynamodbav:"row"`
	Person    string    `dynamodbav:"person"` // JSON of domain.Person: the only personal data in the table
	State     string    `dynamodbav:"state"`
	Batch     string    `dynamodbav:"batch,omitempty"`
	Cert      string    `dynamodbav:"certificate,omitempty"` // JSON of domain.Certificate
	Cands     string    `dynamodbav:"candidates,omitempty"`  // JSON of []domain.Certificate
	Reason    string    `dynamodbav:"reason,omitempty"`
	Code      string    `dynamodbav:"reason_code,omitempty"`
	Attempts  int       `dynamodbav:"attempts,omitempty"` // transport failures
	Warning   string    `dynamodbav:"warning,omitempty"`
	UpdatedAt time.Time `dynamodbav:"updated_at"`
	Cause     string    `dynamodbav:"cause,omitempty"`
	Ver       int64     `dynamodbav:"ver"`
	TTL       int64     `dynamodbav:"ttl,omitempty"`
}

func (it subjectItem) domain() (domain.Subject, error) {
	s := domain.Subject{
		ID: domain.SubjectID(it.Upload, it.Row), Tenant: it.Tenant, Office: it.Office, Upload: it.Upload,
		Row: it.Row, State: domain.PersonState(it.State), Batch: it.Batch, Reason: reasonOf(it.Code, it.Reason),
		Attempts: it.Attempts, Warning: it.Warning, UpdatedAt: it.UpdatedAt, Version: it.Ver,
	}
	if err := json.Unmarshal([]byte(it.Person), &s.Person); err != nil {
		return s, internal(err, "decoding subject %s", s.ID)
	}
	if it.Cert != "" {
		s.Certificate = new(domain.Certificate)
		if err := json.Unmarshal([]byte(it.Cert), s.Certificate); err != nil {
			return s, internal(err, "decoding certificate of subject %s", s.ID)
		}
	}
	if it.Cands != "" {
		if err := json.Unmarshal([]byte(it.Cands), &s.Candidates); err != nil {
			return s, internal(err, "decoding candidate certificates of subject %s", s.ID)
		}
	}
	return s, nil
}

type batchItem struct {
	PK        string    `dynamodbav:"pk"`
	SK        string    `dynamodbav:"sk"`
	Type      string    `dynamodbav:"type"`
	GSI1PK    string    `dynamodbav:"gsi1pk"`
	GSI1SK    string    `dynamodbav:"gsi1sk"`
	GSI2PK    string    `dynamodbav:"gsi2pk"`
	GSI2SK    string    `dynamodbav:"gsi2sk"`
	ID        string    `dynamodbav:"id"`
	Tenant    string    `dynamodbav:"tenant"`
	Office    string    `dynamodbav:"office"`
	State     string    `dynamodbav:"state"`
	Number    string    `dynamodbav:"protocol_number,omitempty"`
	Date      string    `dynamodbav:"protocol_date,omitempty"`     // YYYY-MM-DD
	Register  string    `dynamodbav:"protocol_register,omitempty"` // the built-in register's code
	MessageID string    `dynamodbav:"message_id,omitempty"`
	People    []string  `dynamodbav:"people"`
	Reason    string    `dynamodbav:"reason,omitempty"`
	Code      string    `dynamodbav:"reason_code,omitempty"`
	Attempts  int       `dynamodbav:"send_attempts,omitempty"`
	LastSend  time.Time `dynamodbav:"last_send_attempt,omitempty"`
	CreatedAt time.Time `dynamodbav:"created_at"`
	UpdatedAt time.Time `dynamodbav:"updated_at"` // of the last state change
	Cause     string    `dynamodbav:"cause"`      // of the last state change
	Detail    string    `dynamodbav:"detail"`     // of the last state change
	Ver       int64     `dynamodbav:"ver"`
	TTL       int64     `dynamodbav:"ttl,omitempty"`
}

func (it batchItem) domain() domain.Batch {
	b := domain.Batch{
		ID: it.ID, Tenant: it.Tenant, Office: it.Office, State: domain.BatchState(it.State),
		MessageID: it.MessageID, People: it.People, Reason: reasonOf(it.Code, it.Reason),
		SendAttempts: it.Attempts, LastSendAttempt: it.LastSend,
		CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, Version: it.Ver,
	}
	if b.People == nil {
		b.People = []string{}
	}
	b.Protocol = domain.Protocol{Number: it.Number, Date: parseDate(it.Date), Register: it.Register}
	if it.TTL > 0 {
		b.ExpiresAt = time.Unix(it.TTL, 0).UTC()
	}
	return b
}

type eventItem struct {
	PK     string    `dynamodbav:"pk"`
	SK     string    `dynamodbav:"sk"`
	Type   string    `dynamodbav:"type"`
	About  string    `dynamodbav:"about,omitempty"`
	At     time.Time `dynamodbav:"at"`
	State  string    `dynamodbav:"state"`
	Note   string    `dynamodbav:"note,omitempty"`
	Detail string    `dynamodbav:"detail"`
	Cause  string    `dynamodbav:"cause"`
	TTL    int64     `dynamodbav:"ttl,omitempty"`
}

type msgItem struct {
	PK    string `dynamodbav:"pk"`
	SK    string `dynamodbav:"sk"`
	Type  string `dynamodbav:"type"`
	Batch string `dynamodbav:"batch"`
	TTL   int64  `dynamodbav:"ttl,omitempty"`
}

type entryItem struct {
	PK       string    `dynamodbav:"pk"`
	SK       string    `dynamodbav:"sk"`
	Type     string    `dynamodbav:"type"`
	GSI1PK   string    `dynamodbav:"gsi1pk"`
	GSI1SK   string    `dynamodbav:"gsi1sk"`
	Number   int64     `dynamodbav:"number"`
	Batch    string    `dynamodbav:"batch"`
	Date     string    `dynamodbav:"date"`
	At       time.Time `dynamodbav:"at"`
	Cause    string    `dynamodbav:"cause"`
	Annulled bool      `dynamodbav:"annulled,omitempty"`
	Note     string    `dynamodbav:"note,omitempty"`
}

type leaseItem struct {
	Owner   string `dynamodbav:"owner"`
	Expires int64  `dynamodbav:"expires"` // Unix milliseconds
	Token   int64  `dynamodbav:"token"`
}

type cursorItem struct {
	PK          string    `dynamodbav:"pk"`
	SK          string    `dynamodbav:"sk"`
	Type        string    `dynamodbav:"type"`
	Tenant      string    `dynamodbav:"tenant"`
	Mailbox     string    `dynamodbav:"mailbox"`
	UIDValidity uint32    `dynamodbav:"uidvalidity"`
	LastUID     uint32    `dynamodbav:"last_uid"`
	UpdatedAt   time.Time `dynamodbav:"updated_at"`
	Ver         int64     `dynamodbav:"ver"`
}

// reasonOf reads a stored reason; a detail recorded without a code (items
// written before codes existed) reads as ReasonOther.
func reasonOf(code, detail string) domain.Reason {
	if code == "" && detail != "" {
		code = string(domain.ReasonOther)
	}
	return domain.Reason{Code: domain.ReasonCode(code), Detail: detail}
}

// parseDate reads a stored YYYY-MM-DD date; anything else is the zero date.
func parseDate(s string) domain.Date {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return domain.DateOf(t)
	}
	return domain.Date{}
}

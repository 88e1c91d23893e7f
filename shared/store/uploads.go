package store

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/casellario-pec/casellario/shared/domain"
)

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// CreateUpload stores a new upload in state received (see domain.UploadStore).
func (s *Dynamo) CreateUpload(ctx context.Context, u domain.Upload, cause domain.Cause) (domain.Upload, error) {
	for _, err := range []error{checkCode("tenant", u.Tenant), checkCode("office", u.Office), checkID("upload", u.ID), checkCause(cause)} {
		if err != nil {
			return domain.Upload{}, err
		}
	}
	switch {
	case u.Key == "":
		return domain.Upload{}, domain.Errorf(domain.EINVALID, "upload %s: a key is required", u.ID)
	case u.SHA256 == "" && u.ObjectVersion != "":
		return domain.Upload{}, domain.Errorf(domain.EINVALID, "upload %s: an object version without its SHA-256", u.ID)
	case u.SHA256 != "" && !sha256RE.MatchString(u.SHA256):
		return domain.Upload{}, domain.Errorf(domain.EINVALID, "upload %s: the SHA-256 must be lowercase hex", u.ID)
	}
	now := s.now()
	it := uploadItem{
		PK: uploadPK(u.Tenant, u.ID), SK: skUpload, Type: "upload",
		GSI1PK: receivedPK(u.Tenant), GSI1SK: created(now, u.ID), // until taken in (ReceivedUploads)
		GSI2PK: uploadsPK(u.Tenant, u.Office), GSI2SK: created(now, u.ID),
		ID: u.ID, Tenant: u.Tenant, Office: u.Office, Key: u.Key, ObjectVersion: u.ObjectVersion, SHA256: u.SHA256,
		UploadedBy: u.UploadedBy, FileName: u.FileName, State: string(domain.UploadReceived), CreatedAt: now, UpdatedAt: now,
		Cause: string(cause), Detail: "list received", Ver: 1,
	}
	if u.Protocol != nil {
		if !domain.ValidProtocolNumber(u.Protocol.Number) || u.Protocol.Date.IsZero() {
			return domain.Upload{}, domain.Errorf(domain.EINVALID, "upload %s: protocol number %q: want 7 or more digits and a date", u.ID, u.Protocol.Number)
		}
		it.Number, it.Date = u.Protocol.Number, u.Protocol.Date.String()
	}
	ok, err := s.putNew(ctx, it)
	if err != nil {
		return domain.Upload{}, err
	}
	if !ok {
		// Into a fresh item: attributes the stored one lacks must read empty.
		var cur uploadItem
		if _, err := s.getItem(ctx, it.PK, it.SK, &cur); err != nil {
			return domain.Upload{}, err
		}
		it = cur
		if it.Office != u.Office || it.Key != u.Key || (u.SHA256 != "" && it.SHA256 != "" && it.SHA256 != u.SHA256) {
			return domain.Upload{}, domain.Errorf(domain.ECONFLICT, "upload %s exists for another object", u.ID)
		}
		needSHA := it.SHA256 == "" && u.SHA256 != ""
		needVer := it.ObjectVersion == "" && u.ObjectVersion != ""
		switch {
		case u.SHA256 == "":
			// The record made before its object, asked for again: it stands.
		case it.ObjectVersion != "" && it.ObjectVersion != u.ObjectVersion:
			return domain.Upload{}, domain.Errorf(domain.ECONFLICT, "upload %s exists for another object version", u.ID)
		case needSHA || needVer:
			// Recorded before its object existed (by the API or the CLI; a
			// presigned upload without even its SHA-256): now it does.
			up := update{pk: it.PK, sk: it.SK,
				cond: "(attribute_not_exists(object_version) OR object_version = :empty OR object_version = :v) AND " +
					"(attribute_not_exists(sha256) OR sha256 = :empty OR sha256 = :sha)",
				values: map[string]types.AttributeValue{":v": str(u.ObjectVersion), ":sha": str(u.SHA256), ":empty": str("")}}
			var set []string
			if needVer {
				set = append(set, "object_version = :v")
			}
			if needSHA {
				set = append(set, "sha256 = :sha")
			}
			up.expr = "SET " + strings.Join(set, ", ")
			var out uploadItem
			ok, err := s.update(ctx, up, &out)
			if err != nil {
				return domain.Upload{}, err
			}
			if !ok {
				return domain.Upload{}, domain.Errorf(domain.ECONFLICT, "upload %s exists for another object or version", u.ID)
			}
			it = out
		}
	}
	return it.domain(), s.fileUploadEvent(ctx, it, it.State)
}

// fileUploadEvent (re-)files the event of the last change of an upload.
func (s *Dynamo) fileUploadEvent(ctx context.Context, it uploadItem, state string) error {
	return s.fileEvent(ctx, domain.Event{Tenant: it.Tenant, Subject: it.ID, At: it.UpdatedAt, State: state,
		Detail: it.Detail, Cause: domain.Cause(it.Cause)}, it.TTL)
}

// GetUpload returns an upload by id.
func (s *Dynamo) GetUpload(ctx context.Context, tenant, id string) (domain.Upload, error) {
	it, err := s.getUpload(ctx, tenant, id)
	return it.domain(), err
}

func (s *Dynamo) getUpload(ctx context.Context, tenant, id string) (uploadItem, error) {
	var it uploadItem
	if err := checkCode("tenant", tenant); err != nil {
		return it, err
	}
	if !domain.ValidID(id) {
		return it, domain.Errorf(domain.ENOTFOUND, "upload %q not found", id)
	}
	return getExisting[uploadItem](ctx, s, uploadPK(tenant, id), skUpload, "upload %s not found", id)
}

// ListUploads returns the uploads of an office, newest first.
func (s *Dynamo) ListUploads(ctx context.Context, tenant, office string, limit int) ([]domain.Upload, error) {
	return s.uploadsBefore(ctx, tenant, office, "", limit)
}

// UploadsBefore returns the uploads of an office created before cursor, newest first.
func (s *Dynamo) UploadsBefore(ctx context.Context, tenant, office, cursor string, limit int) ([]domain.Upload, error) {
	if err := checkCursor(cursor); err != nil {
		return nil, err
	}
	return s.uploadsBefore(ctx, tenant, office, cursor, limit)
}

func (s *Dynamo) uploadsBefore(ctx context.Context, tenant, office, cursor string, limit int) ([]domain.Upload, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	if err := checkCode("office", office); err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{
		IndexName:                 aws.String(IndexGSI2),
		KeyConditionExpression:    aws.String("gsi2pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(uploadsPK(tenant, office))},
		ScanIndexForward:          aws.Bool(false),
	}
	if cursor != "" {
		in.KeyConditionExpression = aws.String("gsi2pk = :pk AND gsi2sk < :before")
		in.ExpressionAttributeValues[":before"] = str(cursor)
	}
	if limit > 0 {
		in.Limit = aws.Int32(int32(limit))
	}
	var out []domain.Upload
	err := queryItems(ctx, s, in, limit, "uploads", upTo(&out, limit, nil, uploadItem.domain))
	return out, err
}

// ReceivedUploads returns the uploads still received, oldest first.
func (s *Dynamo) ReceivedUploads(ctx context.Context, tenant string, limit int) ([]domain.Upload, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{
		IndexName:                 aws.String(IndexGSI1),
		KeyConditionExpression:    aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(receivedPK(tenant))},
	}
	if limit > 0 {
		in.Limit = aws.Int32(int32(limit))
	}
	var out []domain.Upload
	// The index is eventually consistent: skip what moved on meanwhile.
	stillReceived := func(it uploadItem) bool { return it.State == string(domain.UploadReceived) }
	err := queryItems(ctx, s, in, limit, "uploads", upTo(&out, limit, stillReceived, uploadItem.domain))
	return out, err
}

// PutSubjects writes the validated people of a received upload as pending.
func (s *Dynamo) PutSubjects(ctx context.Context, tenant, upload string, people []domain.Subject) error {
	u, err := s.getUpload(ctx, tenant, upload)
	if err != nil {
		return err
	}
	if u.State != string(domain.UploadReceived) {
		return domain.Errorf(domain.ECONFLICT, "upload %s is %s: subjects are written only while it is received", upload, u.State)
	}
	now := s.now()
	seen := make(map[int]bool, len(people))
	reqs := make([]types.WriteRequest, 0, len(people))
	for _, p := range people {
		if p.Row < 1 || seen[p.Row] {
			return domain.Errorf(domain.EINVALID, "upload %s: row %d is not positive or repeated", upload, p.Row)
		}
		seen[p.Row] = true
		person, err := json.Marshal(p.Person)
		if err != nil {
			return internal(err, "encoding a subject")
		}
		av, err := attributevalue.MarshalMap(subjectItem{
			PK: uploadPK(tenant, upload), SK: subjectSK(p.Row), Type: "subject", Tenant: tenant, Office: u.Office,
			Upload: upload, Row: p.Row, Person: string(person), State: string(domain.PersonPending), Warning: p.Warning, UpdatedAt: now, Ver: 1,
		})
		if err != nil {
			return internal(err, "encoding a subject")
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
	}
	// Unconditional batch writes are safe here: nobody else sees these items
	// until the upload is queued, and a re-run writes the same content.
	for len(reqs) > 0 {
		n := min(25, len(reqs))
		if err := s.batchWrite(ctx, reqs[:n]); err != nil {
			return err
		}
		reqs = reqs[n:]
	}
	return nil
}

// batchWrite writes up to 25 requests, retrying the unprocessed ones.
func (s *Dynamo) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for attempt := 0; len(reqs) > 0; attempt++ {
		if attempt > 0 {
			if attempt > 8 {
				return domain.Errorf(domain.EINTERNAL, "batch write: %d items still unprocessed after retries", len(reqs))
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(25<<attempt) * time.Millisecond):
			}
		}
		res, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{*s.table: reqs},
		})
		if err != nil {
			return internal(err, "batch write")
		}
		reqs = res.UnprocessedItems[*s.table]
	}
	return nil
}

// AdvanceUpload changes the state of an upload (see domain.UploadStore).
func (s *Dynamo) AdvanceUpload(ctx context.Context, tenant, id string, to domain.UploadState, counts *domain.Counts, reportKey string, reason domain.Reason, cause domain.Cause) (domain.Upload, error) {
	if err := checkCause(cause); err != nil {
		return domain.Upload{}, err
	}
	if to == domain.UploadRejected && !reason.Code.Known() {
		return domain.Upload{}, domain.Errorf(domain.EINVALID, "upload %s: a reason is required to reject it", id)
	}
	it, err := s.getUpload(ctx, tenant, id)
	if err != nil {
		return domain.Upload{}, err
	}
	if it.State == string(to) {
		return it.domain(), s.fileUploadEvent(ctx, it, it.State)
	}
	from := domain.UploadState(it.State)
	if !from.CanAdvance(to) {
		return domain.Upload{}, domain.Errorf(domain.ECONFLICT, "upload %s cannot go from %s to %s", id, from, to)
	}
	now := s.now()
	detail := "list " + string(to)
	u := update{
		pk: it.PK, sk: skUpload,
		expr:  "SET #state = :to, ver = ver + :one, updated_at = :now, cause = :cause, detail = :detail",
		cond:  "ver = :ver AND #state = :from",
		names: map[string]string{"#state": "state"},
		values: map[string]types.AttributeValue{":to": str(string(to)), ":one": num(1), ":now": str(now.Format(time.RFC3339Nano)),
			":cause": str(string(cause)), ":ver": num(it.Ver), ":from": str(it.State)},
	}
	if counts != nil {
		u.expr += ", #rows = :rows, valid = :valid, invalid = :invalid, duplicates = :dups"
		u.names["#rows"] = "rows"
		u.values[":rows"], u.values[":valid"] = num(int64(counts.Rows)), num(int64(counts.Valid))
		u.values[":invalid"], u.values[":dups"] = num(int64(counts.Invalid)), num(int64(counts.Duplicates))
	}
	if reportKey != "" {
		u.expr += ", report_key = :report"
		u.values[":report"] = str(reportKey)
	}
	var ttl int64
	switch to {
	case domain.UploadQueued:
		// Offer the upload's pending subjects to dispatch.
		u.expr += ", gsi1pk = :open, gsi1sk = :created"
		u.values[":open"], u.values[":created"] = str(openPK(tenant, it.Office)), str(created(it.CreatedAt, id))
		if counts != nil {
			detail = fmt.Sprintf("%d people queued", counts.Valid)
		}
	case domain.UploadRejected:
		detail = "list rejected: " + reason.String()
		u.expr += ", reason = :reason, reason_code = :code"
		u.values[":reason"], u.values[":code"] = str(reason.Detail), str(string(reason.Code))
	}
	if to.Terminal() {
		ttl = s.expiry(now)
		u.expr += ", #ttl = :ttl REMOVE gsi1pk, gsi1sk"
		u.names["#ttl"] = AttrTTL
		u.values[":ttl"] = num(ttl)
	}
	u.values[":detail"] = str(detail)
	var out uploadItem
	ok, err := s.update(ctx, u, &out)
	if err != nil {
		return domain.Upload{}, err
	}
	if !ok {
		// Lost a race: fine if the winner made the same change.
		if cur, err := s.getUpload(ctx, tenant, id); err == nil && cur.State == string(to) {
			return cur.domain(), nil
		}
		return domain.Upload{}, domain.Errorf(domain.ECONFLICT, "upload %s changed meanwhile; read it again", id)
	}
	if err := s.fileUploadEvent(ctx, out, out.State); err != nil {
		return domain.Upload{}, err
	}
	if ttl > 0 {
		if err := s.expireEvents(ctx, tenant, id, ttl); err != nil {
			return domain.Upload{}, err
		}
	}
	return out.domain(), nil
}

// GetSubject returns one subject by id.
func (s *Dynamo) GetSubject(ctx context.Context, tenant, id string) (domain.Subject, error) {
	it, err := s.getSubject(ctx, tenant, id)
	if err != nil {
		return domain.Subject{}, err
	}
	return it.domain()
}

func (s *Dynamo) getSubject(ctx context.Context, tenant, id string) (subjectItem, error) {
	var it subjectItem
	if err := checkCode("tenant", tenant); err != nil {
		return it, err
	}
	upload, row, err := domain.ParseSubjectID(id)
	if err != nil {
		return it, domain.Errorf(domain.ENOTFOUND, "subject %q not found", id)
	}
	return getExisting[subjectItem](ctx, s, uploadPK(tenant, upload), subjectSK(row), "subject %s not found", id)
}

// SubjectsOfUpload returns the subjects of an upload by row.
func (s *Dynamo) SubjectsOfUpload(ctx context.Context, tenant, upload string) ([]domain.Subject, error) {
	if _, err := s.getUpload(ctx, tenant, upload); err != nil {
		return nil, err
	}
	return s.subjects(ctx, tenant, upload, false, 0)
}

// subjects queries an upload's partition: all subjects, or only pending ones.
func (s *Dynamo) subjects(ctx context.Context, tenant, upload string, pending bool, limit int) ([]domain.Subject, error) {
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(uploadPK(tenant, upload)), ":p": str("P#")},
		ConsistentRead:            aws.Bool(true),
	}
	if pending {
		in.FilterExpression = aws.String("#state = :pending")
		in.ExpressionAttributeNames = map[string]string{"#state": "state"}
		in.ExpressionAttributeValues[":pending"] = str(string(domain.PersonPending))
	}
	var out []domain.Subject
	err := queryItems(ctx, s, in, 0, "subjects", func(it subjectItem) (bool, error) {
		if limit > 0 && len(out) >= limit {
			return false, nil
		}
		sub, err := it.domain()
		if err != nil {
			return false, err
		}
		out = append(out, sub)
		return limit <= 0 || len(out) < limit, nil
	})
	return out, err
}

// PendingSubjects returns up to limit pending subjects of an office, oldest upload first.
func (s *Dynamo) PendingSubjects(ctx context.Context, tenant, office string, limit int) ([]domain.Subject, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	if err := checkCode("office", office); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, domain.Errorf(domain.EINVALID, "pending subjects: limit must be positive")
	}
	var open []uploadItem
	err := queryItems(ctx, s, &dynamodb.QueryInput{
		IndexName:                 aws.String(IndexGSI1),
		KeyConditionExpression:    aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(openPK(tenant, office))},
	}, 0, "uploads", upTo(&open, 0, nil, func(it uploadItem) uploadItem { return it }))
	if err != nil {
		return nil, err
	}
	var out []domain.Subject
	for _, u := range open {
		got, err := s.subjects(ctx, tenant, u.ID, true, limit-len(out))
		if err != nil {
			return nil, err
		}
		if len(got) == 0 {
			// Nothing left to send: take the upload off the index. Subjects
			// become pending again only through AdvanceSubject, which reopens it.
			_, err := s.update(ctx, update{pk: u.PK, sk: skUpload, expr: "REMOVE gsi1pk, gsi1sk",
				cond: "gsi1pk = :open", values: map[string]types.AttributeValue{":open": str(openPK(tenant, office))}}, nil)
			if err != nil {
				return nil, err
			}
			// A subject put back to pending between the query and the removal
			// re-set the index before we removed it: look once more (consistent
			// read) and put the upload back if so.
			if got, err = s.subjects(ctx, tenant, u.ID, true, limit-len(out)); err != nil {
				return nil, err
			}
			if len(got) > 0 {
				if _, err := s.update(ctx, update{pk: u.PK, sk: skUpload, expr: "SET gsi1pk = :open, gsi1sk = :created",
					cond: "#state = :queued", names: map[string]string{"#state": "state"},
					values: map[string]types.AttributeValue{":open": str(openPK(tenant, office)), ":created": str(u.GSI1SK),
						":queued": str(string(domain.UploadQueued))}}, nil); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, got...)
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}

// AdvanceSubject changes the state of one subject (see domain.UploadStore).
func (s *Dynamo) AdvanceSubject(ctx context.Context, c domain.SubjectChange) (domain.Subject, error) {
	if err := checkCause(c.Cause); err != nil {
		return domain.Subject{}, err
	}
	switch {
	case c.To == domain.PersonBatched && !domain.ValidID(c.Batch):
		return domain.Subject{}, domain.Errorf(domain.EINVALID, "subject %s: a batch id is required to batch it", c.ID)
	case c.To == domain.PersonCertified && (c.Certificate == nil || c.Certificate.Key == "" || !sha256RE.MatchString(c.Certificate.SHA256)):
		return domain.Subject{}, domain.Errorf(domain.EINVALID, "subject %s: a certificate with key and SHA-256 is required", c.ID)
	case c.To == domain.PersonFailed && !c.Reason.Code.Known():
		return domain.Subject{}, domain.Errorf(domain.EINVALID, "subject %s: a reason is required to fail it", c.ID)
	}
	it, err := s.getSubject(ctx, c.Tenant, c.ID)
	if err != nil {
		return domain.Subject{}, err
	}
	if c.Batch != "" && c.To != domain.PersonBatched && it.Batch != c.Batch && it.State != string(c.To) {
		return domain.Subject{}, domain.Errorf(domain.ECONFLICT, "subject %s is not in batch %s", c.ID, c.Batch)
	}
	if it.State == string(c.To) && (c.To != domain.PersonBatched || it.Batch == c.Batch) {
		return s.subjectDone(ctx, it)
	}
	from := domain.PersonState(it.State)
	if !from.CanAdvance(c.To) {
		return domain.Subject{}, domain.Errorf(domain.ECONFLICT, "subject %s cannot go from %s to %s", c.ID, from, c.To)
	}
	now := s.now()
	u := update{
		pk: it.PK, sk: it.SK,
		expr:  "SET #state = :to, ver = ver + :one, updated_at = :now, cause = :cause",
		cond:  "ver = :ver AND #state = :from",
		names: map[string]string{"#state": "state"},
		values: map[string]types.AttributeValue{":to": str(string(c.To)), ":one": num(1), ":now": str(now.Format(time.RFC3339Nano)),
			":cause": str(string(c.Cause)), ":ver": num(it.Ver), ":from": str(it.State)},
	}
	switch c.To {
	case domain.PersonBatched:
		u.expr += ", #batch = :batch"
		u.names["#batch"] = "batch"
		u.values[":batch"] = str(c.Batch)
	case domain.PersonPending:
		// Back to pending: its request failed in transport; one more attempt.
		u.expr += ", attempts = if_not_exists(attempts, :zero) + :one REMOVE #batch"
		u.names["#batch"] = "batch"
		u.values[":zero"] = num(0)
	case domain.PersonCertified:
		cert, _ := json.Marshal(c.Certificate)
		u.expr += ", certificate = :cert"
		u.values[":cert"] = str(string(cert))
	case domain.PersonFailed:
		u.expr += ", reason = :reason, reason_code = :code"
		u.values[":reason"], u.values[":code"] = str(c.Reason.Detail), str(string(c.Reason.Code))
	}
	if c.To.Terminal() {
		u.expr = "SET #ttl = :ttl, " + u.expr[len("SET "):]
		u.names["#ttl"] = AttrTTL
		u.values[":ttl"] = num(s.expiry(now))
	}
	var out subjectItem
	ok, err := s.update(ctx, u, &out)
	if err != nil {
		return domain.Subject{}, err
	}
	if !ok {
		if cur, err := s.getSubject(ctx, c.Tenant, c.ID); err == nil && cur.State == string(c.To) && (c.To != domain.PersonBatched || cur.Batch == c.Batch) {
			return cur.domain()
		}
		return domain.Subject{}, domain.Errorf(domain.ECONFLICT, "subject %s changed meanwhile; read it again", c.ID)
	}
	if c.To == domain.PersonPending {
		// Offer the upload to dispatch again.
		if u, err := s.getUpload(ctx, c.Tenant, it.Upload); err == nil && u.State == string(domain.UploadQueued) {
			_, err = s.update(ctx, update{pk: u.PK, sk: skUpload, expr: "SET gsi1pk = :open, gsi1sk = :created",
				cond: "#state = :queued", names: map[string]string{"#state": "state"},
				values: map[string]types.AttributeValue{":open": str(openPK(c.Tenant, u.Office)), ":created": str(created(u.CreatedAt, u.ID)),
					":queued": str(string(domain.UploadQueued))}}, nil)
			if err != nil {
				return domain.Subject{}, err
			}
		} else if err != nil {
			return domain.Subject{}, err
		}
	}
	return s.subjectDone(ctx, out)
}

// subjectDone files the event of a subject's last change (certified, failed,
// back to pending; batching is recorded on the batch) and returns it.
func (s *Dynamo) subjectDone(ctx context.Context, it subjectItem) (domain.Subject, error) {
	sub, err := it.domain()
	if err != nil || it.State == string(domain.PersonBatched) || it.Cause == "" {
		return sub, err
	}
	detail := fmt.Sprintf("row %d %s", it.Row, it.State)
	switch {
	case sub.Certificate != nil && it.State == string(domain.PersonCertified):
		detail += ": " + string(sub.Certificate.Outcome)
	case it.Reason != "" || it.Code != "":
		detail += ": " + sub.Reason.String()
	}
	return sub, s.fileEvent(ctx, domain.Event{Tenant: it.Tenant, Subject: it.Upload, About: sub.ID, At: it.UpdatedAt,
		State: it.State, Detail: detail, Cause: domain.Cause(it.Cause)}, it.TTL)
}

func manualPK(tenant string, year int) string { return fmt.Sprintf("%sMP#%04d", tk(tenant), year) }

// ClaimManualProtocol reserves a hand-given number for one upload.
func (s *Dynamo) ClaimManualProtocol(ctx context.Context, tenant string, p domain.Protocol, upload string) error {
	if err := checkCode("tenant", tenant); err != nil {
		return err
	}
	if err := checkID("upload", upload); err != nil {
		return err
	}
	if !domain.ValidProtocolNumber(p.Number) || p.Date.IsZero() {
		return domain.Errorf(domain.EINVALID, "manual protocol %q: want 7 or more digits and a date", p.Number)
	}
	n, _ := strconv.ParseInt(p.Number, 10, 64)
	ok, err := s.putNew(ctx, manualItem{PK: manualPK(tenant, p.Date.Year), SK: entrySK(n), Type: "manual-protocol", Upload: upload,
		Date: p.Date.String(), At: s.now()})
	if err != nil || ok {
		return err
	}
	var cur manualItem
	if _, err := s.getItem(ctx, manualPK(tenant, p.Date.Year), entrySK(n), &cur); err != nil {
		return err
	}
	if cur.Upload == upload {
		return nil
	}
	// A claim whose upload was never recorded (its submission failed after
	// the claim) is taken over.
	if _, err := s.getUpload(ctx, tenant, cur.Upload); domain.ErrorCode(err) == domain.ENOTFOUND {
		ok, err := s.update(ctx, update{pk: manualPK(tenant, p.Date.Year), sk: entrySK(n), expr: "SET upload = :u, #at = :at",
			cond: "upload = :old", names: map[string]string{"#at": "at"},
			values: map[string]types.AttributeValue{":u": str(upload), ":old": str(cur.Upload), ":at": str(s.now().Format(time.RFC3339Nano))}}, nil)
		if err != nil || ok {
			return err
		}
	} else if err != nil {
		return err
	}
	return domain.Errorf(domain.ECONFLICT, "protocol number %s of %d is upload %s's already", p.Number, p.Date.Year, cur.Upload)
}

type manualItem struct {
	PK     string    `dynamodbav:"pk"`
	SK     string    `dynamodbav:"sk"`
	Type   string    `dynamodbav:"type"`
	Upload string    `dynamodbav:"upload"`
	Date   string    `dynamodbav:"date"`
	At     time.Time `dynamodbav:"at"`
}

package store

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/casellario-pec/casellario/shared/domain"
)

func checkLease(tenant, name, owner string, ttl time.Duration) error {
	if err := checkCode("tenant", tenant); err != nil {
		return err
	}
	if name == "" || owner == "" || ttl <= 0 {
		return domain.Errorf(domain.EINVALID, "lease: a name, an owner and a positive duration are required")
	}
	return nil
}

// AcquireLease takes a lease if free, expired or already the owner's.
func (s *Dynamo) AcquireLease(ctx context.Context, tenant, name, owner string, ttl time.Duration) (domain.Lease, error) {
	if err := checkLease(tenant, name, owner, ttl); err != nil {
		return domain.Lease{}, err
	}
	now := s.now()
	exp := now.Add(ttl)
	var out leaseItem
	ok, err := s.update(ctx, update{pk: leasePK(tenant, name), sk: skLease,
		expr:  "SET #owner = :owner, expires = :exp, #type = :type, #ttl = :ttl ADD #token :one",
		cond:  "attribute_not_exists(pk) OR expires < :now OR #owner = :owner",
		names: map[string]string{"#owner": "owner", "#type": "type", "#ttl": AttrTTL, "#token": "token"},
		values: map[string]types.AttributeValue{":owner": str(owner), ":exp": num(exp.UnixMilli()), ":now": num(now.UnixMilli()),
			":one": num(1), ":type": str("lease"), ":ttl": num(exp.Add(24 * time.Hour).Unix())},
	}, &out)
	if err != nil {
		return domain.Lease{}, err
	}
	if !ok {
		return domain.Lease{}, domain.Errorf(domain.ECONFLICT, "lease %s is held by someone else", name)
	}
	return domain.Lease{Tenant: tenant, Name: name, Owner: owner, Expires: time.UnixMilli(out.Expires).UTC(), Token: out.Token}, nil
}

// RenewLease extends a lease still held with the same token.
func (s *Dynamo) RenewLease(ctx context.Context, l domain.Lease, ttl time.Duration) (domain.Lease, error) {
	if err := checkLease(l.Tenant, l.Name, l.Owner, ttl); err != nil {
		return domain.Lease{}, err
	}
	exp := s.now().Add(ttl)
	ok, err := s.update(ctx, update{pk: leasePK(l.Tenant, l.Name), sk: skLease,
		expr:  "SET expires = :exp, #ttl = :ttl",
		cond:  "#owner = :owner AND #token = :token",
		names: map[string]string{"#owner": "owner", "#token": "token", "#ttl": AttrTTL},
		values: map[string]types.AttributeValue{":owner": str(l.Owner), ":token": num(l.Token), ":exp": num(exp.UnixMilli()),
			":ttl": num(exp.Add(24 * time.Hour).Unix())},
	}, nil)
	if err != nil {
		return domain.Lease{}, err
	}
	if !ok {
		return domain.Lease{}, domain.Errorf(domain.ECONFLICT, "lease %s was lost: taken by someone else or released", l.Name)
	}
	l.Expires = time.UnixMilli(exp.UnixMilli()).UTC()
	return l, nil
}

// ReleaseLease frees a lease held by l.Owner with l.Token.
func (s *Dynamo) ReleaseLease(ctx context.Context, l domain.Lease) error {
	if err := checkCode("tenant", l.Tenant); err != nil {
		return err
	}
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: key(leasePK(l.Tenant, l.Name), skLease),
		ConditionExpression:       aws.String("#owner = :owner AND #token = :token"),
		ExpressionAttributeNames:  map[string]string{"#owner": "owner", "#token": "token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": str(l.Owner), ":token": num(l.Token)}})
	if conditionFailed(err) {
		return nil // not ours any more: nothing to release
	}
	return internal(err, "releasing lease %s", l.Name)
}

// Cursor returns the stored cursor of a mailbox.
func (s *Dynamo) Cursor(ctx context.Context, tenant, mailbox string) (domain.MailboxCursor, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return domain.MailboxCursor{}, err
	}
	var it cursorItem
	if _, err := s.getItem(ctx, cursorPK(tenant, mailbox), skCursor, &it); err != nil {
		return domain.MailboxCursor{}, err
	}
	return domain.MailboxCursor{Tenant: tenant, Mailbox: strings.ToLower(mailbox), UIDValidity: it.UIDValidity,
		LastUID: it.LastUID, UpdatedAt: it.UpdatedAt, Version: it.Ver}, nil
}

// SaveCursor stores c if nobody saved since c was read; within one
// UIDVALIDITY the last UID never goes back.
func (s *Dynamo) SaveCursor(ctx context.Context, c domain.MailboxCursor) (domain.MailboxCursor, error) {
	if err := checkCode("tenant", c.Tenant); err != nil {
		return c, err
	}
	if c.Mailbox == "" || c.UIDValidity == 0 {
		return c, domain.Errorf(domain.EINVALID, "mailbox cursor: a mailbox and a UIDVALIDITY are required")
	}
	now := s.now()
	pk := cursorPK(c.Tenant, c.Mailbox)
	var ok bool
	var err error
	if c.Version == 0 {
		ok, err = s.putNew(ctx, cursorItem{PK: pk, SK: skCursor, Type: "cursor", Tenant: c.Tenant, Mailbox: strings.ToLower(c.Mailbox),
			UIDValidity: c.UIDValidity, LastUID: c.LastUID, UpdatedAt: now, Ver: 1})
	} else {
		ok, err = s.update(ctx, update{pk: pk, sk: skCursor,
			expr: "SET uidvalidity = :uv, last_uid = :uid, updated_at = :now, ver = ver + :one",
			cond: "ver = :ver AND (uidvalidity <> :uv OR last_uid <= :uid)",
			values: map[string]types.AttributeValue{":uv": num(int64(c.UIDValidity)), ":uid": num(int64(c.LastUID)),
				":now": str(now.Format(time.RFC3339Nano)), ":one": num(1), ":ver": num(c.Version)}}, nil)
	}
	if err != nil {
		return c, err
	}
	if !ok {
		return c, domain.Errorf(domain.ECONFLICT, "cursor of mailbox %s changed meanwhile, or would go back", c.Mailbox)
	}
	c.Mailbox, c.UpdatedAt, c.Version = strings.ToLower(c.Mailbox), now, c.Version+1
	return c, nil
}

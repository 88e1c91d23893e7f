package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/casellario-pec/casellario/shared/domain"
)

const skAttempt = "#ATTEMPT"

// attemptRetention keeps the count of a message's attempts long enough to
// outlive any retry, and no longer.
const attemptRetention = 30 * 24 * time.Hour

// attemptPK keys a mailbox message by a digest of the mailbox address (it
// comes from configuration, but keys stay short and free of '#').
func attemptPK(k domain.AttemptKey) string {
	sum := sha256.Sum256([]byte(strings.ToLower(k.Mailbox)))
	return fmt.Sprintf("%sA#%s#%d#%d", tk(k.Tenant), hex.EncodeToString(sum[:8]), k.UIDValidity, k.UID)
}

type attemptItem struct {
	Count       int    `dynamodbav:"count"`
	LastFailure string `dynamodbav:"last_failure,omitempty"`
}

func checkAttempt(k domain.AttemptKey) error {
	if err := checkCode("tenant", k.Tenant); err != nil {
		return err
	}
	if k.Mailbox == "" || k.UIDValidity == 0 || k.UID == 0 {
		return domain.Errorf(domain.EINVALID, "message attempt: a mailbox, a UIDVALIDITY and a UID are required")
	}
	return nil
}

// BeginAttempt counts one more attempt at a mailbox message.
func (s *Dynamo) BeginAttempt(ctx context.Context, k domain.AttemptKey) (domain.MessageAttempts, error) {
	if err := checkAttempt(k); err != nil {
		return domain.MessageAttempts{}, err
	}
	now := s.now()
	var out attemptItem
	_, err := s.update(ctx, update{pk: attemptPK(k), sk: skAttempt,
		expr:   "SET #type = :type, updated_at = :now, #ttl = :ttl ADD #count :one",
		names:  map[string]string{"#type": "type", "#ttl": AttrTTL, "#count": "count"},
		values: map[string]types.AttributeValue{":type": str("attempt"), ":now": str(now.Format(time.RFC3339Nano)), ":ttl": num(now.Add(attemptRetention).Unix()), ":one": num(1)},
	}, &out)
	if err != nil {
		return domain.MessageAttempts{}, err
	}
	return domain.MessageAttempts{Count: out.Count, LastFailure: out.LastFailure}, nil
}

// FailAttempt records why the last attempt at a mailbox message failed.
func (s *Dynamo) FailAttempt(ctx context.Context, k domain.AttemptKey, failure string) error {
	if err := checkAttempt(k); err != nil {
		return err
	}
	if len(failure) > 1000 {
		failure = strings.ToValidUTF8(failure[:1000], "")
	}
	_, err := s.update(ctx, update{pk: attemptPK(k), sk: skAttempt, expr: "SET last_failure = :f",
		values: map[string]types.AttributeValue{":f": str(failure)}}, nil)
	return err
}

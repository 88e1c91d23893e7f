package domain

import (
	"context"
	"regexp"
	"strconv"
	"strings"
)

var referenceRE = regexp.MustCompile(`^\s*(?:([A-Za-z0-9_.]+)\s*[-/]\s*)?0*([0-9]{1,12})\s*$`)

// Register is where a tenant's numbers come from, for finding a request by
// its protocol number: its AOO and, when it has a built-in register, its code.
type Register struct {
	Tenant, AOO string
	Builtin     string // the built-in register's code; "" when the tenant has none
}

// RequestByReference finds the request registered as reference on date, as
// a person types it: "CPEC-0000012" (the built-in register's, with its
// code) or "12" (the general register's). Its errors are for office users.
func RequestByReference(ctx context.Context, st BatchStore, reg Register, reference string, date Date) (Batch, error) {
	sm := referenceRE.FindStringSubmatch(reference)
	if sm == nil || date.IsZero() {
		ex := "0000012"
		if reg.Builtin != "" {
			ex = reg.Builtin + "-" + ex
		}
		return Batch{}, Userf(EINVALID, "Indicare il numero di protocollo della richiesta (ad esempio %s) e la sua data.", ex)
	}
	n, _ := strconv.ParseInt(sm[2], 10, 64)
	code, number := sm[1], FormatProtocolNumber(n)
	if code != "" {
		if reg.Builtin == "" || !strings.EqualFold(code, reg.Builtin) {
			return Batch{}, Userf(EINVALID, "Il registro %q non è quello delle richieste di questo Comune.", code)
		}
		b, err := st.BatchByProtocol(ctx, reg.Tenant, reg.AOO, reg.Builtin, date.Year, number)
		if err == nil && b.Protocol.Date != date {
			err = Errorf(ENOTFOUND, "registered on another date")
		}
		if ErrorCode(err) == ENOTFOUND {
			return b, Userf(EINVALID, "Nessuna richiesta con protocollo n. %s-%s del %s.", reg.Builtin, number, date.Italian())
		}
		return b, err
	}
	bs, err := st.ListBatches(ctx, reg.Tenant, "", nil, 0)
	if err != nil {
		return Batch{}, err
	}
	for _, b := range bs {
		if b.Protocol.Register == "" && b.Protocol.Number == number && b.Protocol.Date == date {
			return b, nil
		}
	}
	return Batch{}, Userf(EINVALID, "Nessuna richiesta con protocollo n. %s del %s.", number, date.Italian())
}

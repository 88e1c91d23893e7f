package store

import (
	"context"
	"strconv"

	"github.com/casellario-pec/casellario/shared/domain"
)

// BatchByProtocol returns the batch registered with number in the built-in
// register of tenant, AOO, registry and year (the register entry written by
// RegisterProtocol). Annulled numbers and unknown ones are ENOTFOUND; so are
// numbers of external registers, which the built-in register never saw.
func (s *Dynamo) BatchByProtocol(ctx context.Context, tenant, aoo, registry string, year int, number string) (domain.Batch, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return domain.Batch{}, err
	}
	n, err := strconv.ParseInt(number, 10, 64)
	if err != nil || n <= 0 {
		return domain.Batch{}, domain.Errorf(domain.EINVALID, "protocol number %q: want digits", number)
	}
	var e entryItem
	found, err := s.getItem(ctx, registerPK(tenant, aoo, registry, year), entrySK(n), &e)
	if err != nil {
		return domain.Batch{}, err
	}
	if !found || e.Annulled || e.Batch == "" {
		return domain.Batch{}, domain.Errorf(domain.ENOTFOUND, "no batch registered as %s of %d", domain.FormatProtocolNumber(n), year)
	}
	return s.GetBatch(ctx, tenant, e.Batch)
}

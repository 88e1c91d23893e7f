package memstore_test

import (
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/store/memstore"
	"github.com/casellario-pec/casellario/shared/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		return memstore.New(memstore.Options{Now: now})
	})
}

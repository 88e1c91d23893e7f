package api

import (
	"github.com/casellario-pec/casellario/shared/domain"
)

// triageView is a triage item as the API shows it: the reason in Italian for
// the protocol office, its code, and the recorded detail for the help desk.
type triageView struct {
	domain.TriageItem
	Reason string            `json:"reason"`
	Code   domain.ReasonCode `json:"reason_code"`
	Detail string            `json:"reason_detail"`
}

func viewTriage(it domain.TriageItem) triageView {
	return triageView{TriageItem: it, Reason: it.Reason.Italian(), Code: it.Reason.Code, Detail: it.Reason.Detail}
}

package trace

import "github.com/casellario-pec/casellario/shared/domain"

// The words a clerk reads for states and outcomes: the page, the e-mails
// and the CLI's clerk-facing output use these and no others.

var uploadStates = map[domain.UploadState]string{
	domain.UploadReceived:  "in verifica",
	domain.UploadQueued:    "in attesa di invio",
	domain.UploadRejected:  "scartato",
	domain.UploadCompleted: "completato",
}

var batchStates = map[domain.BatchState]string{
	domain.BatchQueued:      "in preparazione",
	domain.BatchProtocolled: "protocollata",
	domain.BatchSent:        "inviata",
	domain.BatchAccepted:    "accettata dal gestore",
	domain.BatchDelivered:   "consegnata alla Procura",
	domain.BatchReplied:     "risposta ricevuta",
	domain.BatchCompleted:   "completata",
	domain.BatchFailed:      "non riuscita",
}

var personStates = map[domain.PersonState]string{
	domain.PersonPending:   "in attesa di invio",
	domain.PersonBatched:   "richiesto alla Procura",
	domain.PersonCertified: "certificato arrivato",
	domain.PersonFailed:    "non riuscito",
}

// UploadStateText names an upload's state for a clerk.
func UploadStateText(s domain.UploadState) string { return word(uploadStates[s], string(s)) }

// BatchStateText names a request's state for a clerk.
func BatchStateText(s domain.BatchState) string { return word(batchStates[s], string(s)) }

// PersonStateText names a person's state for a clerk.
func PersonStateText(s domain.PersonState) string { return word(personStates[s], string(s)) }

// OutcomeText is a certificate's outcome in the certificate's own words:
// «nulla» is what the Procura writes when nothing is on record.
func OutcomeText(o domain.Outcome) string {
	switch o {
	case domain.OutcomeNullo:
		return "nulla"
	case domain.OutcomePositivo:
		return "con iscrizioni"
	}
	return "da leggere"
}

// OutcomeHelp says what an outcome means, for the clerk who reads it.
func OutcomeHelp(o domain.Outcome) string {
	switch o {
	case domain.OutcomeNullo:
		return "Il certificato riporta «NULLA»: nel casellario non risulta alcuna iscrizione."
	case domain.OutcomePositivo:
		return "Il certificato riporta iscrizioni nel casellario: va letto per valutarne il contenuto."
	}
	return "Il testo del certificato non è stato riconosciuto automaticamente: va aperto e letto."
}

func word(w, fallback string) string {
	if w == "" {
		return fallback
	}
	return w
}
